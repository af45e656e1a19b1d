"""Per-account rollups: decay, 30/90-day windows, driver excerpts; as_of is explicit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nlp.rollup import TicketRow, account_sentiment, decayed_score, top_drivers, window_stats

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def row(tid: str, days_ago: float, label: str, score: float, excerpt: str = "") -> TicketRow:
    return (tid, AS_OF - timedelta(days=days_ago), label, score, excerpt or f"excerpt {tid}")


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        ([], None),
        ([row("a", 0, "negative", -0.8)], -0.8),
        ([row("a", 0, "negative", -1.0), row("b", 30, "positive", 1.0)], (-1.0 + 0.5) / 1.5),
        ([row("a", 0, "positive", 0.4), row("future", -5, "negative", -1.0)], 0.4),
    ],
    ids=["empty", "one", "half-life-30-days", "future-ignored"],
)
def test_decayed_score(rows: list[TicketRow], want: float | None) -> None:
    got = decayed_score(rows, AS_OF)
    assert got == (None if want is None else pytest.approx(want))


def test_windows_count_and_share() -> None:
    rows = [
        row("a", 1, "negative", -0.9),
        row("b", 10, "positive", 0.5),
        row("c", 45, "negative", -0.4),
        row("d", 120, "negative", -1),
    ]
    w30 = window_stats(rows, AS_OF, 30)
    w90 = window_stats(rows, AS_OF, 90)
    assert (w30.tickets, w30.negative, w30.negative_share) == (2, 1, 0.5)
    assert (w90.tickets, w90.negative) == (3, 2)
    assert w90.negative_share == pytest.approx(2 / 3)
    assert window_stats([], AS_OF, 30).negative_share == 0.0


def test_drivers_are_the_most_negative_recent_excerpts() -> None:
    rows = [
        row("mild", 5, "negative", -0.3),
        row("worst", 20, "negative", -0.95, "The sync deleted our accounts."),
        row("old", 200, "negative", -1.0),
        row("happy", 1, "positive", 0.9),
        row("bad", 2, "negative", -0.7, "Invoices are wrong again."),
    ]
    drivers = top_drivers(rows, AS_OF, limit=2)
    assert [d.ticket_id for d in drivers] == ["worst", "bad"]
    assert drivers[0].excerpt == "The sync deleted our accounts."


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decayed_score([], datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_account_sentiment_bundles_everything() -> None:
    result = account_sentiment([row("a", 3, "negative", -0.6)], AS_OF)
    assert [w.days for w in result.windows] == [30, 90]
    assert result.drivers[0].ticket_id == "a"
    assert result.decayed_score == pytest.approx(-0.6)
