"""Recommended actions: first matching rule on band + top drivers, else the band's default."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scoring.actions import recommend
from scoring.config import load_default_model
from scoring.engine import score_accounts
from scoring.model import ScoringModel
from scoring.types import AccountSignals, BandState, Driver
from tests.scoring.conftest import AS_OF


def drv(metric: str, dimension: str, direction: str = "down") -> Driver:
    return Driver(metric=metric, dimension=dimension, direction=direction, impact=-5.0, value=1.0, text="t")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("band", "drivers", "action"),
    [
        pytest.param("red", [drv("csat", "support")], "escalate to support lead", id="red-support-down"),
        pytest.param(
            "red",
            [drv("seats", "usage"), drv("csat", "support")],
            "escalate to support lead",
            id="rule-order-wins-not-driver-order",
        ),
        pytest.param("red", [drv("csat", "support", "up")], "save plan", id="direction-must-match"),
        pytest.param("yellow", [drv("csat", "support")], "check in", id="rule-band-must-match"),
        pytest.param("yellow", [drv("seats", "usage")], "adoption session", id="metric-rule-any-listed-band"),
        pytest.param("green", [drv("seats", "usage")], "grow", id="band-default"),
        pytest.param("green", [], "grow", id="no-drivers"),
        pytest.param(None, [], "link the account", id="no-data"),
    ],
)
def test_recommend(small_model: ScoringModel, band: str | None, drivers: list[Driver], action: str) -> None:
    assert recommend(small_model, band, drivers) == action


def test_default_model_red_negative_sentiment_escalates() -> None:
    model = load_default_model()
    signals = AccountSignals(
        account_id="acme",
        metrics={
            "sentiment_30d": -0.8,
            "negative_tickets_14d": 6,
            "negative_ticket_share_30d": 0.7,
            "csat_avg_90d": 2.1,
        },
    )
    result = score_accounts(model, [signals], AS_OF)[0]
    assert result.band == "red"
    assert any(d.dimension == "sentiment" and d.direction == "down" for d in result.drivers)
    assert result.recommended_action == "Escalation review with the support lead within 48 h"


def test_engine_applies_hysteresis_from_previous_state(small_model: ScoringModel) -> None:
    signals = [AccountSignals(account_id="a", metrics={"seats": 0.7, "csat": 4.0, "tickets": 0})]
    raw = score_accounts(small_model, signals, AS_OF)[0]
    assert raw.score == 74.4  # (87.5 + 3 * 70) / 4
    assert raw.raw_band == "yellow"
    prev = {"a": BandState(band="green", since=AS_OF - timedelta(days=30))}
    kept = score_accounts(small_model, signals, AS_OF, prev)[0]
    assert (kept.band, kept.raw_band, kept.band_state) == ("green", "yellow", replace(prev["a"], score=74.4))
    assert kept.recommended_action == "grow"
