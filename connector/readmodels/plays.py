"""Plays read for pages and the API: the plays fired for one account and the state of their tasks, and the
task counts per play."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
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
    id: int
    play_id: int
    code: str  # the task's state as stored (queued|open|closing|closed|failed)
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
            id=t.id,
            play_id=t.play_id,
            code=t.state,
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


def task_counts(session: Session, tenant_id: int) -> dict[int, dict[str, int]]:
    """Play id → {task state: count}."""
    out: dict[int, dict[str, int]] = {}
    for play_id, state, n in session.execute(
        select(m.PlayTask.play_id, m.PlayTask.state, func.count())
        .where(m.PlayTask.tenant_id == tenant_id)
        .group_by(m.PlayTask.play_id, m.PlayTask.state)
    ):
        out.setdefault(play_id, {})[state] = int(n)
    return out


def has_account(session: Session, tenant_id: int, account_id: int) -> bool:
    acc = session.get(m.Account, account_id)
    return acc is not None and acc.tenant_id == tenant_id
