"""Timestamps are UTC-aware datetimes on both engines; a PostgreSQL server in another zone changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from connector.store.db import get_engine
from connector.store.models import UTCDateTime
from tests.conftest import throwaway_pg


def test_utc_values_pass_through_and_others_are_converted() -> None:
    t = UTCDateTime()
    utc = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert t.process_result_value(utc, None) is utc  # no copy for the common case
    assert t.process_bind_param(utc, None) is utc
    paris = datetime(2026, 12, 7, 11, tzinfo=ZoneInfo("Europe/Paris"))
    assert t.process_result_value(paris, None) == utc
    assert t.process_result_value(paris, None).tzinfo is UTC  # type: ignore[union-attr]
    assert t.process_bind_param(datetime(2026, 12, 7, 12, tzinfo=timezone(timedelta(hours=2))), None) == utc
    naive = utc.replace(tzinfo=None)  # what SQLite gives back: UTC wall time without a zone
    assert t.process_result_value(naive, None) == utc
    assert t.process_result_value(None, None) is None
    with pytest.raises(ValueError, match="naive"):
        t.process_bind_param(naive, None)


@pytest.fixture
def new_york_db() -> Iterator[str]:
    """A database whose default TimeZone is America/New_York (as a server set up elsewhere might be)."""
    with throwaway_pg("healthscore_tz", "timezone TO 'America/New_York'") as url:
        yield url


def test_postgresql_sessions_run_in_utc_whatever_the_server_zone(new_york_db: str) -> None:
    with get_engine(new_york_db).connect() as c:
        assert c.execute(text("SHOW TimeZone")).scalar() == "UTC"
        got = c.execute(text("SELECT TIMESTAMPTZ '2026-12-07 10:00:00+00'")).scalar()
    assert got == datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert got.tzinfo is UTC
