"""Drivers: ordering by impact, direction, and text a rep understands."""

from __future__ import annotations

import pytest

from scoring.config import load_default_model
from scoring.drivers import render
from scoring.engine import score_accounts
from scoring.model import ScoringModel
from scoring.types import AccountSignals
from tests.scoring.conftest import AS_OF

DEFAULT = load_default_model()


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("negative_tickets_14d", 3, "3 negative tickets in 14 days"),
        ("csat_avg_90d", 2.1, "CSAT 2.1/5"),
        ("seat_utilisation", 0.42, "42% of seats in use"),
        ("nps_score", -20, "NPS -20"),
        ("arr_change_pct", 12.4, "ARR +12% year on year"),
        ("days_since_last_contact", 45, "last contact 45 days ago"),
        ("open_renewal_deal_stage", 0.25, "renewal deal 25% through the pipeline"),
        ("ticket_volume_trend", 1.8, "ticket volume 1.8x the previous two months"),
        ("csat_trend", -0.6, "CSAT -0.6 vs the previous quarter"),
        ("first_reply_hours_median_90d", 30.4, "median first reply 30 h"),
    ],
)
def test_default_texts(metric: str, value: float, text: str) -> None:
    spec = next(m for m in DEFAULT.metrics if m.name == metric)
    assert render(spec, value) == text


def test_drivers_are_ordered_by_impact_with_direction(small_model: ScoringModel) -> None:
    # support: csat 2 → 0.25, tickets 4 → 0; usage: seats 0.9 → 0.9; peers missing.
    result = score_accounts(
        small_model,
        [AccountSignals(account_id="a", metrics={"csat": 2.0, "tickets": 4, "seats": 0.9})],
        AS_OF,
    )[0]
    # weights: support 1/4 split over 2 metrics, usage 3/4 → impacts: seats 0.75*0.4*100 = 30,
    # tickets 0.125*(-0.5)*100 = -6.25, csat 0.125*(-0.25)*100 = -3.125; top 2 kept.
    assert [(d.metric, d.direction, d.impact) for d in result.drivers] == [
        ("seats", "up", 30.0),
        ("tickets", "down", -6.2),
    ]
    assert result.drivers[1].text == "4 negative tickets in 14 days"
    assert result.drivers[0].value == 0.9


def test_neutral_metrics_are_not_drivers(small_model: ScoringModel) -> None:
    result = score_accounts(
        small_model,
        [AccountSignals(account_id="a", metrics={"csat": 3.0, "tickets": 2, "seats": 0.5})],
        AS_OF,
    )[0]
    assert result.score == 50.0
    assert result.drivers == ()


def test_small_impacts_are_cut(small_model: ScoringModel) -> None:
    # seats 0.505 → impact 0.75 * 0.005 * 100 = 0.375 points < min_impact 0.5
    result = score_accounts(
        small_model, [AccountSignals(account_id="a", metrics={"seats": 0.505, "csat": 3.0})], AS_OF
    )[0]
    assert result.drivers == ()
