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
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.demo.truth import fetch_truth, sandbox_admin_url, vendor_maps
from connector.pipeline.link import crm_vendor
from connector.pipeline.score import current_model
from connector.pipeline.signals import load_signals
from connector.store import models as m
from scoring.backtest import backtest, suggest_weights
from scoring.config import load_model, model_from_dict
from scoring.engine import score_accounts
from scoring.model import ScoringModel


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
) -> dict[str, Any]:
    """Score as of `as_of` (default: now - horizon) and compare with outcomes in the horizon."""
    now = tenant_now(session, tenant_id)
    as_of = as_of or now - timedelta(days=horizon_days)
    model = model or current_model(session, tenant_id)
    crm = crm_vendor(session, tenant_id) or ""
    admin = sandbox_admin_url(session, tenant_id)
    start, end = as_of.date(), (as_of + timedelta(days=horizon_days)).date()
    outcomes = (
        outcomes_from_truth(fetch_truth(admin), crm, start, end)
        if admin
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
    report = backtest(
        scores, [r.raw_band for r in results], churned, [b.name for b in model.default_segment.bands]
    )
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon_days,
        "truth": "sandbox ground truth" if admin else "closed renewal deals",
        "model_version": model.version,
        "auc": None if np.isnan(report.auc) else round(report.auc, 4),
        "accounts": report.accounts,
        "churned": int(churned.sum()),
        "churn_rate": round(report.churn_rate, 4) if report.accounts else None,
        "bands": [asdict(b) for b in report.bands],
        "lift_red_over_green": report.lift,
        "calibration": [asdict(c) for c in report.calibration],
    }
    if suggest:
        out["suggested_weights"] = _suggest(model, results, churned)
    return out


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
    session: Session, tenant_id: int, yaml_text: str, horizon_days: int = 90
) -> dict[str, Any]:
    """Backtest a draft model before an admin publishes it (raises ScoringConfigError if invalid)."""
    return run_backtest(session, tenant_id, horizon_days=horizon_days, model=load_model(yaml_text))


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
            kept[name] = {**dim, "weight": 1, "metrics": {metric: dim["metrics"][metric]}}
    doc["dimensions"] = kept
    for seg in (doc.get("segments") or {}).values():
        seg.pop("weights", None)
    doc["actions"] = {k: v for k, v in doc.get("actions", {}).items() if k != "rules"}
    doc["version"] = f"{doc.get('version', 'model')}+only-{metric}"
    return model_from_dict(doc)
