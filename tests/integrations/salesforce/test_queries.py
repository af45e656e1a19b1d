"""SOQL builders (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.salesforce import queries

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0, "2026-06-01T12:00:00Z"),
        (datetime(2026, 6, 1, 14, 0, 5, 999, tzinfo=timezone(timedelta(hours=2))), "2026-06-01T12:00:05Z"),
    ],
    ids=["utc", "offset-converted"],
)
def test_soql_datetime(value: datetime, expected: str) -> None:
    assert queries.soql_datetime(value) == expected


def test_soql_datetime_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        queries.soql_datetime(datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [("plain", "'plain'"), ("O'Brien", "'O\\'Brien'"), ("a\\b", "'a\\\\b'")],
    ids=["plain", "quote", "backslash"],
)
def test_soql_string(raw: str, quoted: str) -> None:
    assert queries.soql_string(raw) == quoted


def test_incremental_first_read_has_only_the_upper_bound() -> None:
    soql = queries.incremental("Account", ["Id", "Name", "Id"], None, T0)
    assert soql == (
        "SELECT Id, Name FROM Account WHERE SystemModstamp <= 2026-06-01T12:00:00Z "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_incremental_window_is_inclusive_on_both_ends() -> None:
    soql = queries.incremental("Case", ["Id"], T0 - timedelta(days=1), T0)
    assert "WHERE SystemModstamp >= 2026-05-31T12:00:00Z AND SystemModstamp <= 2026-06-01T12:00:00Z" in soql


def test_incremental_needs_fields() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        queries.incremental("Case", [], None, T0)
