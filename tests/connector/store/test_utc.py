"""Timestamps are UTC-aware datetimes on both engines; a PostgreSQL server in another zone changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from connector.store.db import get_engine
from connector.store.models import UTCDateTime
from tests.conftest import PG_ADMIN_URL


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
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"healthscore_tz_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
            c.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'"))
    except Exception as exc:  # noqa: BLE001 - PostgreSQL down: the conftest's pg fixtures say how CI treats it
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable: {type(exc).__name__}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    get_engine(url).dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgresql_sessions_run_in_utc_whatever_the_server_zone(new_york_db: str) -> None:
    with get_engine(new_york_db).connect() as c:
        assert c.execute(text("SHOW TimeZone")).scalar() == "UTC"
        got = c.execute(text("SELECT TIMESTAMPTZ '2026-12-07 10:00:00+00'")).scalar()
    assert got == datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert got.tzinfo is UTC
