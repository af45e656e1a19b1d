"""Zendesk ticket events (the incremental ticket-event export's `Audit` records), rendered by `_View`.

A mixin so the view stays one object: the methods read the view's users, comments and agents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.book import Ticket
from integrations.sandbox.zendesk.state import (
    AUDIT_OFFSET,
    EVENT_BASE,
    _iso,
    _ts,
    comment_id,
    group_id,
    ticket_id,
)


class _TicketEvents:
    """Ticket events of one view (`_View` provides user_id, comment and agent_of)."""

    # ticket events ------------------------------------------------------------------------------------
    def event_plan(self, t: Ticket) -> list[tuple[tuple[int, int], str, int]]:
        """One ticket's updates as ((timestamp, event id), kind, comment index): one per comment (the first
        also creates the ticket), a creation without a comment, the solve and the deletion."""
        tid = ticket_id(t.key)
        plan = [
            ((_ts(c.created_at), comment_id(c.key) + AUDIT_OFFSET), "comment", i)
            for i, c in enumerate(t.comments)
        ]
        if not t.comments:
            plan.append(((_ts(t.created_at), EVENT_BASE + 4 * tid), "create", -1))
        if t.solved_at is not None and t.status in ("solved", "closed"):
            plan.append(((_ts(t.solved_at), EVENT_BASE + 4 * tid + 1), "solved", -1))
        if t.deleted_at is not None:
            plan.append(((_ts(t.deleted_at), EVENT_BASE + 4 * tid + 2), "deleted", -1))
        return plan

    def events(self, t: Ticket, with_comments: bool) -> list[dict[str, Any]]:
        """The rendered events of `event_plan(t)`, in the same order."""
        return [self.event(t, key, kind, n, with_comments) for key, kind, n in self.event_plan(t)]

    def event(
        self, t: Ticket, key: tuple[int, int], kind: str, index: int, with_comments: bool
    ) -> dict[str, Any]:
        stamp, eid = key
        requester = self.user_id(t.requester_email, "customer")
        children: list[dict[str, Any]] = []
        via = "Web form"
        if kind == "comment":
            c = t.comments[index]
            updater = self.user_id(c.author_email, c.author_role)
            via = "Mail" if c.author_role == "customer" else "Web form"
            if index == 0:
                children += self.create_children(t, eid, requester)
            if with_comments:
                children.append({**self.comment(t, c), "via_reference_id": None, "event_type": "Comment"})
            else:  # without the sideload Zendesk only flags that the update carried a comment
                children.append(
                    {"id": comment_id(c.key), "comment_present": True, "comment_public": c.public,
                     "event_type": "Comment"}
                )  # fmt: skip
        elif kind == "create":
            updater = requester
            children += self.create_children(t, eid, requester)
        else:  # solved / deleted: a status change by the assignee
            updater = self.user_id(self.agent_of(t)[0], "agent")
            previous = "solved" if kind == "deleted" and t.solved_at is not None else "open"
            children.append(
                {"id": eid * 10, "via": {"channel": "web", "source": {}}, "event_type": "Change",
                 "field_name": "status", "value": kind, "previous_value": previous}
            )  # fmt: skip
        return {
            "id": eid,
            "ticket_id": ticket_id(t.key),
            "timestamp": stamp,
            "created_at": _iso(datetime.fromtimestamp(stamp, UTC)),
            "updater_id": updater,
            "via": via,
            "system": {},
            "metadata": {},
            "merged_ticket_ids": [],
            "event_type": "Audit",
            "child_events": children,
        }

    def create_children(self, t: Ticket, eid: int, requester: int) -> list[dict[str, Any]]:
        values = (
            ("subject", t.subject),
            ("requester_id", str(requester)),
            ("status", "new"),
            ("priority", t.priority),
            ("group_id", str(group_id(t.group))),
        )
        return [
            {"id": eid * 10 + n + 1, "via": {"channel": "email", "source": {}}, "event_type": "Create",
             "field_name": name, "value": value}
            for n, (name, value) in enumerate(values)
        ]  # fmt: skip
