"""The account_history stream's pieces: history entries → MetricChangeRecords (pure), the client reading
`propertiesWithHistory` from raw JSON, and the read plan's cost on a hand-built book (history.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import Stream
from integrations.hubspot.client import _object, _record
from integrations.hubspot.history import external_id, history_properties, to_changes
from integrations.hubspot.mapping import HistoryEntry, HubRecord, Settings
from integrations.records import MetricChangeRecord
from integrations.sandbox.book import Book
from integrations.sandbox.hubspot import company_id
from tests.integrations.hubspot.book_factory import make_book
from tests.integrations.hubspot.conftest import Harness

T0 = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)


def _rec(entries: dict[str, list[tuple[str | None, str | None]]]) -> HubRecord:
    return HubRecord(
        id="5000001",
        properties={},
        history={k: tuple(HistoryEntry(value=v, timestamp=t) for v, t in e) for k, e in entries.items()},
    )


def test_each_entry_is_a_change_empty_clears_and_non_numbers_are_not_levels() -> None:
    rec = _rec(
        {
            "active_users": [
                ("23", "2026-10-01T06:00:00.000Z"),
                ("", "2026-09-15T12:00:00Z"),
                ("lots", "2026-09-10T00:00:00Z"),
                ("NaN", "2026-09-05T00:00:00Z"),
                ("17.5", "1788242400000"),  # epoch ms: 2026-09-01T06:00Z
            ],
            "licensed_seats": [("40", "2025-01-01T00:00:00Z")],
            "not_asked": [("1", "2026-10-01T00:00:00Z")],
        }
    )
    got, bad = to_changes(rec, ["active_users", "licensed_seats"], None)
    assert bad == 0
    assert [(r.metric, r.value, r.changed_at) for r in got] == [
        ("active_users", 23.0, T0),
        ("active_users", None, datetime(2026, 9, 15, 12, tzinfo=UTC)),
        ("active_users", 17.5, datetime(2026, 9, 1, 6, tzinfo=UTC)),
        ("licensed_seats", 40.0, datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    first = got[0]
    assert first == MetricChangeRecord(
        vendor="hubspot",
        external_id=f"5000001:active_users:{int(T0.timestamp() * 1000)}",
        account_external_id="5000001",
        metric="active_users",
        value=23.0,
        changed_at=T0,
        updated_at=T0,
    )


def test_entries_before_the_window_start_are_left_out_and_unreadable_ones_counted() -> None:
    rec = _rec(
        {
            "active_users": [
                ("30", "2026-11-01T06:00:00Z"),
                ("29", "not a time"),
                ("28", None),
                ("23", "2026-10-01T06:00:00Z"),
            ]
        }
    )
    got, bad = to_changes(rec, ["active_users"], datetime(2026, 10, 31, tzinfo=UTC))
    assert [r.value for r in got] == [30.0]
    assert bad == 2


def test_an_external_id_stays_within_its_column() -> None:
    long = "x" * 250
    eid = external_id("5000001", long, T0)
    assert len(eid) <= 200
    assert eid.startswith("5000001:")
    assert eid.endswith(f":{int(T0.timestamp() * 1000)}")
    assert eid != external_id("5000001", "y" * 250, T0)
    assert external_id("5000001", "active_users", T0) == "5000001:active_users:1790834400000"


def test_only_number_metrics_have_their_history_read() -> None:
    s = Settings.from_mapping(
        {
            "metric_properties": {
                "active_users": "number",
                "beta": "bool",
                "seats": "number",
                "kickoff": "date",
            }
        }
    )
    assert history_properties(s) == ["active_users", "seats"]
    assert history_properties(Settings()) == ["active_users", "licensed_seats"]


def test_the_client_reads_history_from_raw_json_and_tolerates_odd_shapes() -> None:
    raw = {
        "id": "5000001",
        "properties": {"active_users": "23", "hs_lastmodifieddate": "2026-10-01T06:00:00.000Z"},
        "propertiesWithHistory": {
            "active_users": [
                {"value": "23", "timestamp": "2026-10-01T06:00:00.000Z", "sourceType": "INTEGRATION"},
                "junk",
                {"value": 21, "timestamp": 5},
            ],
            "licensed_seats": "not a list",
        },
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2026-10-01T06:00:00.000Z",
        "archived": False,
    }
    rec = _record(_object(raw))
    assert rec.history == {
        "active_users": (
            HistoryEntry(value="23", timestamp="2026-10-01T06:00:00.000Z"),
            HistoryEntry(value="21", timestamp=None),
        )
    }
    got, bad = to_changes(rec, ["active_users", "licensed_seats"], None)
    assert [r.value for r in got] == [23.0]
    assert bad == 1
    assert _record(_object({"id": "1", "properties": {}})).history == {}


# --- the read plan's cost, measured on the sandbox ---------------------------------------------------------

N = 450


@pytest.fixture
def big(make_harness: Callable[[Book], Harness]) -> Harness:
    return make_harness(make_book(customers=N, contacts_per=0, deals_per=0, tickets_per=0))


def test_a_first_read_lists_and_an_incremental_one_searches_then_batch_reads(big: Harness) -> None:
    """First pass: ⌈n/50⌉ list pages (searching first would cost ⌈n/200⌉ more). Then m changed companies:
    ⌈m/200⌉ searches + ⌈m/50⌉ batch reads of ≤ 50, fewer than re-listing all n."""
    adapter = big.adapter()
    pages = list(adapter.read(Stream.ACCOUNT_HISTORY, None))
    assert sum(len(p.records) for p in pages) == 2 * N  # the hand-built book: one value per metric
    assert big.calls() == big.calls("GET /crm/v3/objects/companies") == math.ceil(N / 50)
    cursor = pages[-1].cursor
    assert cursor is not None

    changed = sorted(big.ctx.book.customers)[:120]
    when = big.advance(timedelta(days=1))
    for key in changed:
        c = big.ctx.book.customers[key]
        c.active_users += 1
        c.usage_path.append((when - timedelta(hours=1), c.active_users))
        c.updated_at = c.hubspot.updated_at = when - timedelta(hours=1)
    big.ctx.counters.reset()
    got = [r for p in adapter.read(Stream.ACCOUNT_HISTORY, cursor) for r in p.records]
    assert sorted((r.account_external_id, r.value) for r in got) == sorted(
        (company_id(k), float(big.ctx.book.customers[k].active_users)) for k in changed
    )
    searches = big.calls("POST /crm/v3/objects/companies/search")
    batches = big.calls("POST /crm/v3/objects/companies/batch/read")
    assert (searches, batches) == (math.ceil(120 / 200), math.ceil(120 / 50))
    assert searches + batches < math.ceil(N / 50)


def test_small_pages_chunk_the_batch_reads(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(make_book(customers=7, contacts_per=0, deals_per=0, tickets_per=0))
    adapter = h.adapter(page_size=3)
    cursor = list(adapter.read(Stream.ACCOUNT_HISTORY, None))[-1].cursor
    assert h.calls("GET /crm/v3/objects/companies") == 3  # pages of 3
    when = h.advance(timedelta(days=1))
    for c in h.ctx.book.customers.values():
        c.usage_path.append((when, 1))
        c.updated_at = c.hubspot.updated_at = when
    h.ctx.counters.reset()
    got = [r for p in adapter.read(Stream.ACCOUNT_HISTORY, cursor) for r in p.records]
    assert len(got) == 7
    assert h.calls("POST /crm/v3/objects/companies/search") == 3
    assert h.calls("POST /crm/v3/objects/companies/batch/read") == 3
