"""The score step: signals → scoring engine → snapshot (history), band changes → webhook events, and
changed CRM field values → write-back outbox, all in ONE transaction (transactional outbox)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from connector.pipeline import play_queue
from connector.pipeline.outbox import queue_writes
from connector.pipeline.signals import load_signals
from connector.readmodels.common import parsed_model
from connector.readmodels.customers import former_customer_ids
from connector.store import models as m
from connector.store.db import upsert_insert
from connector.store.repo import utcnow
from connector.store.snapshots import SnapshotRow, insert_snapshots
from scoring.engine import score_accounts
from scoring.model import ScoringModel
from scoring.trend import change_over
from scoring.types import BandState, Driver, HealthResult
from webhooks.events import AccountChange, EventType, make_event, should_emit_score_changed

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScoreReport:
    accounts: int = 0
    scored: int = 0
    by_band: dict[str, int] = field(default_factory=dict)
    band_changes: int = 0
    events: int = 0
    writes_queued: int = 0
    model_version: str = ""


def current_model(session: Session, tenant_id: int) -> ScoringModel:
    """The tenant's published model; the packaged default is stored (and published) on first use."""
    row = session.scalar(
        select(m.ScoringModelVersion)
        .where(m.ScoringModelVersion.tenant_id == tenant_id, m.ScoringModelVersion.status == "published")
        .order_by(m.ScoringModelVersion.published_at.desc())
    )
    if row is not None:
        return parsed_model(row.yaml)
    from importlib.resources import files

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    model = parsed_model(text)
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = upsert_insert(dialect)
    # Two first requests of a workspace at the same instant both find no model: the second INSERT waits
    # for the first and then does nothing, where a plain add failed its commit with a unique violation.
    session.execute(
        insert(m.ScoringModelVersion)
        .values(
            tenant_id=tenant_id,
            version=model.version,
            yaml=text,
            status="published",
            created_by="healthscore (default)",
            created_at=now,
            published_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "version"])
    )
    return model


def _latest(session: Session, tenant_id: int) -> dict[int, m.ScoreSnapshot]:
    """Each account's current snapshot (its previous band state), through current_scores: the store keeps
    that table on every flush (models._track_current), so this costs one row per account instead of
    grouping the whole history, which grew with every pass (issue 17)."""
    rows = session.scalars(
        select(m.ScoreSnapshot)
        .join(m.CurrentScore, m.CurrentScore.snapshot_id == m.ScoreSnapshot.id)
        .where(m.CurrentScore.tenant_id == tenant_id)
    )
    return {s.account_id: s for s in rows}


class Previous(NamedTuple):
    """The columns of an account's current snapshot the score step reads (not its JSON: drivers, metrics)."""

    account_id: int
    band: str
    band_since: datetime
    score: float


def _previous(session: Session, tenant_id: int) -> dict[int, Previous]:
    """Like _latest, reading only the band state: decoding 2,000 snapshots' JSON columns into ORM objects
    cost more than the rest of the read (issue 17)."""
    s = m.ScoreSnapshot
    rows = session.execute(
        select(s.account_id, s.band, s.band_since, s.score)
        .join(m.CurrentScore, m.CurrentScore.snapshot_id == s.id)
        .where(m.CurrentScore.tenant_id == tenant_id)
    )
    return {row.account_id: Previous(*row) for row in rows}


def _history(
    session: Session, tenant_id: int, since: datetime, until: datetime | None = None
) -> dict[int, list[tuple[datetime, float]]]:
    """Per account, one score per as_of (between `since` and `until`, when given): the one recorded last.
    A pass re-run at the same as_of (a retry after a vendor fault, a stored simulated clock) supersedes the
    earlier, possibly partial, snapshot; keeping both let the trend pick whichever came first
    (tests/reliability/test_vendor_faults.py)."""
    s = m.ScoreSnapshot
    by_time: dict[int, dict[datetime, float]] = defaultdict(dict)
    for acc, as_of, score in session.execute(
        select(s.account_id, s.as_of, s.score)
        .where(s.tenant_id == tenant_id, s.as_of >= since, true() if until is None else s.as_of <= until)
        .order_by(s.as_of, s.id)
    ):
        by_time[acc][as_of] = score
    return {acc: sorted(points.items()) for acc, points in by_time.items()}


