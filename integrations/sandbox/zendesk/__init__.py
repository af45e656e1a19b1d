"""Zendesk Support sandbox: renders the Book as Zendesk organizations, users, tickets, comments, metric sets
and satisfaction ratings, with Zendesk's OAuth, incremental exports, CBP paging, organization fields and
`organizations/update_many` + `job_statuses` (all under `ctx.lock`, stamped with the sandbox clock).

Wire decisions (each follows developer.zendesk.com unless marked *sandbox*):
- Ids come from `integrations.sandbox.ids` (organizations 360M+, users 380M+, tickets from 1, comments 40M+,
  ratings 90M+). Agents and free-standing requesters get crc32-derived ids (*sandbox*, deterministic).
- Incremental ticket export (cursor-based): `start_time` (epoch s) or `cursor`; items are ordered by
  `(generated_timestamp, id)`; anything changed in the minute before the sandbox clock is excluded; a
  `start_time` later than clock-60 s is refused with 400 `StartTimeTooRecent`. `after_cursor` stays valid after
  `end_of_stream`, so a client may resume from it on the next run. The cursor token is base64 of
  "<generated_timestamp>|<id>|<per_page>|<include>" (*sandbox*: opaque to clients, like Zendesk's).
  Sideloads: `metric_sets`, `users` (requester, assignee, collaborators), `organizations`.
- Incremental ticket event export (time-based, `/incremental/ticket_events.json`): one `Audit` event per
  ticket update, ordered by `(timestamp, id)`: one per comment (the first also carries the ticket's `Create`
  child events; event id = the comment's `audit_id`), a creation without comments, the solve and the deletion
  (`Change` of `status`; *sandbox*: Zendesk also logs field changes we do not model). With
  `include=comment_events` a comment child carries the comment (`id`, `body`, `html_body`, `plain_body`,
  `public`, `author_id`, `created_at`, `attachments`); without it only `comment_present`/`comment_public`
  (*sandbox* placement: on the Comment child). Up to 1,000 a page (`per_page` honoured), `end_time` = the
  last event's timestamp, `next_page` starts AT `end_time`, so edge events repeat (as Zendesk's do);
  `end_of_stream` when the rest fits the page; the last minute is excluded and refused as for tickets.
- Users list (`/users.json`, CBP): the users the tickets mention; `role`/`role[]` filters (`agent`, `admin`
  — *sandbox*: every agent is a plain agent —, `end-user`).
- Rendering is cached per app (`_Cache`): indices and per-ticket renderings are kept while the book is
  unchanged and re-checked on every request, so ticks, restores and in-place edits show at once.
- Incremental organization export is time-based (`start_time` → `end_time`/`next_page`), ordered by
  `(updated_at, id)`; like Zendesk it can repeat items at page edges.
- Satisfaction ratings: `start_time`/`end_time` filter on the rating's `updated_at` (*sandbox* choice: the
  reference only says "time of the oldest rating"), CBP `page[size]` ≤ 100, ordered by `(updated_at, id)`.
- update_many: ≤ 100 organizations; the job is applied at once but reported `queued`, then `working` until the
  `extra["job_polls_to_complete"]`-th poll (default 1), then `completed` with per-item results.
- Outbound webhooks use Zendesk's event envelope (`type`, `detail`, `subject`, `zendesk_event_version`).
  `zen:event-type:ticket.created` is a real Zendesk event; `ticket.updated` and `satisfaction.rated` are *sandbox*
  stand-ins for what a trigger-fired webhook would send (real accounts send granular `ticket.*` events).
  Signature: base64(HMAC-SHA256(secret, timestamp + body)) in X-Zendesk-Webhook-Signature(-Timestamp).

Modules (the names other code uses are re-exported here, so `integrations.sandbox.zendesk.<name>` keeps
working): `state` (constants, ids, `make_state`), `view` (the Book as Zendesk JSON), `cache` (per-app
rendering cache), `responses` (pre-serialised pages, error bodies, faults, arguments), `routes`
(`create_app`), `oauth`, `exports` (incremental exports), `reads` (CBP lists), `writes` (organization
fields, update_many, job statuses), `outbound` (truth, written fields, webhooks) and `signing` (Zendesk's
webhook signature, written from its "Verifying webhook authenticity" page).
"""

from __future__ import annotations

from integrations.sandbox.context import SandboxContext, VendorState
from integrations.sandbox.zendesk.outbound import outbound_webhooks, truth, written_fields
from integrations.sandbox.zendesk.routes import create_app
from integrations.sandbox.zendesk.state import (
    API,
    VENDOR,
    comment_id,
    group_id,
    make_state,
    org_id,
    rating_id,
    ticket_id,
)

__all__ = [
    "API",
    "VENDOR",
    "SandboxContext",
    "VendorState",
    "comment_id",
    "create_app",
    "group_id",
    "make_state",
    "org_id",
    "outbound_webhooks",
    "rating_id",
    "ticket_id",
    "truth",
    "written_fields",
]
