"""Pure request builders: host split for zenpy, export start clamping, chunks, polling plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.cursors import Cursor
from integrations.zendesk.params import (
    EVENT_CURSOR_MAX_IDS,
    chunks,
    clamp_start,
    event_start,
    event_token,
    export_position,
    poll_delays,
    split_host,
    time_start,
    update_many_body,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.zendesk.com", ("acme", "zendesk.com")),
        ("https://127.0.0.1:8443", ("127", "0.0.1:8443")),
        ("https://acme.zendesk.com/", ("acme", "zendesk.com")),
    ],
    ids=["vendor", "sandbox", "trailing-slash"],
)
def test_split_host_rebuilds_the_url(url: str, expected: tuple[str, str]) -> None:
    assert split_host(url) == expected
    sub, domain = split_host(url)
    assert f"https://{sub}.{domain}" == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://acme.zendesk.com", "https://localhost", "acme"], ids=["http", "nodot", "bare"]
)
def test_split_host_rejects(url: str) -> None:
    with pytest.raises(ValueError, match="Zendesk base_url"):
        split_host(url)


def test_clamp_start_keeps_out_of_the_refused_minute() -> None:
    assert clamp_start(NOW, NOW) == int((NOW - timedelta(seconds=61)).timestamp())
    hour_ago = NOW - timedelta(hours=1)
    assert clamp_start(hour_ago, NOW) == int(hour_ago.timestamp())
    assert clamp_start(datetime(1960, 1, 1, tzinfo=UTC), NOW) == 0


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        (None, ("start_time", 0)),
        (
            Cursor(watermark=NOW - timedelta(hours=1)),
            ("start_time", int((NOW - timedelta(minutes=65)).timestamp())),
        ),
        (Cursor(watermark=NOW, token="abc"), ("cursor", "abc")),
        (Cursor(watermark=NOW), ("start_time", int((NOW - timedelta(minutes=5)).timestamp()))),
    ],
    ids=["full", "watermark-minus-overlap", "saved-token", "recent-watermark"],
)
def test_export_position(cursor: Cursor | None, expected: tuple[str, object]) -> None:
    assert export_position(cursor, NOW, OVERLAP) == expected


def test_time_start_full_and_incremental() -> None:
    assert time_start(None, NOW, OVERLAP) == 0
    assert time_start(Cursor(watermark=NOW), NOW, OVERLAP) == int((NOW - OVERLAP).timestamp())


def test_chunks_and_update_many_body() -> None:
    assert [len(c) for c in chunks(list(range(250)), 100)] == [100, 100, 50]
    assert list(chunks([], 100)) == []
    assert update_many_body([(7, {"k": 1})]) == [{"id": 7, "organization_fields": {"k": 1}}]


def test_poll_delays_double_up_to_the_cap() -> None:
    assert poll_delays(6) == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert poll_delays(0) == []


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        (None, (0, frozenset())),
        (
            Cursor(watermark=NOW - timedelta(hours=1)),
            (int((NOW - timedelta(hours=1, minutes=5)).timestamp()), frozenset()),
        ),
        (
            Cursor(watermark=NOW - timedelta(hours=1), token="ev1:7,5"),
            (int((NOW - timedelta(hours=1, minutes=5)).timestamp()), frozenset({5, 7})),
        ),
        (
            Cursor(watermark=NOW - timedelta(hours=1), token="b2xkLXRpY2tldC1jdXJzb3I"),
            (int((NOW - timedelta(hours=1, minutes=5)).timestamp()), frozenset()),
        ),
        (
            Cursor(watermark=NOW + timedelta(minutes=10), token="ev1:"),
            (int((NOW - timedelta(seconds=61)).timestamp()), frozenset()),
        ),
    ],
    ids=["full", "no-token", "event-token", "ticket-export-token", "clamped-out-of-last-minute"],
)
def test_event_start(cursor: Cursor | None, expected: tuple[int, frozenset[int]]) -> None:
    assert event_start(cursor, NOW, OVERLAP) == expected


def test_event_token_keeps_the_overlap_window_newest_first() -> None:
    recent = {1: 1000, 2: 1700, 3: 1699, 4: 1300, 5: 1400}
    assert event_token(recent, 1700, OVERLAP) == "ev1:2,3,5"  # 1 and 4 are older than 1700 - 300 s
    assert event_start(Cursor(watermark=NOW, token=event_token(recent, 1700, OVERLAP)), NOW, OVERLAP)[1] == {
        2,
        3,
        5,
    }


def test_event_token_is_bounded() -> None:
    recent = dict.fromkeys(range(EVENT_CURSOR_MAX_IDS + 50), 100)
    ids = event_token(recent, 100, OVERLAP).removeprefix("ev1:").split(",")
    assert len(ids) == EVENT_CURSOR_MAX_IDS
    assert ids[0] == str(EVENT_CURSOR_MAX_IDS + 49)  # the newest ids are the ones kept
