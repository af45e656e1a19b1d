"""Backtest the scoring model against real outcomes: score every account as of a past date with the
model, join what happened within the horizon (renewed / churned), and measure.

Outcomes come from the sandbox's ground truth when the tenant runs on one, else from the CRM: a renewal
deal closed won (renewed) or lost (churned) within the horizon. Accounts without a renewal decision in
the horizon are left out (their outcome is unknown, not "renewed").
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.pipeline.link import crm_vendor
from connector.pipeline.score import current_model
from connector.pipeline.signals import load_signals
from connector.store import models as m
from connector.store.truth import recorded_truth, vendor_maps
from scoring.backtest import backtest, suggest_weights
from scoring.config import load_model, model_from_dict
from scoring.engine import score_accounts
from scoring.model import ScoringModel
from scoring.uncertainty import (
    MIN_CLASS,
    auc_interval,
    auc_verdict,
    band_rate_intervals,
    band_verdict,
    difference_verdict,
    paired_auc_difference,
    resamples,
)


class AsOfOutsideDataError(ValueError):
    """The backtest's date lies outside the store's data, so no account can be scored and judged on it
    (the backtest would answer "0 accounts, sample too small"); `hint` says which dates work."""

    hint: str = ""


class AsOfAfterDataError(AsOfOutsideDataError):
    """The backtest's date is after the newest data in the store: no outcome can be known after it (the
    backtest would answer "0 accounts, sample too small"). `latest` is the last date whose whole horizon
    the data covers: the newest data minus the horizon."""

    def __init__(self, as_of: date, newest: date, horizon_days: int) -> None:
        self.as_of, self.newest, self.horizon_days = as_of, newest, horizon_days
        self.latest = newest - timedelta(days=horizon_days)
        super().__init__(
            f"{as_of.isoformat()} is after the newest data in the store ({newest.isoformat()}): "
            "nothing that happened after it is known yet"
        )
        self.hint = (
            f"{self.latest.isoformat()} or earlier (the newest data minus the {horizon_days}-day horizon, "
            "the last date whose outcomes are all known)"
        )


class AsOfBeforeDataError(AsOfOutsideDataError):
    """The backtest's date is before the oldest ticket, survey answer or deal in the store: there is no
    history to score on it (a far-past date such as 0001-01-01 also overflowed the date arithmetic)."""

    def __init__(self, as_of: date, oldest: date, latest: date) -> None:
        self.as_of, self.oldest, self.latest = as_of, oldest, latest
        super().__init__(
            f"{as_of.isoformat()} is before the oldest data in the store ({oldest.isoformat()}): "
            "there is no history to score on it"
        )
        self.hint = f"a date from {oldest.isoformat()} to {latest.isoformat()}"


def newest_data(session: Session, tenant_id: int) -> datetime | None:
    """The latest vendor modification time of the tenant's accounts, deals, tickets and survey answers (what
    signals and outcomes are read from); None for a store without any."""
    stamps = [
        session.scalar(select(func.max(table.vendor_updated_at)).where(table.tenant_id == tenant_id))
        for table in (m.Account, m.Deal, m.Ticket, m.SurveyResponse)
    ]
    found = [t for t in stamps if t is not None]
    return max(found) if found else None


def oldest_data(session: Session, tenant_id: int) -> date | None:
    """Where the tenant's history starts: the earliest ticket, survey answer, deal creation or close date,
    or account modification in the store; None for a store without any."""
    stamps = [
        session.scalar(select(func.min(column)).where(table.tenant_id == tenant_id))
        for table, column in (
            (m.Ticket, m.Ticket.vendor_created_at),
            (m.SurveyResponse, m.SurveyResponse.responded_at),
            (m.Deal, m.Deal.vendor_created_at),
            (m.Deal, m.Deal.close_date),
            (m.Account, m.Account.vendor_updated_at),
        )
    ]
    found = [t.date() if isinstance(t, datetime) else t for t in stamps if t is not None]
    return min(found) if found else None


def outcomes_from_truth(truth: dict[str, Any], crm: str, start: date, end: date) -> dict[str, bool]:
    """CRM external id → churned, for accounts with a renewal decision in (start, end]."""
    accounts, _ = vendor_maps(truth, crm)
    out: dict[str, bool] = {}
    for ext, key in accounts.items():
        decisions = [
            r["outcome"]
            for r in truth["customers"].get(key, {}).get("renewals", [])
            if start < date.fromisoformat(r["date"]) <= end
        ]
        if decisions:
            out[ext] = "churned" in decisions
    return out


def outcomes_from_deals(
    session: Session, tenant_id: int, crm: str, start: date, end: date
) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for d in session.scalars(
        select(m.Deal).where(
            m.Deal.tenant_id == tenant_id, m.Deal.vendor == crm, m.Deal.kind == "renewal",
            m.Deal.is_closed.is_(True), m.Deal.deleted_at.is_(None),
        )
    ):  # fmt: skip
        if d.close_date and start < d.close_date <= end and d.account_external_id:
            out[d.account_external_id] = out.get(d.account_external_id, False) or not d.is_won
    return out


def run_backtest(
    session: Session,
    tenant_id: int,
    *,
    as_of: datetime | None = None,
    horizon_days: int = 90,
    model: ScoringModel | None = None,
    suggest: bool = False,
    compare_with: ScoringModel | None = None,
) -> dict[str, Any]:
    """Score as of `as_of` (default: now - horizon) and compare with outcomes in the horizon.

    Besides the point figures: the sample size, bootstrap 95 % intervals for the AUC and each band's churn
    rate with a plain verdict, and, with `compare_with` (the live model), the paired AUC difference of
    `model` minus it on the same accounts.

    Raises:
        AsOfAfterDataError: `as_of` is after the newest data in the store.
        AsOfBeforeDataError: `as_of` is before the oldest ticket, survey answer or deal.
    """
    now = tenant_now(session, tenant_id)
    if as_of is not None:
        newest = newest_data(session, tenant_id)
        if newest is not None and as_of.date() > newest.date():
            raise AsOfAfterDataError(as_of.date(), newest.date(), horizon_days)
        oldest = oldest_data(session, tenant_id)
        if oldest is not None and newest is not None and as_of.date() < oldest:
            latest = max(oldest, newest.date() - timedelta(days=horizon_days))
            raise AsOfBeforeDataError(as_of.date(), oldest, latest)
    as_of = as_of or now - timedelta(days=horizon_days)
    model = model or current_model(session, tenant_id)
    crm = crm_vendor(session, tenant_id) or ""
    truth = recorded_truth(session, tenant_id)
    start, end = as_of.date(), (as_of + timedelta(days=horizon_days)).date()
    outcomes = (
        outcomes_from_truth(truth, crm, start, end)
        if truth is not None
        else outcomes_from_deals(session, tenant_id, crm, start, end)
    )
    signals = load_signals(session, tenant_id, as_of, historical=True)
    ext_of = {
        str(a.id): a.external_id
        for a in session.scalars(
            select(m.Account).where(m.Account.tenant_id == tenant_id, m.Account.vendor == crm)
        )
    }
    results = [r for r in score_accounts(model, signals, as_of) if ext_of.get(r.account_id) in outcomes]
    churned = np.array([outcomes[ext_of[r.account_id]] for r in results], dtype=bool)
    scores = np.array([np.nan if r.score is None else r.score for r in results])
    band_order = [b.name for b in model.default_segment.bands]
    report = backtest(scores, [r.raw_band for r in results], churned, band_order)
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "truth": "sandbox ground truth" if truth is not None else "closed renewal deals",
        "model_version": model.version,
        "auc": None if np.isnan(report.auc) else round(report.auc, 4),
        "accounts": report.accounts,
        "churned": int(churned.sum()),
        "churn_rate": round(report.churn_rate, 4) if report.accounts else None,
        "bands": [asdict(b) for b in report.bands],
        "lift_red_over_green": report.lift,
        "calibration": [asdict(c) for c in report.calibration],
    }
    scored = ~np.isnan(scores)
    idx = resamples(int(scored.sum()))
    y = churned[scored]
    out.update(
        _uncertainty(
            scores[scored],
            [r.raw_band or "" for r, k in zip(results, scored, strict=True) if k],
            y,
            band_order,
            idx,
        )
    )
    for row in out["bands"]:
        row.update(out["band_intervals"][row["band"]])
    if compare_with is not None:
        live = score_accounts(compare_with, signals, as_of)
        live_score = {r.account_id: r.score for r in live}
        # Paired: the same accounts for both models (those both could score), the same resamples.
        both = [
            i
            for i, r in enumerate(results)
            if r.score is not None and live_score.get(r.account_id) is not None
        ]
        draft_risk = np.array([100.0 - (results[i].score or 0.0) for i in both])
        live_risk = np.array([100.0 - (live_score[results[i].account_id] or 0.0) for i in both])
        yb = churned[both] if both else np.zeros(0, dtype=bool)
        pidx = resamples(len(both))
        diff = paired_auc_difference(draft_risk, live_risk, yb, pidx)
        out["compare_live"] = {
            "live_version": compare_with.version,
            "accounts": len(both),
            "draft_auc": auc_interval(draft_risk, yb, pidx).as_dict(),
            "live_auc": auc_interval(live_risk, yb, pidx).as_dict(),
            "difference": diff.as_dict(),
            "verdict": difference_verdict(int(yb.sum()), int((~yb).sum()), diff),
        }
    if suggest:
        out["suggested_weights"] = _suggest(model, results, churned)
    return out


def _uncertainty(
    scores: np.ndarray, bands: list[str], churned: np.ndarray, band_order: list[str], idx: np.ndarray
) -> dict[str, Any]:
    """Sample size, AUC and band-rate intervals with verdicts (keys added to the backtest document)."""
    n_churned, n_retained = int(churned.sum()), int((~churned).sum())
    auc_ci = auc_interval((100.0 - scores) / 100.0, churned, idx)
    rates = band_rate_intervals(bands, churned, band_order, idx)
    band_rows: dict[str, dict[str, Any]] = {}
    for name, ci in rates.items():
        n = bands.count(name)
        band_rows[name] = {
            "rate_low": None if ci.low is None else round(ci.low, 4),
            "rate_high": None if ci.high is None else round(ci.high, 4),
            "verdict": band_verdict(n),
        }
    return {
        "sample": {
            "accounts": int(churned.size),
            "churned": n_churned,
            "renewed": n_retained,
            "too_small": n_churned < MIN_CLASS or n_retained < MIN_CLASS,
            "bootstrap_draws": int(idx.shape[0]),
        },
        "auc_interval": auc_ci.as_dict(),
        "auc_verdict": auc_verdict(n_churned, n_retained, auc_ci),
        "band_intervals": band_rows,
    }


def _suggest(model: ScoringModel, results: list[Any], churned: np.ndarray) -> dict[str, Any]:
    names = [d.name for d in model.dimensions]
    matrix = np.array(
        [[np.nan if d.score is None else d.score for d in r.dimensions] for r in results], dtype=np.float64
    ).reshape(len(results), len(names))
    current = np.array(model.default_segment.weights, dtype=np.float64)
    try:
        s = suggest_weights(matrix, churned, current_weights=current)
    except ValueError as exc:
        return {"error": str(exc)}
    return {
        "weights": {n: round(float(w), 4) for n, w in zip(names, s.weights, strict=True)},
        "current": {n: round(float(w), 4) for n, w in zip(names, current, strict=True)},
        "auc_before": round(s.auc_before, 4),
        "auc_after_cross_validated": round(s.auc_after, 4),
    }


def backtest_preview(
    session: Session,
    tenant_id: int,
    yaml_text: str,
    horizon_days: int = 90,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Backtest a draft model before an admin publishes it, paired with the live model on the same
    accounts (raises ScoringConfigError if invalid, AsOfOutsideDataError for an `as_of` outside the data)."""
    return run_backtest(
        session,
        tenant_id,
        as_of=as_of,
        horizon_days=horizon_days,
        model=load_model(yaml_text),
        compare_with=current_model(session, tenant_id),
    )


