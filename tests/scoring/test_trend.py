"""Score change over 7/30/90 days from snapshot history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scoring.trend import Trend, change_over, score_changed, trend
from tests.scoring.conftest import AS_OF

HISTORY = [
    (AS_OF - timedelta(days=100), 40.0),
    (AS_OF - timedelta(days=31), 55.0),
    (AS_OF - timedelta(days=8), 70.0),
    (AS_OF - timedelta(days=2), 68.0),
]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param(7, 75.0 - 70.0, id="7d-uses-latest-at-or-before-cutoff"),
        pytest.param(30, 75.0 - 55.0, id="30d"),
        pytest.param(90, 75.0 - 40.0, id="90d"),
        pytest.param(120, None, id="history-too-short"),
    ],
)
def test_change_over(days: int, expected: float | None) -> None:
    assert change_over(HISTORY, 75.0, AS_OF, days) == expected


def test_snapshot_exactly_at_cutoff_counts() -> None:
    assert change_over([(AS_OF - timedelta(days=7), 60.0)], 61.5, AS_OF, 7) == 1.5


def test_trend_order_independent() -> None:
    assert trend(list(reversed(HISTORY)), 75.0, AS_OF) == Trend(
        change_7d=5.0, change_30d=20.0, change_90d=35.0
    )


def test_trend_without_score() -> None:
    assert trend(HISTORY, None, AS_OF) == Trend(change_7d=None, change_30d=None, change_90d=None)


@pytest.mark.parametrize(
    ("previous", "score", "changed"),
    [
        (70.0, 74.9, False),
        (70.0, 75.0, True),
        (70.0, 65.0, True),
        (None, 50.0, True),
        (50.0, None, True),
        (None, None, False),
    ],
    ids=["below-delta", "at-delta", "down", "appeared", "vanished", "never"],
)
def test_score_changed(previous: float | None, score: float | None, changed: bool) -> None:
    assert score_changed(previous, score, 5.0) is changed
