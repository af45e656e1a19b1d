"""Pure HubSpot request builders: the windowed keyset search, the naive offset search, chunking, positions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.hubspot import search

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UPPER = datetime(2026, 3, 2, tzinfo=UTC)


def test_first_page_of_an_incremental_window() -> None:
    body = search.window_search(
        modified_property="hs_lastmodifieddate", since=SINCE, upper=UPPER, after_id=None, properties=["name"]
    )
    assert body == {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "BETWEEN",
                        "value": "1772323200000",
                        "highValue": "1772409600000",
                    }
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": ["name"],
        "limit": 200,
    }
    assert "after" not in body  # keyset pages never use `after`, so the 10,000 cap never applies


def test_later_pages_filter_on_the_last_id() -> None:
    body = search.window_search(
        modified_property="lastmodifieddate",
        since=None,
        upper=UPPER,
        after_id="7000123",
        properties=[],
        limit=50,
    )
    assert body["filterGroups"][0]["filters"] == [
        {"propertyName": "lastmodifieddate", "operator": "LTE", "value": "1772409600000"},
        {"propertyName": "hs_object_id", "operator": "GT", "value": "7000123"},
    ]
    assert body["limit"] == 50


def test_offset_search_is_the_naive_pager() -> None:
    body = search.offset_search(
        modified_property="lastmodifieddate", since=SINCE, properties=["email"], after=9800
    )
    assert body["after"] == "9800"
    assert body["filterGroups"][0]["filters"][0]["operator"] == "GTE"


@pytest.mark.parametrize(
    ("n", "sizes"), [(0, []), (1, [1]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50])]
)
def test_chunks(n: int, sizes: list[int]) -> None:
    assert [len(c) for c in search.chunks(list(range(n)), 100)] == sizes


def test_position_round_trip_and_foreign_tokens() -> None:
    pos = search.Position(phase=1, upper=1772409600000, last_id="42")
    assert search.Position.loads(pos.dumps()) == pos
    assert search.Position.loads(None) is None
    assert search.Position.loads("not json") is None
    assert search.Position.loads('{"after_cursor": "abc"}') is None


def test_deletes_checked_from_finished_and_mid_read_tokens() -> None:
    assert search.deletes_checked(search.finished_token(1772409600000)) == 1772409600000
    assert search.finished_token(None) is None
    mid = search.Position(phase=0, upper=5, last_id="9", deletes_checked=1234)
    assert search.Position.loads(mid.dumps()) == mid
    assert search.deletes_checked(mid.dumps()) == 1234
    assert search.deletes_checked(None) is None
    assert search.deletes_checked("garbage") is None
    assert search.Position.loads(search.finished_token(1)) is None  # a finished token starts a fresh read
