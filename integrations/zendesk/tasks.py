"""Zendesk tickets for plays (pure builders): a task-type ticket on the account's organization for the
support lead, created with `POST /api/v2/tickets/create_many.json` (≤ 100, a job) — Tickets API: `type`
"task" requires `due_at`; the body is the first comment (private: it is an internal follow-up, not a
message to the customer); tags let the product and agents recognise it.

Our own tickets are not support signals: a play ticket for the support lead, read back by the next sync,
would count as a ticket of the customer (open tickets, volume, priority mix) and lower the very score that
created it. Each carries two marks Zendesk keeps on the wire, the tag `healthscore_play` (agents see it)
and `external_id` "healthscore-play:<play task id>" (agents rarely touch it); `is_play_ticket` recognises
either, and the adapter leaves such tickets out of the TICKETS stream, so they are never stored, linked,
counted or read for sentiment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.tasks import TicketCreate

PLAY_TAG = "healthscore_play"
TAGS = ("healthscore", PLAY_TAG)
EXTERNAL_PREFIX = "healthscore-play:"


def is_play_ticket(ticket: Mapping[str, Any]) -> bool:
    """A ticket our plays created (either mark; Zendesk lower-cases tags, so compare lower-case)."""
    tags = ticket.get("tags")
    if isinstance(tags, list) and PLAY_TAG in {str(t).lower() for t in tags}:
        return True
    return str(ticket.get("external_id") or "").startswith(EXTERNAL_PREFIX)


def ticket_payload(ticket: TicketCreate) -> dict[str, Any]:
    return {
        "subject": ticket.subject[:255],
        "comment": {"body": ticket.body or ticket.subject, "public": False},
        "organization_id": int(ticket.organization_external_id),
        "type": "task",
        "priority": "high",
        "due_at": f"{ticket.due.isoformat()}T00:00:00Z",
        "tags": list(TAGS),
        "external_id": EXTERNAL_PREFIX + (ticket.reference or ticket.key),
    }
