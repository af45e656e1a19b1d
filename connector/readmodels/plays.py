"""Plays on the account page: the plays fired for one account and the state of their tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store import models as m

STATE_WORDS = {
    "queued": "queued for the CRM",
    "open": "open",
    "closing": "closing (recovered)",
    "closed": "closed",
    "failed": "not created",
}


@dataclass(frozen=True, slots=True)
class PlayTaskRow:
    play: str
    subject: str
    state: str  # words people read (STATE_WORDS)
    vendor: str
    vendor_task_id: str | None
    ticket_id: str | None
    fired_at: datetime
    due_at: datetime
    closed_at: datetime | None
    problem: str | None


def account_plays(session: Session, tenant_id: int, account_id: int, limit: int = 20) -> list[PlayTaskRow]:
    """The account's play tasks, newest first."""
    rows = session.execute(
        select(m.PlayTask, m.Play.name)
        .join(m.Play, m.Play.id == m.PlayTask.play_id)
        .where(m.PlayTask.tenant_id == tenant_id, m.PlayTask.account_id == account_id)
        .order_by(m.PlayTask.created_at.desc(), m.PlayTask.id.desc())
        .limit(limit)
    )
    return [
        PlayTaskRow(
            play=name,
            subject=t.subject,
            state=STATE_WORDS.get(t.state, t.state),
            vendor=t.vendor,
            vendor_task_id=t.vendor_task_id,
            ticket_id=t.ticket_id,
            fired_at=t.created_at,
            due_at=t.due_at,
            closed_at=t.closed_at,
            problem=t.last_error if t.state == "failed" else None,
        )
        for t, name in rows
    ]
