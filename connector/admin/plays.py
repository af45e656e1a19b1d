"""Admin actions on plays: define and edit them (validated), enable or disable, a disabled starter play per
tenant, and the dry run over the current book ("would create 37 tasks") an admin reads before enabling.

The dry run replays the band changes of the last DRY_RUN_DAYS days of score history through the same
plan the score step uses (plays.plan), starting from the tasks that exist now, so flaps are deduplicated
exactly as they would be live. Enabling a play does not backfill: it fires on the next band change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.pipeline import play_queue, plays
from connector.pipeline.score import current_model
from connector.store import models as m
from connector.store.repo import audit, utcnow

DRY_RUN_DAYS = 30
MAX_DUE_DAYS = 90
STARTER: dict[str, Any] = {
    "name": "Enters red",
    "to_band": "red",
    "subject": "Health score: {account} entered {band}",
    "next_step": "Call the executive sponsor this week and agree a recovery plan.",
    "due_days": 3,
    "on_recovery": "close",
    "cooldown_days": 14,
}


@dataclass(frozen=True, slots=True)
class DryRun:
    play_id: int | None
    days: int
    creates: int
    closes: int
    accounts: list[str]  # names of the accounts that would get a task (first 20)
    summary: str


def band_names(session: Session, tenant_id: int) -> list[str]:
    return [b.name for b in current_model(session, tenant_id).default_segment.bands]


def segment_names(session: Session, tenant_id: int) -> list[str]:
    return [s.name for s in current_model(session, tenant_id).segments]


def list_plays(session: Session, tenant_id: int) -> list[m.Play]:
    return list(session.scalars(select(m.Play).where(m.Play.tenant_id == tenant_id).order_by(m.Play.id)))


def ensure_starter(session: Session, tenant_id: int) -> None:
    """A tenant without plays gets one disabled starter play to edit (nothing fires until it is enabled)."""
    if session.scalar(select(func.count()).where(m.Play.tenant_id == tenant_id)):
        return
    now = utcnow()
    session.add(m.Play(tenant_id=tenant_id, from_bands=[], segments=[], zendesk_ticket=False, enabled=False,
                       created_at=now, updated_at=now, **STARTER))  # fmt: skip


def parse_form(form: Any, bands: list[str], segments: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Validated play fields from a form (or dict) and the problems, each saying what to fix."""
    errors: list[str] = []
    name = str(form.get("name", "")).strip()[:200]
    if not name:
        errors.append("Give the play a name (e.g. “Enterprise enters red”).")
    to_band = str(form.get("to_band", ""))
    if to_band not in bands:
        errors.append(f"Choose the band the account enters: one of {', '.join(bands)}.")
    from_bands = [b for b in _many(form, "from_bands") if b in bands and b != to_band]
    chosen = [s for s in _many(form, "segments") if s in segments]
    subject = str(form.get("subject", "")).strip()[:255] or str(STARTER["subject"])
    try:
        subject.format(account="A", band="red")
    except (KeyError, IndexError, ValueError):
        errors.append("The subject may use {account} and {band} only (other braces: double them).")
    due_days = _int(form.get("due_days"), 3)
    cooldown = _int(form.get("cooldown_days"), 14)
    if not 0 <= due_days <= MAX_DUE_DAYS:
        errors.append(f"Due in 0 to {MAX_DUE_DAYS} days.")
    if not 0 <= cooldown <= 365:
        errors.append("The cooldown is 0 to 365 days.")
    recovery = str(form.get("on_recovery", "close"))
    if recovery not in ("close", "leave"):
        errors.append("On recovery: close the task or leave it.")
    fields = {
        "name": name,
        "to_band": to_band,
        "from_bands": from_bands,
        "segments": chosen,
        "subject": subject,
        "next_step": str(form.get("next_step", "")).strip()[:2000],
        "due_days": due_days,
        "cooldown_days": cooldown,
        "zendesk_ticket": str(form.get("zendesk_ticket", "")) in ("1", "on", "true", "True"),
        "on_recovery": recovery,
    }
    return fields, errors


def _many(form: Any, key: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [str(v) for v in form.getlist(key)]
    value = form.get(key) or []
    return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def save(
    session: Session, tenant_id: int, fields: dict[str, Any], actor: str, play_id: int | None = None
) -> m.Play:
    now = utcnow()
    row = get(session, tenant_id, play_id) if play_id is not None else None
    if row is None:
        row = m.Play(tenant_id=tenant_id, enabled=False, created_at=now, **fields, updated_at=now)
        session.add(row)
        session.flush()
    else:
        for k, v in fields.items():
            setattr(row, k, v)
        row.updated_at = now
    audit(session, tenant_id, actor, "play.saved", f"play {row.id}", name=row.name)
    return row


def get(session: Session, tenant_id: int, play_id: int | None) -> m.Play | None:
    row = session.get(m.Play, play_id) if play_id is not None else None
    return row if row is not None and row.tenant_id == tenant_id else None


def set_enabled(session: Session, tenant_id: int, play_id: int, enabled: bool, actor: str) -> m.Play | None:
    row = get(session, tenant_id, play_id)
    if row is not None:
        row.enabled, row.updated_at = enabled, utcnow()
        audit(session, tenant_id, actor, "play.enabled" if enabled else "play.disabled", f"play {row.id}")
    return row


def _changes(session: Session, tenant_id: int, since: datetime) -> list[plays.BandChange]:
    """Band changes between consecutive snapshots from `since` on (the first snapshot is the baseline)."""
    accounts = {a.id: a for a in session.scalars(select(m.Account).where(m.Account.tenant_id == tenant_id))}
    last: dict[int, str] = {}
    out: list[plays.BandChange] = []
    for snap in session.scalars(
        select(m.ScoreSnapshot)
        .where(m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.as_of >= since)
        .order_by(m.ScoreSnapshot.as_of, m.ScoreSnapshot.id)
    ):
        before = last.get(snap.account_id)
        last[snap.account_id] = snap.band
        acc = accounts.get(snap.account_id)
        if before is not None and before != snap.band and acc is not None:
            out.append(play_queue.band_change(acc, before, snap))
    return out


def dry_run(session: Session, tenant_id: int, play: m.Play | plays.Play, days: int = DRY_RUN_DAYS) -> DryRun:
    """What the play would have done over the last `days` days of the book, had it been enabled."""
    newest = session.scalar(
        select(func.max(m.ScoreSnapshot.as_of)).where(m.ScoreSnapshot.tenant_id == tenant_id)
    )
    spec = play_queue.to_play(play) if isinstance(play, m.Play) else play
    spec = replace(spec, enabled=True)
    if newest is None:
        return DryRun(None, days, 0, 0, [], "would create 0 tasks (no scores yet: run a pass first)")
    changes = _changes(session, tenant_id, newest - timedelta(days=days))
    tasks = play_queue.task_states(play_queue.newest_tasks(session, tenant_id))
    plan = plays.plan(changes, [spec], tasks, band_names(session, tenant_id))
    names = {c.account_id: c.account_name for c in changes}
    creates = [a for a in plan.actions if a.kind == "create"]
    return DryRun(
        play_id=int(spec.id) if spec.id.isdigit() else None,
        days=days,
        creates=len(creates),
        closes=len(plan.actions) - len(creates),
        accounts=[names[a.account_id] for a in creates][:20],
        summary=f"{plan.summary()} over the last {days} days",
    )