def equal_weights_model(yaml_text: str) -> ScoringModel:
    """Baseline for comparison: the same metrics, normalisations and bands, every metric and dimension
    weighing the same and no per-segment weights (what a model "tuned" by nobody would do)."""
    doc = yaml.safe_load(yaml_text)
    for dim in doc["dimensions"].values():
        dim["weight"] = 1
        for metric in dim["metrics"].values():
            metric["weight"] = 1
    for seg in (doc.get("segments") or {}).values():
        seg.pop("weights", None)
    doc["version"] = f"{doc.get('version', 'model')}+equal-weights"
    return model_from_dict(doc)


def single_metric_model(yaml_text: str, metric: str) -> ScoringModel:
    """Baseline for comparison: the model reduced to one metric (same bands), e.g. NPS alone.

    Raises:
        ScoringConfigError: `metric` is not in the model.
    """
    doc = yaml.safe_load(yaml_text)
    kept: dict[str, Any] = {}
    for name, dim in doc["dimensions"].items():
        if metric in dim["metrics"]:
            # weight 1: the signal alone, even one the model switches off (weight 0)
            kept[name] = {**dim, "weight": 1, "metrics": {metric: {**dim["metrics"][metric], "weight": 1}}}
    doc["dimensions"] = kept
    for seg in (doc.get("segments") or {}).values():
        seg.pop("weights", None)
    doc["actions"] = {k: v for k, v in doc.get("actions", {}).items() if k != "rules"}
    doc["version"] = f"{doc.get('version', 'model')}+only-{metric}"
    return model_from_dict(doc)
