"""Which streams a batch of vendor webhook events names (pure), so a targeted refresh re-syncs those only.

A ticket event needs the tickets (and their comments and survey answers) read again, not the companies:
for five minutes after a pass the companies' overlap window holds every company our write-back touched,
which a full re-sync pages through and skips (issue 17: the HubSpot path's refresh grew with the tenant).
An event we cannot place names every stream, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from integrations.base import Stream

_TICKET = frozenset({Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS})
# HubSpot `subscriptionType` ("ticket.propertyChange"), Zendesk `type` ("zen:event-type:ticket.…"),
# Salesforce outbound message `sobject` ("Case"): the object kind, lower case, to the streams it needs.
_BY_OBJECT: dict[str, frozenset[Stream]] = {
    "ticket": _TICKET,
    "satisfaction": _TICKET,  # Zendesk satisfaction.rated: a survey answer about a ticket
    "case": _TICKET,
    "casecomment": _TICKET,
    "company": frozenset({Stream.ACCOUNTS}),
    "account": frozenset({Stream.ACCOUNTS}),
    "organization": frozenset({Stream.ACCOUNTS}),
    "contact": frozenset({Stream.CONTACTS}),
    "user": frozenset({Stream.CONTACTS}),
    "deal": frozenset({Stream.DEALS}),
    "opportunity": frozenset({Stream.DEALS}),
}


def _object_kind(vendor: str, payload: Mapping[str, Any]) -> str | None:
    if vendor == "hubspot":
        raw = payload.get("subscriptionType")
        return raw.split(".", 1)[0].lower() if isinstance(raw, str) and "." in raw else None
    if vendor == "zendesk":
        raw = payload.get("type")  # zen:event-type:ticket.status_changed
        if isinstance(raw, str) and raw.startswith("zen:event-type:") and "." in raw:
            return raw.removeprefix("zen:event-type:").split(".", 1)[0].lower()
        return None
    if vendor == "salesforce":
        raw = payload.get("sobject")
        return raw.lower() if isinstance(raw, str) else None
    return None


def streams_for(vendor: str, payloads: Iterable[Mapping[str, Any]]) -> frozenset[Stream] | None:
    """The streams these events of one vendor name, or None for every stream (an event we cannot place,
    or none at all)."""
    out: set[Stream] = set()
    seen = False
    for payload in payloads:
        seen = True
        kind = _object_kind(vendor, payload if isinstance(payload, Mapping) else {})
        streams = _BY_OBJECT.get(kind or "")
        if streams is None:
            return None
        out |= streams
    return frozenset(out) if seen else None
