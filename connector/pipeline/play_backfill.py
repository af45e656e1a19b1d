"""Turning a play on: tasks for the accounts ALREADY in its band (the backfill), and the dry run that
counts exactly those tasks ("would create 37 tasks" is what turning it on creates).

A play otherwise fires on band changes after it is on (play_queue.fire); without a backfill an admin who
enables "Enters red" on Monday would see nothing for the accounts that went red on Friday. The rule
(docs/plays.md): an account gets a task when its newest score is in the play's band, it ENTERED that band
within the last LOOKBACK_DAYS days (the band before is known and is one the play names, if it names any),
its segment is one the play names, it is a current customer with a CRM installation to hold the task, and
plays.plan allows it (no open task of this play, none within the cooldown). Accounts that have sat in the
band for longer are left out on purpose: their owners have had weeks to act, and a play turned on should
not flood the CRM with stale tasks. An account whose last change in the window was a recovery has its open
task of this play closed under `on_recovery: close`, as the live plan would have.

`backfill(write=False)` is the dry run; `backfill(write=True)` queues the same plan through play_queue.queue
in the caller's transaction. Tasks are stamped with the tenant's "now" (connector/clock.py), due N days
after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.pipeline import play_queue, plays
from connector.readmodels.customers import former_customer_ids
from connector.store import models as m

LOOKBACK_DAYS = 30
SAMPLE = 20  # account names a dry run shows


@dataclass(frozen=True, slots=True)
class Backfill:
    """What turning a play on does now (or did, when written)."""

    play_id: int
    creates: int
    closes: int
    accounts: list[tuple[int, str]]  # (id, name) of the accounts that get a task, first SAMPLE
    no_crm: int  # matching accounts without a connected CRM to hold a task (not counted in creates)
    lookback_days: int
    as_of: datetime
    written: bool

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.accounts]

    @property
    def summary(self) -> str:
        verb = "created" if self.written else "would create"
        text = f"{verb} {self.creates} task{'s' * (self.creates != 1)}"
        if self.closes:
            text += f" and {'closed' if self.written else 'close'} {self.closes}"
        text += f" for accounts that entered the band in the last {self.lookback_days} days"
        if self.no_crm:
            text += f" ({self.no_crm} more match but have no connected CRM to hold a task)"
        return text


@dataclass(frozen=True, slots=True)
class _Entry:
    account: m.Account
    before: str  # the band the account came from
    newest: m.ScoreSnapshot  # its newest score (band = the band it entered)


def entries(session: Session, tenant_id: int, since: datetime) -> list[_Entry]:
    """Every live account whose band changed at or after `since`, with its newest snapshot: the band
    before is the one just before its last change (the snapshot before `since` is the baseline, so an
    entry on the window's first day counts)."""
    accounts = {
        a.id: a
        for a in session.scalars(
            select(m.Account).where(m.Account.tenant_id == tenant_id, m.Account.deleted_at.is_(None))
        )
    }
    baseline = (
        select(m.ScoreSnapshot.account_id, func.max(m.ScoreSnapshot.as_of).label("at"))
        .where(m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.as_of < since)
        .group_by(m.ScoreSnapshot.account_id)
        .subquery()
    )
    last: dict[int, str] = dict(
        session.execute(
            select(m.ScoreSnapshot.account_id, m.ScoreSnapshot.band).join(
                baseline,
                and_(
                    m.ScoreSnapshot.account_id == baseline.c.account_id,
                    m.ScoreSnapshot.as_of == baseline.c.at,
                ),
            )
        ).all()
    )
    before: dict[int, str] = {}
    newest: dict[int, m.ScoreSnapshot] = {}
    for snap in session.scalars(
        select(m.ScoreSnapshot)
        .where(m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.as_of >= since)
        .order_by(m.ScoreSnapshot.as_of, m.ScoreSnapshot.id)
    ):
        prev = last.get(snap.account_id)
        if prev is not None and prev != snap.band:
            before[snap.account_id] = prev
        last[snap.account_id] = snap.band
        newest[snap.account_id] = snap
    return [
        _Entry(accounts[a], band, newest[a]) for a, band in before.items() if a in accounts and a in newest
    ]


def _zendesk_orgs(session: Session, tenant_id: int) -> dict[int, list[tuple[str, str]]]:
    """CRM account id → the linked Zendesk organizations (where a play's support-lead ticket goes)."""
    out: dict[int, list[tuple[str, str]]] = {}
    for crm_id, ext in session.execute(
        select(m.AccountLink.crm_account_id, m.Account.external_id)
        .join(m.Account, m.Account.id == m.AccountLink.source_account_id)
        .where(
            m.AccountLink.tenant_id == tenant_id,
            m.AccountLink.crm_account_id.is_not(None),
            m.Account.vendor == "zendesk",
            m.Account.deleted_at.is_(None),
        )
    ):
        if crm_id is not None:
            out.setdefault(crm_id, []).append(("zendesk", ext))
    return out


def backfill(
    session: Session,
    tenant_id: int,
    play: m.Play,
    band_order: Sequence[str],
    *,
    write: bool,
    lookback_days: int = LOOKBACK_DAYS,
) -> Backfill:
    """Plan (and with `write`, queue) the play's tasks for the accounts already in its band."""
    now = tenant_now(session, tenant_id)
    spec = replace(play_queue.to_play(play), enabled=True)
    insts = play_queue.installations(session, tenant_id)
    former = former_customer_ids(session, tenant_id, now.date())
    changes: list[plays.BandChange] = []
    accounts: dict[str, m.Account] = {}
    no_crm = 0
    for e in entries(session, tenant_id, now - timedelta(days=lookback_days)):
        if e.account.id in former:
            continue
        change = replace(play_queue.band_change(e.account, e.before, e.newest), as_of=now)
        if play_queue.task_home(e.account, insts) is None:
            no_crm += int(plays.matches(spec, change))
            continue
        changes.append(change)
        accounts[change.account_id] = e.account
    tasks = play_queue.newest_tasks(session, tenant_id)
    plan = plays.plan(changes, [spec], play_queue.task_states(tasks), band_order)
    creates = [a for a in plan.actions if a.kind == "create"]
    count = len(creates)
    if write:  # task_home filtered above, so every planned create becomes a row: count what was written
        count = play_queue.queue(
            session, tenant_id, plan, changes, accounts, tasks, _zendesk_orgs(session, tenant_id)
        )
    return Backfill(
        play_id=play.id,
        creates=count,
        closes=len(plan.actions) - len(creates),
        accounts=[(int(a.account_id), accounts[a.account_id].name) for a in creates][:SAMPLE],
        no_crm=no_crm,
        lookback_days=lookback_days,
        as_of=now,
        written=write,
    )
