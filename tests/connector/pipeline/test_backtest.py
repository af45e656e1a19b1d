"""The backtest: outcomes from the sandbox truth and from closed renewal deals, the baseline models, and
one backtest on the seeded sandbox book where the ordering of the models is known."""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

import pytest

from connector.config import load_settings
from connector.demo.run import prepare
from connector.installs.provision import ensure_all
from connector.pipeline import run as pipeline
from connector.pipeline.backtest import (
    equal_weights_model,
    outcomes_from_deals,
    outcomes_from_truth,
    run_backtest,
    single_metric_model,
)
from connector.store.db import transaction
from connector.store.repo import tenants
from scoring.config import ScoringConfigError, load_default_model
from tests.connector import builders as b

MODEL_TEXT = resources.files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
START, END = date(2026, 5, 1), date(2026, 8, 1)


def _truth(renewals: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """A /_sandbox/truth document: Salesforce account "001<key>" → customer key, with its renewals."""
    return {
        "customers": {
            key: {"renewals": [{"date": d, "outcome": o, "latent_health": 0.5} for d, o in rs]}
            for key, rs in renewals.items()
        },
        "vendors": {"salesforce": {"accounts": {f"001{key}": key for key in renewals}, "tickets": {}}},
    }


@pytest.mark.parametrize(
    ("renewals", "expected"),
    [
        ([("2026-06-15", "renewed")], False),
        ([("2026-06-15", "churned")], True),
        ([("2026-05-01", "churned")], None),  # the window's first day belongs to the window before
        ([("2026-08-01", "churned")], True),  # its last day is in
        ([("2026-08-02", "churned")], None),
        ([("2025-06-15", "churned"), ("2026-06-15", "renewed")], False),  # last year's decision is out
        ([], None),
    ],
    ids=["renewed", "churned", "start-exclusive", "end-inclusive", "after-window", "older-decision", "none"],
)
def test_outcomes_from_truth(renewals: list[tuple[str, str]], expected: bool | None) -> None:
    out = outcomes_from_truth(_truth({"C1": renewals}), "salesforce", START, END)
    assert out.get("001C1") is expected
    assert ("001C1" in out) == (expected is not None)  # no decision = unknown, never "renewed"


def test_outcomes_from_truth_other_vendor_and_unknown_customer() -> None:
    truth = _truth({"C1": [("2026-06-15", "churned")]})
    truth["vendors"]["salesforce"]["accounts"]["001X"] = "C404"  # id map names a customer not in the book
    assert outcomes_from_truth(truth, "hubspot", START, END) == {}
    assert outcomes_from_truth(truth, "salesforce", START, END) == {"001C1": True}


def test_outcomes_from_deals(db_url: str) -> None:
    """Closed renewal deals in (start, end] decide; lost beats won for the same account; open deals,
    upsells, other CRMs and deleted deals do not count."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.deal(s, t, "D1", "001", is_closed=True, is_won=True, close_date=date(2026, 6, 1))
        b.deal(s, t, "D2", "002", is_closed=True, is_won=False, close_date=date(2026, 8, 1))
        b.deal(s, t, "D3", "003", is_closed=True, is_won=True, close_date=date(2026, 6, 1))
        b.deal(s, t, "D4", "003", is_closed=True, is_won=False, close_date=date(2026, 7, 1))
        b.deal(s, t, "D5", "004", is_closed=True, is_won=False, close_date=date(2026, 5, 1))
        b.deal(s, t, "D6", "005", is_closed=False, close_date=date(2026, 6, 1))
        b.deal(s, t, "D7", "006", kind="upsell", is_closed=True, is_won=False, close_date=date(2026, 6, 1))
        b.deal(s, t, "D8", "007", is_closed=True, is_won=False, close_date=date(2026, 6, 1), vendor="hubspot")
    with b.session(db_url) as s:
        out = outcomes_from_deals(s, t, "salesforce", START, END)
    assert out == {"001": False, "002": True, "003": True}


def test_equal_weights_model_keeps_metrics_and_bands() -> None:
    default, equal = load_default_model(), equal_weights_model(MODEL_TEXT)
    assert [x.name for x in equal.metrics] == [x.name for x in default.metrics]
    assert {x.weight for x in equal.metrics} == {1.0}
    assert {w for seg in equal.segments for w in seg.weights} == {1.0}
    assert [seg.bands for seg in equal.segments] == [seg.bands for seg in default.segments]
    assert equal.version != default.version


def test_single_metric_model() -> None:
    only = single_metric_model(MODEL_TEXT, "nps_avg_365d")
    assert [x.name for x in only.metrics] == ["nps_avg_365d"]
    with pytest.raises(ScoringConfigError):
        single_metric_model(MODEL_TEXT, "no_such_metric")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_backtest_on_the_seeded_book(db_url: str, sandbox: Any, tmp_path: Any) -> None:
    """On the seeded book (seed 7, 120 accounts; its truth: churn follows latent health, which NPS, CSAT
    and ticket priority reflect while escalation counts barely do) the default model separates churners
    from renewals a year ahead far better than chance and than an escalations-only model, and its red
    band churns more than its green band. Sentiment is not run (the slow step): its metrics have no
    data and drop out by renormalisation. (On a book this small, 12 churners, the equal-weights
    baseline lands within noise of the default; benchmarks/backtest.py compares them on 500 accounts.)
    """
    settings = load_settings(
        {
            "database_url": db_url,
            "instance_path": str(tmp_path / "inst"),
            "webhooks_allow_private_targets": True,
        },
        environ={},
    )
    prepare(settings, sandbox.credentials(), None)
    with transaction(settings.sqlalchemy_url) as s:
        tid = tenants(s, "northwind")[0].id
    ensure_all(settings, tid)
    assert pipeline.run_tenant(settings, tid, steps=("sync", "link"))["status"] == "ok"
    with transaction(settings.sqlalchemy_url) as s:
        default = run_backtest(s, tid, horizon_days=365, model=load_default_model())
        naive = run_backtest(
            s,
            tid,
            horizon_days=365,
            model=single_metric_model(MODEL_TEXT, "escalated_tickets_90d"),
            compare_with=load_default_model(),
        )
        s.rollback()
    assert "truth" in default["truth"]
    assert default["accounts"] == naive["accounts"] >= 80
    assert default["churned"] >= 8
    assert default["auc"] > 0.7
    assert default["auc"] > naive["auc"] + 0.15
    rate = {x["band"]: x["rate"] for x in default["bands"]}
    assert rate["green"] < default["churn_rate"] < rate["red"]
    # Uncertainty (additive keys): sample, AUC interval around the point, per-band interval and counts.
    sample = default["sample"]
    assert sample["accounts"] == default["accounts"] == sample["churned"] + sample["renewed"]
    ci = default["auc_interval"]
    assert ci["low"] <= default["auc"] <= ci["high"]
    assert ci["high"] - ci["low"] < 0.4
    assert isinstance(default["auc_verdict"], str)
    for row in default["bands"]:
        if row["accounts"]:
            assert row["rate_low"] <= row["rate"] <= row["rate_high"]
            assert (row["verdict"] is None) == (row["accounts"] >= 20)
    # Paired: escalations alone vs the default on the same accounts is clearly worse.
    cmp = naive["compare_live"]
    assert cmp["accounts"] == naive["accounts"]
    assert cmp["difference"]["high"] < 0
    assert "worse" in cmp["verdict"]
