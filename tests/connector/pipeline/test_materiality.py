"""When a CRM record is rewritten (connector.pipeline.materiality): the rule's edges, table-driven."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connector.pipeline import materiality as mat
from tests.connector.builders import DAY, T0

OLD: dict[str, Any] = {
    "health_score": 60.3,
    "health_band": "yellow",
    "health_trend_30d": -0.4,
    "health_drivers": "3 negative tickets in 14 days; CSAT 2.1/5",
    "sentiment_30d": -0.2,
    "recommended_action": "call them",
    "health_scored_at": T0.isoformat(),
    "health_model_version": "v1",
    "driver_kinds": ["csat:down", "negative_tickets:down"],
}


def _new(**changes: Any) -> dict[str, Any]:
    return {**OLD, "health_scored_at": (T0 + DAY).isoformat(), **changes}


@pytest.mark.parametrize(
    ("new", "why"),
    [
        (_new(), []),
        (_new(health_score=61.2), []),
        (_new(health_score=61.3), ["score moved"]),  # exactly 1.0 (61.3 - 60.3 is 0.99999… in floats)
        (_new(health_score=59.3), ["score moved"]),
        (_new(health_score=None), ["score moved"]),
        (_new(health_trend_30d=-1.3), []),
        (_new(health_trend_30d=-1.4), ["trend moved"]),  # exactly 1.0 down
        (_new(health_trend_30d=0.5), ["trend changed sign"]),  # 0.9 apart, crossed zero
        (_new(health_trend_30d=0.0), []),  # zero is neither sign
        (_new(health_trend_30d=None), ["trend moved"]),  # vanished
        (_new(sentiment_30d=-0.16), []),
        (_new(sentiment_30d=-0.15), ["sentiment moved"]),  # exactly 0.05
        (_new(sentiment_30d=-0.25), ["sentiment moved"]),
        (_new(sentiment_30d=None), ["sentiment moved"]),  # vanished
        (_new(health_drivers="4 negative tickets in 15 days; CSAT 2.3/5"), []),  # same kinds, new numbers
        (_new(driver_kinds=["negative_tickets:down", "csat:down"]), []),  # a set: order is not a change
        (_new(driver_kinds=["csat:down", "seat_utilisation:down"]), ["drivers changed"]),
        (_new(driver_kinds=["csat:up", "negative_tickets:down"]), ["drivers changed"]),  # direction flipped
        (_new(driver_kinds=["csat:down"]), ["drivers changed"]),
        (_new(health_band="red"), ["health_band changed"]),
        (_new(recommended_action="book a QBR"), ["recommended_action changed"]),
        (_new(health_model_version="v2"), ["health_model_version changed"]),
        (_new(health_band="red", health_score=45.0), ["health_band changed", "score moved"]),
        (_new(some_new_field="x"), ["some_new_field changed"]),  # a field the rule does not know yet
    ],
)
def test_reasons_to_write(new: dict[str, Any], why: list[str]) -> None:
    assert mat.reasons(new, OLD, "001") == why
    assert mat.material(new, OLD, "001") is bool(why)


@pytest.mark.parametrize(
    ("old_value", "new_value", "moved"),
    [(None, 0.0, True), (None, None, False), (0.0, None, True), (0.3, -0.3, True), (-0.0, 0.1, False)],
)
def test_trend_appearing_or_vanishing_is_written(old_value: Any, new_value: Any, moved: bool) -> None:
    assert (
        mat.material(_new(health_trend_30d=new_value), {**OLD, "health_trend_30d": old_value}, "1") is moved
    )


def test_never_written_is_written() -> None:
    assert mat.reasons(_new(), None, "001") == ["never written"]


def test_values_written_before_driver_kinds_compare_by_their_text_without_numbers() -> None:
    legacy = {k: v for k, v in OLD.items() if k != "driver_kinds"}
    assert mat.reasons(_new(health_drivers="5 negative tickets in 16 days; CSAT 2.9/5"), legacy, "1") == []
    assert mat.reasons(_new(health_drivers="Seats 40% used; CSAT 2.9/5"), legacy, "1") == ["drivers changed"]


def test_refresh_is_due_at_the_records_own_age_exactly() -> None:
    age = mat.refresh_age("0012345")
    assert timedelta(days=5) <= age <= timedelta(days=7)
    just_before = (T0 + age - timedelta(seconds=1)).isoformat()
    assert mat.reasons(_new(health_scored_at=just_before), OLD, "0012345") == []
    assert mat.reasons(_new(health_scored_at=(T0 + age).isoformat()), OLD, "0012345") == ["refresh"]
    assert mat.reasons(_new(), {**OLD, "health_scored_at": None}, "1") == ["refresh"]  # unknown age


def test_refresh_is_staggered_by_a_stable_hash_of_the_id() -> None:
    """A book written in one pass is refreshed over two days, every record by day 7, each always on its
    own day (the same id gets the same age in every process)."""
    ids = [f"001{n:012d}" for n in range(3000)]
    ages = [mat.refresh_age(i) for i in ids]
    assert min(ages) >= timedelta(days=5)
    assert max(ages) == timedelta(days=7)
    assert [mat.refresh_age(i) for i in ids[:50]] == ages[:50]

    def due(after: timedelta) -> float:
        at = (T0 + after).isoformat()
        return sum(mat.material(_new(health_scored_at=at), OLD, i) for i in ids) / len(ids)

    assert due(timedelta(days=5) - timedelta(seconds=1)) == 0.0
    assert 0.4 < due(timedelta(days=6)) < 0.6  # about half of the book on each of the two days
    assert due(timedelta(days=7)) == 1.0


def test_no_spread_refreshes_at_the_maximum_age() -> None:
    rule = mat.WriteRule(max_age_days=3, refresh_spread_days=0)
    assert {mat.refresh_age(f"{n}", rule) for n in range(100)} == {timedelta(days=3)}


def test_naive_and_aware_stamps_compare() -> None:
    naive = T0.replace(tzinfo=None).isoformat()
    assert mat.reasons(_new(), {**OLD, "health_scored_at": naive}, "1") == []


@pytest.mark.parametrize(
    ("settings", "rule", "problems"),
    [
        (None, mat.WriteRule(), 0),
        ({"write_back": True}, mat.WriteRule(), 0),
        (
            {"write_rule": {"score_points": 2, "max_age_days": 3}},
            mat.WriteRule(score_points=2, max_age_days=3),
            0,
        ),
        ({"write_rule": {"score_points": 0}}, mat.WriteRule(), 1),
        ({"write_rule": {"score_points": "2"}}, mat.WriteRule(), 1),
        ({"write_rule": {"trend_points": True}}, mat.WriteRule(), 1),
        ({"write_rule": {"sentiment": float("nan")}}, mat.WriteRule(), 1),
        ({"write_rule": {"refresh_spread_days": -1}}, mat.WriteRule(), 1),
        ({"write_rule": {"scor_points": 2}}, mat.WriteRule(), 1),
        ({"write_rule": [1, 2]}, mat.WriteRule(), 1),
        ({"write_rule": {"max_age_days": 1}}, mat.WriteRule(max_age_days=1, refresh_spread_days=0.5), 1),
    ],
    ids=[
        "none",
        "other-keys",
        "override",
        "zero",
        "string",
        "bool",
        "nan",
        "negative",
        "typo",
        "list",
        "spread",
    ],
)
def test_thresholds_are_validated(settings: Any, rule: mat.WriteRule, problems: int) -> None:
    got, found = mat.rule_from(settings)
    assert got == rule
    assert len(found) == problems, found
    assert all(p.startswith("write_rule") for p in found)


def test_driver_kinds_are_metric_and_direction() -> None:
    drivers = [
        {"metric": "csat", "direction": "down", "text": "CSAT 2.1/5"},
        {"key": "seats", "direction": "up", "text": "Seats 95% used"},
        {"text": "3 negative tickets in 14 days"},
    ]
    assert mat.driver_kinds(drivers) == ["csat:down", "seats:up", "text:# negative tickets in # days"]
