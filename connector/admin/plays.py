"""Admin actions on plays (the admin pages and the REST API share them): define and edit them (validated),
enable or disable, archive, a disabled starter play per tenant, and the dry run over the current book
("would create 37 tasks") an admin reads before enabling.

Turning a play on backfills: the accounts already in its band (entered within the last
play_backfill.LOOKBACK_DAYS days) get their task at once. The dry run is that same backfill without
writing, so its count is exactly what turning the play on creates (connector/pipeline/play_backfill.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from connector.pipeline import play_backfill
from connector.pipeline.play_backfill import Backfill
from connector.pipeline.plays import subject_ok
from connector.pipeline.score import current_model
from connector.store import models as m
from connector.store.repo import audit, utcnow

DRY_RUN_DAYS = play_backfill.LOOKBACK_DAYS
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
    for key, allowed in (("from_bands", bands), ("segments", segments)):
        unknown = [v for v in _many(form, key) if v not in allowed]
        if unknown:
            errors.append(f"Unknown {key.replace('_', ' ')}: {', '.join(unknown[:5])[:200]}; "
                          f"choose from {', '.join(allowed)}.")  # fmt: skip
    subject = str(form.get("subject", "")).strip()[:255] or str(STARTER["subject"])
    if not subject_ok(subject):
        errors.append("The subject may use {account} and {band} only (other braces: double them).")
    due_days = _int(form.get("due_days"), 3)
    cooldown = _int(form.get("cooldown_days"), 14)
    if due_days is None or not 0 <= due_days <= MAX_DUE_DAYS:
        errors.append(f"Due in 0 to {MAX_DUE_DAYS} days (a whole number).")
    if cooldown is None or not 0 <= cooldown <= 365:
        errors.append("The cooldown is 0 to 365 days (a whole number).")
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


def _int(value: Any, default: int) -> int | None:
    """A whole number of days: `default` when left empty, None when it is not a whole number. JSON's 5.0 is
    5 (JSON Schema counts it an integer); 5.5 or "soon" is refused rather than silently stored as the
    default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


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


def named(session: Session, tenant_id: int, name: str, other_than: int | None = None) -> m.Play | None:
    """The workspace's play of this name (case and surrounding spaces ignored), other than `other_than`."""
    rows = session.scalars(
        select(m.Play).where(
            m.Play.tenant_id == tenant_id,
            m.Play.name_key == m.name_key(name),  # what the database's one-name index compares (0012)
            true() if other_than is None else m.Play.id != other_than,
        )
    )
    return rows.first()


def same_fields(row: m.Play, fields: dict[str, Any]) -> bool:
    """Whether a stored play already says exactly what the form says (the same form sent twice)."""
    return all(getattr(row, k) == v for k, v in fields.items())


def get(session: Session, tenant_id: int, play_id: int | None) -> m.Play | None:
    # A typed id (?edit=, ?dry=, the form's play_id) beyond a 64-bit row id names no play: looking it up
    # overflowed the query (a 500).
    row = session.get(m.Play, play_id) if play_id is not None and 0 < play_id < 2**63 else None
    return row if row is not None and row.tenant_id == tenant_id else None


def set_enabled(
    session: Session, tenant_id: int, play_id: int, enabled: bool, actor: str
) -> tuple[m.Play, Backfill | None] | None:
    """Turn a play on or off. Turning it on (from off) backfills the accounts already in its band and
    returns what it queued; turning it off leaves its open tasks as they are."""
    row = get(session, tenant_id, play_id)
    if row is None:
        return None
    result = None
    if enabled and not row.enabled:
        row.enabled = True
        result = play_backfill.backfill(session, tenant_id, row, band_names(session, tenant_id), write=True)
    row.enabled, row.updated_at = enabled, utcnow()
    extra = {"tasks": result.creates, "closes": result.closes} if result else {}
    audit(
        session, tenant_id, actor, "play.enabled" if enabled else "play.disabled", f"play {row.id}", **extra
    )
    return row, result


def dry_run(session: Session, tenant_id: int, play: m.Play) -> Backfill:
    """What turning the play on now would do: the same backfill, nothing written."""
    return play_backfill.backfill(session, tenant_id, play, band_names(session, tenant_id), write=False)


def delete(session: Session, tenant_id: int, play_id: int, actor: str) -> int | None:
    """Delete a play and its task rows (None: no such play). Tasks already in the CRM stay there for their
    owners; creates not yet sent are dropped (the task write-back skips rows whose task is gone).
    Returns how many task rows went with it."""
    row = get(session, tenant_id, play_id)
    if row is None:
        return None
    tasks = list(session.scalars(select(m.PlayTask).where(m.PlayTask.play_id == row.id)))
    for task in tasks:
        session.delete(task)
    session.delete(row)
    audit(session, tenant_id, actor, "play.deleted", f"play {play_id}", name=row.name, tasks=len(tasks))
    return len(tasks)
