"""Inbound vendor events → targeted refresh: incremental re-sync of that vendor (cheap: the cursor is
recent), then link, sentiment and score for what that sync brought only, write-back of what changed,
webhook events.

Bursts coalesce: a refresh claims every event of its tenant still queued when it starts (and re-syncs
each vendor they came from), so ten webhooks arriving together cost one or two refreshes, not ten.
A refresh costs what its accounts cost, not what the tenant costs (connector.realtime.targeted): the
sync records what it stored, only those tickets are re-linked and judged, only the CRM accounts they
belong to are scored (against the peer distribution of the last pass), and only accounts whose inputs,
band or model changed get snapshots, events and writes. It reuses the score step's helpers
(connector.pipeline.score) so both paths build snapshots, events and write-back rows the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.config import Settings
from connector.pipeline import run as pipeline
from connector.pipeline import sentiment as sentiment_step
from connector.pipeline.outbox import queue_writes
from connector.pipeline.score import (
    ScoreReport,
    _last_emitted_scores,
    _latest,
    _queue_events,
    _snapshot,
    current_model,
)
from connector.pipeline.signals import load_signals
from connector.readmodels.customers import former_customer_ids
from connector.realtime import targeted
from connector.realtime.streams import streams_for
from connector.store import models as m
from connector.store.db import transaction
from connector.store.repo import TOUCHED, utcnow
from integrations.base import Stream
from scoring.engine import score_accounts
from scoring.trend import trend
from scoring.types import BandState, HealthResult

logger = logging.getLogger(__name__)
# Scores are peer-relative: one account's change nudges others by ~0.1 point with the same inputs. Those
# nudges wait for the scheduled pass; a webhook re-snapshots an account only when its own inputs, its band
# or its model changed, or its score moved at least this much.
NUDGE = 1.0


# ------------------------------------------------------------------ claim, refresh, mark


def refresh_pending(settings: Settings, tenant_id: int, *, model: Any = None) -> dict[str, Any]:
    """Refresh once for every queued event of the tenant (re-syncing each vendor they came from); with
    nothing queued (an earlier refresh took the events), nothing is done.

    Callers run at most one refresh per tenant at a time (tasks: a Redis lock; in-process: one thread),
    because two would race on the tenant's snapshots and write-back outbox.
    On failure the claimed events go back to `queued` (the caller may retry) and the error is re-raised.
    """
    with transaction(settings.sqlalchemy_url) as session:
        claimed = session.execute(
            select(m.InboundEvent.id, m.InboundEvent.vendor, m.InboundEvent.payload).where(
                m.InboundEvent.tenant_id == tenant_id, m.InboundEvent.status == "queued"
            )
        ).all()
        ids = [row.id for row in claimed]
        if ids:
            _mark(session, ids, "running", None)
    if not ids:
        return {"events": 0, "coalesced": True}
    vendors = sorted({row.vendor for row in claimed})
    # Only the streams the events name (a ticket event: tickets, comments, surveys), see realtime.streams.
    streams = {v: streams_for(v, (row.payload or {} for row in claimed if row.vendor == v)) for v in vendors}
    try:
        report = refresh(settings, tenant_id, vendors, model=model, streams=streams)
    except Exception:
        with transaction(settings.sqlalchemy_url) as session:
            _mark(session, ids, "queued", None)
        raise
    with transaction(settings.sqlalchemy_url) as session:
        _mark(session, ids, "done", utcnow())
    report["events"] = len(ids)
    return report


def _mark(session: Session, ids: list[int], status: str, at: datetime | None) -> None:
    session.execute(
        update(m.InboundEvent).where(m.InboundEvent.id.in_(ids)).values(status=status, processed_at=at)
    )


def refresh(
    settings: Settings,
    tenant_id: int,
    vendors: Sequence[str],
    *,
    model: Any = None,
    streams: Mapping[str, Collection[Stream] | None] | None = None,
) -> dict[str, Any]:
    """The targeted pass: sync `vendors` incrementally (each only in `streams[vendor]` when given), then
    link, sentiment, score (changed accounts only), write-back and events; each step's report carries
    its duration."""

    stored: list[dict[str, Any]] = []
    found = targeted.Touched()
    affected: set[int] = set()

    def sync() -> dict[str, Any]:
        nonlocal found
        token = TOUCHED.set(stored)  # the store notes every record this sync writes
        try:
            reports = [
                pipeline.sync(settings, tenant_id, vendor=v, streams=(streams or {}).get(v))["installations"]
                for v in vendors
            ]
        finally:
            TOUCHED.reset(token)
        found = targeted.Touched.of(stored)
        return {"installations": [r for rs in reports for r in rs], "records": len(stored)}

    def link() -> dict[str, Any]:
        with transaction(settings.sqlalchemy_url) as session:
            out = targeted.link(session, tenant_id, found)
            affected.update(targeted.accounts(session, tenant_id, found))
        return {**asdict(out), "accounts": len(affected)}

    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("sync", sync),
        ("link", link),
        ("sentiment", lambda: sentiment_step.run(settings, tenant_id, model, only=found.tickets)),
        ("score", lambda: score_step(settings, tenant_id, affected)),
        ("write_back", lambda: pipeline.write_back(settings, tenant_id)),
        ("events", lambda: pipeline.events(settings, tenant_id)),
    ]
    report: dict[str, Any] = {"steps": {}}
    started = time.perf_counter()
    for name, step in steps:
        t0 = time.perf_counter()
        result = step()
        result["duration_s"] = round(time.perf_counter() - t0, 3)
        report["steps"][name] = result
    report["duration_s"] = round(time.perf_counter() - started, 3)
    logger.info(
        "realtime refresh (%s) in %.2f s",
        ",".join(vendors),
        report["duration_s"],
        extra={"tenant": tenant_id},
    )
    return report


# ------------------------------------------------------------------ targeted score


def score_step(
    settings: Settings, tenant_id: int, account_ids: Collection[int] | None = None
) -> dict[str, Any]:
    with transaction(settings.sqlalchemy_url) as session:
        return asdict(score_changed(session, tenant_id, tenant_now(session, tenant_id), account_ids))


def score_changed(
    session: Session, tenant_id: int, as_of: datetime, account_ids: Collection[int] | None = None
) -> ScoreReport:
    """Like scoring_step.score_tenant, but only accounts whose result differs from their latest snapshot
    (score, band, model version or input metrics) get a snapshot, events and write-back rows.

    With `account_ids` (a refresh) only those accounts are read and scored, ranked against the peer
    distribution of the last pass (connector.realtime.targeted.reference); without, the whole book."""
    if account_ids is not None and not account_ids:
        return ScoreReport(model_version="")
    model = (targeted.model(session, tenant_id) if account_ids is not None else None) or current_model(
        session, tenant_id
    )
    # Former customers leave scoring in the full pass (score_tenant); a targeted refresh must not bring them back.
    former = {str(i) for i in former_customer_ids(session, tenant_id, as_of.date(), account_ids)}
    signals = [
        s
        for s in load_signals(session, tenant_id, as_of, account_ids=account_ids)
        if s.account_id not in former
    ]
    latest = _latest_of(session, tenant_id, account_ids)
    previous = {str(a): BandState(band=s.band, since=s.band_since, score=s.score) for a, s in latest.items()}
    metric_of = {s.account_id: dict(s.metrics) for s in signals}
    report = ScoreReport(accounts=len(signals), model_version=model.version)
    ref = targeted.reference(session, tenant_id, model) if account_ids is not None and signals else None
    changed = [
        r
        for r in score_accounts(model, signals, as_of, previous, reference=ref)
        if r.score is not None
        and r.band_state is not None
        and _differs(latest.get(int(r.account_id)), r, metric_of.get(r.account_id, {}))
    ]
    if not changed:
        return report
    endpoints = session.scalars(
        select(m.WebhookEndpoint).where(
            m.WebhookEndpoint.tenant_id == tenant_id, m.WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    ids = [int(r.account_id) for r in changed]
    accounts = {a.id: a for a in session.scalars(select(m.Account).where(m.Account.id.in_(ids)))}
    org_ids = _linked_orgs_of(session, tenant_id, ids)
    emitted = _last_emitted_scores(session, tenant_id, ids) if endpoints else {}
    history = _history(session, tenant_id, ids, as_of)
    snapshots: list[tuple[m.Account, m.ScoreSnapshot]] = []
    for res in changed:
        acc, prev = accounts[int(res.account_id)], latest.get(int(res.account_id))
        tr = trend(history.get(acc.id, []), res.score or 0.0, as_of)
        snap = _snapshot(tenant_id, acc.id, res, tr.change_30d, metric_of.get(res.account_id, {}))
        session.add(snap)
        snapshots.append((acc, snap))
        report.scored += 1
        report.by_band[snap.band] = report.by_band.get(snap.band, 0) + 1
        report.events += _queue_events(
            session, tenant_id, endpoints, acc, org_ids.get(acc.id, []), prev, snap, model,
            emitted.get(acc.id),
        )  # fmt: skip
        report.band_changes += int(prev is not None and prev.band != snap.band)
    session.flush()
    report.writes_queued = queue_writes(session, tenant_id, snapshots, org_ids, targeted=True)
    return report


def _latest_of(session: Session, tenant_id: int, ids: Collection[int] | None) -> dict[int, m.ScoreSnapshot]:
    if ids is None:
        return _latest(session, tenant_id)
    rows = session.scalars(
        select(m.ScoreSnapshot)
        .join(m.CurrentScore, m.CurrentScore.snapshot_id == m.ScoreSnapshot.id)
        .where(m.CurrentScore.tenant_id == tenant_id, m.CurrentScore.account_id.in_(list(ids)))
    )
    return {s.account_id: s for s in rows}


def _linked_orgs_of(session: Session, tenant_id: int, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Like score._linked_orgs, for these CRM accounts only."""
    out: dict[int, list[tuple[str, str]]] = {}
    for crm_id, vendor, ext in session.execute(
        select(m.AccountLink.crm_account_id, m.Account.vendor, m.Account.external_id)
        .join(m.Account, m.Account.id == m.AccountLink.source_account_id)
        .where(
            m.AccountLink.tenant_id == tenant_id,
            m.AccountLink.crm_account_id.in_(ids),
            m.Account.deleted_at.is_(None),
        )
    ):
        out.setdefault(crm_id, []).append((vendor, ext))
    return out