def _past_points(
    session: Session, tenant_id: int, since: datetime, until: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    """Per account, the one point change_over reads from _history(since, until): its latest snapshot in
    [since, until], the one recorded last at that as_of. _history read every point of the 70 days (one a
    day after compaction, all of them before it runs): ~70 rows per account and pass in steady state, the
    largest read of the score step with 90 days of history (issue 17). On PostgreSQL one index probe per
    account (ix_snapshots_account_asof, newest first); SQLite keeps _history."""
    if session.get_bind().dialect.name != "postgresql":
        return _history(session, tenant_id, since, until)
    s = m.ScoreSnapshot
    latest = (
        select(s.as_of, s.score)
        .where(
            s.tenant_id == tenant_id,
            s.account_id == m.CurrentScore.account_id,
            s.as_of >= since,
            s.as_of <= until,
        )
        .order_by(s.as_of.desc(), s.id.desc())
        .limit(1)
        .lateral()
    )
    rows = session.execute(
        select(m.CurrentScore.account_id, latest.c.as_of, latest.c.score)
        .select_from(m.CurrentScore)
        .join(latest, true())
        .where(m.CurrentScore.tenant_id == tenant_id)
    )
    return {acc: [(at, score)] for acc, at, score in rows}


def score_tenant(session: Session, tenant_id: int, as_of: datetime | None = None) -> ScoreReport:
    """Score every live CRM account of the tenant as of `as_of` (default now) and record the results."""
    from datetime import timedelta

    as_of = as_of or utcnow()
    model = current_model(session, tenant_id)
    # The CRM accounts load_signals reads (live ones): the snapshots, events and outbox rows need them, and
    # reading them again cost a second pass over every account row and its JSON (issue 17).
    accounts: dict[int, m.Account] = {}
    signals = load_signals(session, tenant_id, as_of, accounts=accounts)
    # Former customers (churned, renewal lost) leave scoring: their scores only crowded the at-risk list.
    former = {str(i) for i in former_customer_ids(session, tenant_id, as_of.date())}
    signals = [s for s in signals if s.account_id not in former]
    latest = _previous(session, tenant_id)
    previous = {str(a): BandState(band=s.band, since=s.band_since, score=s.score) for a, s in latest.items()}
    results = score_accounts(model, signals, as_of, previous)
    # The snapshot stores the 30-day change only: the points at or before as_of - 30 days are all it reads.
    # The last 30 days hold every pass's snapshot (compaction keeps them at full resolution, a pass every
    # 15 minutes is ~2,900 per account), which the read used to carry for nothing (issue 17).
    history = _past_points(session, tenant_id, as_of - timedelta(days=100), as_of - timedelta(days=30))
    report = ScoreReport(accounts=len(signals), model_version=model.version)
    endpoints = session.scalars(
        select(m.WebhookEndpoint).where(
            m.WebhookEndpoint.tenant_id == tenant_id, m.WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    org_ids = _linked_orgs(session, tenant_id)
    emitted = _last_emitted_scores(session, tenant_id) if endpoints else {}
    metric_of = {s.account_id: s.metrics for s in signals}
    snapshots: list[tuple[m.Account, Any]] = []
    scored: list[play_queue.Scored] = []
    for res in results:
        if res.score is None or res.band_state is None:
            continue
        acc = accounts[int(res.account_id)]
        change_30d = change_over(history.get(acc.id, []), res.score, as_of, 30)  # trend()'s change_30d
        # A plain row, not an ORM object: insert_snapshots writes it (issue 17).
        snap = _snapshot(tenant_id, acc.id, res, change_30d, metric_of.get(res.account_id, {}), SnapshotRow)
        snapshots.append((acc, snap))
        report.scored += 1
        report.by_band[snap.band] = report.by_band.get(snap.band, 0) + 1
        prev = latest.get(acc.id)
        scored.append(play_queue.Scored(acc, prev, snap))
        if prev is not None and prev.band != snap.band:
            report.band_changes += 1
    insert_snapshots(session, [snap for _, snap in snapshots])
    # Plays fire in this transaction: task rows and their outbox rows commit with the band change.
    bands = tuple(b.name for b in model.default_segment.bands)
    fired = play_queue.fire(session, tenant_id, scored, org_ids, bands)
    events = EventRows()
    for s in scored:
        report.events += _queue_events(
            session, tenant_id, endpoints, s.account, org_ids.get(s.account.id, []), s.prev, s.snap,
            model, emitted.get(s.account.id), fired.get(s.account.id, []), events,
        )  # fmt: skip
    events.flush(session, tenant_id)
    report.writes_queued = queue_writes(session, tenant_id, snapshots, org_ids)
    logger.info(
        "scored %d accounts (%d band changes, %d writes queued)",
        report.scored,
        report.band_changes,
        report.writes_queued,
        extra={"tenant": tenant_id, "step": "score"},
    )
    return report


def _snapshot(
    tenant_id: int,
    account_id: int,
    res: HealthResult,
    trend_30d: float | None,
    metrics: Any,
    kind: Any = m.ScoreSnapshot,
) -> Any:
    """The snapshot of one result: an ORM ScoreSnapshot (to add to the session), or with
    `kind=SnapshotRow` the same columns as a plain row for insert_snapshots."""
    if res.score is None or res.band_state is None:  # the caller filters these out
        raise ValueError("cannot snapshot an account without a score")
    return kind(
        tenant_id=tenant_id,
        account_id=account_id,
        as_of=res.as_of,
        score=res.score,
        band=res.band_state.band,
        band_since=res.band_state.since,
        segment=res.segment,
        dimensions={d.name: d.score for d in res.dimensions},
        drivers=[_driver(d) for d in res.drivers],
        metrics={k: v for k, v in dict(metrics).items() if v is not None},
        confidence=res.confidence,
        trend_30d=trend_30d,
        sentiment_30d=dict(metrics).get("sentiment_30d"),
        recommended_action=res.recommended_action,
        model_version=res.model_version,
    )


def _driver(d: Driver) -> dict[str, Any]:
    return {
        "metric": d.metric,
        "dimension": d.dimension,
        "direction": d.direction,
        "impact": round(d.impact, 2),
        "value": d.value,
        "text": d.text,
    }


def _linked_orgs(session: Session, tenant_id: int) -> dict[int, list[tuple[str, str]]]:
    """CRM account id → the (vendor, external id) of each helpdesk organization linked to it."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for crm_id, vendor, ext in session.execute(
        select(m.AccountLink.crm_account_id, m.Account.vendor, m.Account.external_id)
        .join(m.Account, m.Account.id == m.AccountLink.source_account_id)
        .where(
            m.AccountLink.tenant_id == tenant_id,
            m.AccountLink.crm_account_id.is_not(None),
            m.Account.deleted_at.is_(None),
        )
    ):
        if crm_id is not None:
            out[crm_id].append((vendor, ext))
    return out


def _last_emitted_scores(
    session: Session, tenant_id: int, account_ids: list[int] | None = None
) -> dict[int, float]:
    """Account id → new_score of its latest event (what subscribers last heard); `account_ids` limits it to
    those accounts (a targeted refresh)."""
    scope = (
        m.WebhookEvent.account_id.is_not(None)
        if account_ids is None
        else m.WebhookEvent.account_id.in_(account_ids)
    )
    newest = (
        select(func.max(m.WebhookEvent.id).label("eid"))
        .where(m.WebhookEvent.tenant_id == tenant_id, scope)
        .group_by(m.WebhookEvent.account_id)
        .subquery()
    )
    out: dict[int, float] = {}
    for ev in session.scalars(select(m.WebhookEvent).join(newest, m.WebhookEvent.id == newest.c.eid)):
        score = (ev.payload.get("data") or {}).get("new_score")
        if ev.account_id is not None and isinstance(score, int | float):
            out[ev.account_id] = float(score)
    return out


def _queue_events(
    session: Session,
    tenant_id: int,
    endpoints: Any,
    acc: m.Account,
    orgs: list[tuple[str, str]],
    prev: play_queue.PreviousState | None,
    snap: m.ScoreSnapshot,
    model: ScoringModel,
    last_emitted: float | None = None,
    plays: list[int] | None = None,
    batch: EventRows | None = None,
) -> int:
    """Queue band_changed / score_changed events for each subscribed endpoint (same transaction).

    score_changed compares with the score receivers last heard (the account's latest event), so a slow
    drift of a few points per pass is announced once it adds up to the delta; an account that never had
    an event compares with its previous snapshot. With `batch`, the rows are added there and written by
    its flush (one flush for the pass instead of one per event); without, now."""
    if prev is None or not endpoints:
        return 0
    kinds: list[EventType] = []
    if prev.band != snap.band:
        kinds.append(EventType.BAND_CHANGED)
    baseline = prev.score if last_emitted is None else last_emitted
    if should_emit_score_changed(baseline, snap.score, model.score_changed_delta):
        kinds.append(EventType.SCORE_CHANGED)
    count = 0
    now = utcnow()
    ids = {acc.vendor: acc.external_id} | dict(orgs)
    for kind in kinds:
        targets = [e for e in endpoints if not e.event_types or str(kind) in e.event_types]
        if not targets:
            continue
        change = AccountChange(
            account_ids=ids,
            name=acc.name,
            old_band=prev.band,
            new_band=snap.band,
            old_score=prev.score,
            new_score=snap.score,
            drivers=snap.drivers[:5],
            model_version=snap.model_version,
            occurred_at=snap.as_of,
        )
        event = make_event(kind, change, now=now)
        payload = dict(event.payload)
        if kind == EventType.BAND_CHANGED:  # additive key: the plays this band change matched
            payload["data"] = {**payload["data"], "plays": list(plays or [])}
        row = m.WebhookEvent(
            tenant_id=tenant_id,
            msg_id=event.id,
            type=str(kind),
            account_id=acc.id,
            payload=payload,
            created_at=now,
        )
        session.add(row)
        if batch is not None:
            batch.rows.append((row, [ep.id for ep in targets], now))
        else:
            session.flush()
            _add_deliveries(session, tenant_id, row.id, [ep.id for ep in targets], now)
        count += 1
    return count


@dataclass(slots=True)
class EventRows:
    """Events added by _queue_events whose deliveries wait for one flush to give the events their ids."""

    rows: list[tuple[m.WebhookEvent, list[int], datetime]] = field(default_factory=list)

    def flush(self, session: Session, tenant_id: int) -> None:
        if not self.rows:
            return
        session.flush()
        for row, endpoint_ids, now in self.rows:
            _add_deliveries(session, tenant_id, row.id, endpoint_ids, now)
        self.rows.clear()


def _add_deliveries(
    session: Session, tenant_id: int, event_id: int, endpoint_ids: list[int], now: datetime
) -> None:
    for endpoint_id in endpoint_ids:
        session.add(
            m.WebhookDelivery(
                tenant_id=tenant_id,
                endpoint_id=endpoint_id,
                event_id=event_id,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
