"""Webhooks: Standard Webhooks signing (pure), outbound events and delivery, vendor inbound checks, SSRF guard.

Modules: `signing` (sign/verify), `events` (types, payloads, ids), `delivery` (retry schedule, disable rule,
one attempt), `transport` (pinned HTTP send), `ssrf` (URL guard), `inbound` (Zendesk, HubSpot, and
`salesforce_om` re-exported), `errors` (reason-coded errors).
"""
