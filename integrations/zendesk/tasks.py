"""Zendesk tickets for plays (pure builders): a task-type ticket on the account's organization for the
support lead, created with `POST /api/v2/tickets/create_many.json` (≤ 100, a job) — Tickets API: `type`
"task" requires `due_at`; the body is the first comment (private: it is an internal follow-up, not a
message to the customer); tags let the product and agents recognise it.
"""

from __future__ import annotations

from typing import Any

from integrations.tasks import TicketCreate

TAGS = ("healthscore", "healthscore_play")


def ticket_payload(ticket: TicketCreate) -> dict[str, Any]:
    return {
        "subject": ticket.subject[:255],
        "comment": {"body": ticket.body or ticket.subject, "public": False},
        "organization_id": int(ticket.organization_external_id),
        "type": "task",
        "priority": "high",
        "due_at": f"{ticket.due.isoformat()}T00:00:00Z",
        "tags": list(TAGS),
    }
