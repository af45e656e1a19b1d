"""Plays in the score step: the band changes of a pass → plays.plan → task rows and write-back outbox rows,
in the scoring transaction (so a task is queued exactly when its band change is recorded, never twice).

The outbox rows are `kind="task"` rows of the same write-back outbox the score fields use; their values
name the operation (`create`, `close`, `ticket`) and the play task they belong to. The write-back step
(connector/pipeline/task_writeback.py) sends them with the vendors' batch endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.pipeline import plays
from connector.store import models as m
from connector.store.repo import utcnow

CRM_VENDORS = ("salesforce", "hubspot")
OPEN_STATES = ("queued", "open")  # a task in these states blocks a new one for the same account and play
TASK_KIND = "task"


class PreviousState(Protocol):
    """What a pass reads of an account's previous snapshot (a snapshot row, or just these columns)."""

    @property
    def band(self) -> str: ...

    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored account of the pass: its previous and new snapshot."""

    account: m.Account
    prev: PreviousState | None
    snap: m.ScoreSnapshot


def to_play(row: m.Play) -> plays.Play:
    return plays.Play(
        id=str(row.id),
        to_band=row.to_band,
        from_bands=tuple(str(b) for b in row.from_bands or ()),
        segments=tuple(str(s) for s in row.segments or ()),
        subject=row.subject,
        next_step=row.next_step or "",
        due_days=row.due_days,
        zendesk_ticket=row.zendesk_ticket,
        on_recovery="leave" if row.on_recovery == "leave" else "close",
        cooldown_days=row.cooldown_days,
        enabled=row.enabled,
    )


def newest_tasks(session: Session, tenant_id: int) -> dict[tuple[str, str], m.PlayTask]:
    """The newest task per (account id, play id), as strings (the keys plays.plan uses)."""
    newest = (
        select(func.max(m.PlayTask.id).label("tid"))
        .where(m.PlayTask.tenant_id == tenant_id)
        .group_by(m.PlayTask.account_id, m.PlayTask.play_id)
        .subquery()
    )
    rows = session.scalars(select(m.PlayTask).join(newest, m.PlayTask.id == newest.c.tid))
    return {(str(t.account_id), str(t.play_id)): t for t in rows}


def task_states(tasks: dict[tuple[str, str], m.PlayTask]) -> dict[tuple[str, str], plays.TaskState]:
    return {k: plays.TaskState(open=t.state in OPEN_STATES, created=t.created_at) for k, t in tasks.items()}


def band_change(acc: m.Account, old_band: str | None, snap: m.ScoreSnapshot) -> plays.BandChange:
    return plays.BandChange(
        account_id=str(acc.id),
        account_name=acc.name,
        segment=snap.segment or "",
        old_band=old_band,
        new_band=snap.band,
        as_of=snap.as_of,
        drivers=tuple(str(d.get("text", "")) for d in (snap.drivers or []) if d.get("text")),
    )


def installations(session: Session, tenant_id: int) -> dict[str, m.Installation]:
    """The tenant's connected installations by vendor."""
    return {
        i.vendor: i
        for i in session.scalars(select(m.Installation).where(m.Installation.tenant_id == tenant_id))
        if i.status != "disconnected"
    }


def task_home(acc: m.Account, insts: dict[str, m.Installation]) -> m.Installation | None:
    """The CRM installation that holds the account's task, or None (a Zendesk-only account: no task row,
    the event still names the play). The dry run counts with this same rule."""
    return insts.get(acc.vendor) if acc.vendor in CRM_VENDORS else None


def fire(
    session: Session,
    tenant_id: int,
    scored: Sequence[Scored],
    org_ids: dict[int, list[tuple[str, str]]],
    band_order: Sequence[str],
) -> dict[int, list[int]]:
    """Plan the enabled plays over this pass's band changes and queue their task operations.

    Returns account id → ids of the plays that matched (for the `plays` key of account.band_changed),
    including plays whose task already exists (the event says the play matched; the task is not repeated).
    """
    rows = [
        p
        for p in session.scalars(
            select(m.Play).where(m.Play.tenant_id == tenant_id, m.Play.enabled.is_(True))
        )
    ]
    changes = [
        band_change(s.account, s.prev.band, s.snap)
        for s in scored
        if s.prev is not None and s.prev.band != s.snap.band
    ]
    if not rows or not changes:
        return {}
    tasks = newest_tasks(session, tenant_id)
    plan = plays.plan(changes, [to_play(r) for r in rows], task_states(tasks), band_order)
    accounts = {str(s.account.id): s.account for s in scored}
    queue(session, tenant_id, plan, changes, accounts, tasks, org_ids)
    return {int(a): [int(p) for p in ids] for a, ids in plan.fired.items()}


def queue(
    session: Session,
    tenant_id: int,
    plan: plays.Plan,
    changes: Sequence[plays.BandChange],
    accounts: dict[str, m.Account],
    tasks: dict[tuple[str, str], m.PlayTask],
    org_ids: dict[int, list[tuple[str, str]]],
) -> int:
    """Write a plan: task rows and outbox rows (the score step and a play's backfill share this).
    Returns the number of task rows created."""
    insts = installations(session, tenant_id)
    as_ofs = {c.account_id: c.as_of for c in changes}  # the pass (or the enable) that fired stamps the task
    now, created = utcnow(), 0
    for action in plan.actions:
        acc = accounts[action.account_id]
        if action.kind == "create":
            as_of = as_ofs[action.account_id]
            orgs = org_ids.get(acc.id, [])
            created += _queue_create(session, tenant_id, action, acc, insts, orgs, as_of, now)
        else:
            task = tasks.get((action.account_id, action.play_id))
            if task is not None:
                _queue_close(session, tenant_id, task, insts, now)
    return created


def _outbox(
    session: Session, tenant_id: int, inst: m.Installation, ext: str, op: str, task_id: int, now: datetime
) -> None:
    session.add(
        m.WritebackOutbox(
            tenant_id=tenant_id,
            installation_id=inst.id,
            external_id=ext,
            kind=TASK_KIND,
            values={"op": op, "task": task_id},
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )


def _queue_create(
    session: Session,
    tenant_id: int,
    action: plays.TaskAction,
    acc: m.Account,
    insts: dict[str, m.Installation],
    orgs: list[tuple[str, str]],
    as_of: datetime,
    now: datetime,
) -> int:
    inst = task_home(acc, insts)
    if inst is None or action.due is None:
        return 0  # no CRM to hold the task (a Zendesk-only book): the event still names the play
    task = m.PlayTask(
        tenant_id=tenant_id,
        play_id=int(action.play_id),
        account_id=acc.id,
        vendor=acc.vendor,
        state="queued",
        subject=action.subject[:255],
        body=action.body,
        due_at=action.due,
        created_at=as_of,
    )
    session.add(task)
    session.flush()
    _outbox(session, tenant_id, inst, acc.external_id, "create", task.id, now)
    zendesk = insts.get("zendesk")
    org = next((ext for vendor, ext in orgs if vendor == "zendesk"), None)
    if action.zendesk_ticket and zendesk is not None and org is not None:
        _outbox(session, tenant_id, zendesk, org, "ticket", task.id, now)
    return 1


def _queue_close(
    session: Session, tenant_id: int, task: m.PlayTask, insts: dict[str, m.Installation], now: datetime
) -> None:
    inst = insts.get(task.vendor)
    acc = session.get(m.Account, task.account_id)
    if inst is None or acc is None:
        return
    task.state = "closing"
    _outbox(session, tenant_id, inst, acc.external_id, "close", task.id, now)