def _differs(prev: m.ScoreSnapshot | None, res: HealthResult, metrics: dict[str, Any]) -> bool:
    if prev is None or res.band_state is None:
        return True
    now_metrics = {k: v for k, v in metrics.items() if v is not None}
    return (
        abs(prev.score - (res.score or 0.0)) >= NUDGE
        or prev.band != res.band_state.band
        or prev.model_version != res.model_version
        or _jsonish(prev.metrics or {}) != _jsonish(now_metrics)
    )


def _jsonish(values: dict[str, Any]) -> dict[str, Any]:
    # Snapshots store metrics as JSON: compare like with like (dates become strings, ints stay ints).
    return {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in values.items()}


def _history(
    session: Session, tenant_id: int, account_ids: list[int], as_of: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    from datetime import timedelta

    out: dict[int, list[tuple[datetime, float]]] = {}
    for acc, at, score in session.execute(
        select(m.ScoreSnapshot.account_id, m.ScoreSnapshot.as_of, m.ScoreSnapshot.score)
        .where(
            m.ScoreSnapshot.tenant_id == tenant_id,
            m.ScoreSnapshot.account_id.in_(account_ids),
            m.ScoreSnapshot.as_of >= as_of - timedelta(days=100),
        )
        .order_by(m.ScoreSnapshot.as_of)
    ):
        out.setdefault(acc, []).append((at, score))
    return out


# ------------------------------------------------------------------ in-process runner (demo, eager)

_guard = threading.Lock()
_dirty: set[int] = set()
_writes: set[int] = set()  # tenants with write-back requested (e.g. a play's backfilled tasks)
_threads: dict[int, threading.Thread] = {}


def request_refresh(settings: Settings, tenant_id: int, *, write_back: bool = False) -> None:
    """Without workers (`celery_always_eager`): refresh in a background thread, one per tenant; requests
    arriving while it runs only mark it dirty, so it goes once more and then stops. `write_back` also
    sends the tenant's pending outbox rows (after the refresh, in the same thread: one writer per tenant)."""
    key = tenant_id
    with _guard:
        _dirty.add(key)
        if write_back:
            _writes.add(key)
        if key in _threads:
            return
        thread = threading.Thread(target=_drain, args=(settings, key), daemon=True, name="hs-refresh")
        _threads[key] = thread
    thread.start()


def _drain(settings: Settings, key: int) -> None:
    while True:
        with _guard:
            if key not in _dirty:
                _threads.pop(key, None)
                return
            _dirty.discard(key)
            write = key in _writes
            _writes.discard(key)
        try:
            refresh_pending(settings, key)
            if write:
                pipeline.write_back(settings, key)
        except Exception:
            logger.exception("realtime refresh failed", extra={"tenant": key})


def wait_idle(timeout: float = 30.0) -> bool:
    """Join the in-process refresh threads (tests, benchmarks); True when none is left running."""
    deadline = time.monotonic() + timeout
    while True:
        with _guard:
            threads = list(_threads.values())
        if not threads:
            return True
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            with _guard:
                return not _threads
