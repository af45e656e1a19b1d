"""The Salesforce adapter's account_history stream: AccountHistory changes of the mapped metric fields as
MetricChangeRecords, a CreatedDate watermark, a bounded first look-back, and a clean skip (with a hint) for an
org that does not offer the object. Against the seeded sandbox set through simple-salesforce, and into the
store through the sync pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import sync
from connector.store import models as m
from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.errors import PermissionDeniedError
from integrations.records import MetricChangeRecord
from integrations.salesforce import mapping, queries
from integrations.salesforce.adapter import HISTORY_LOOKBACK, SalesforceAdapter
from integrations.sandbox.book import Book
from integrations.sandbox.ids import salesforce_id
from tests.connector import builders as b
from tests.sandbox_connection import sandbox_connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")

Change = tuple[str, str, datetime, float | None, float | None]


@pytest.fixture
def adapter(sandbox: SandboxSet) -> Iterator[SalesforceAdapter]:
    made = SalesforceAdapter(sandbox_connection(sandbox, "salesforce"))
    yield made
    made.close()


def _book_changes(book: Book, after: datetime, until: datetime) -> set[Change]:
    """(account id, metric, when, value, old value) of each change of active users in (after, until]."""
    out: set[Change] = set()
    for c in book.customers.values():
        if not c.salesforce.present:
            continue
        for (_, old), (when, new) in zip(c.usage_path, c.usage_path[1:], strict=False):
            if new != old and after < when <= until:
                out.add((salesforce_id("Account", c.key), "active_users", when, float(new), float(old)))
    return out


def _changes(pages: list[Page]) -> set[Change]:
    records = [r for p in pages for r in p.records]
    assert all(isinstance(r, MetricChangeRecord) for r in records)
    out = {
        (r.account_external_id, r.metric, r.changed_at, r.value, r.old_value)
        for r in records
        if isinstance(r, MetricChangeRecord)
    }
    assert len(out) == len(records)
    return out


def test_first_read_is_the_looked_back_history_then_nothing_new(
    sandbox: SandboxSet, adapter: SalesforceAdapter
) -> None:
    book = sandbox.ctx.book
    pages = list(adapter.read(Stream.ACCOUNT_HISTORY, None))
    expected = _book_changes(book, book.now - HISTORY_LOOKBACK - timedelta(seconds=1), book.now)
    assert len(expected) > 500
    assert _changes(pages) == expected
    # older changes exist and stay out of a first read
    assert _book_changes(book, datetime(2000, 1, 1, tzinfo=UTC), book.now - HISTORY_LOOKBACK)
    record = next(r for p in pages for r in p.records if isinstance(r, MetricChangeRecord))
    assert record.vendor == "salesforce"
    assert record.external_id.startswith("017")
    assert record.updated_at == record.changed_at
    assert not record.deleted
    assert sum(p.unreadable for p in pages) == 0
    cursor = pages[-1].cursor
    assert cursor is not None
    assert cursor.watermark == book.now

    again = list(adapter.read(Stream.ACCOUNT_HISTORY, cursor))
    assert _changes(again) == set()
    assert again[-1].cursor == cursor


def test_after_a_tick_the_incremental_read_returns_exactly_the_new_changes(
    sandbox: SandboxSet, adapter: SalesforceAdapter
) -> None:
    cursor = list(adapter.read(Stream.ACCOUNT_HISTORY, None))[-1].cursor
    assert cursor is not None
    assert cursor.watermark is not None
    then = sandbox.ctx.book.now
    sandbox.tick(40)  # crosses the 1st of a month at 06:00, when the usage export writes active users
    now = sandbox.ctx.book.now
    pages = list(adapter.read(Stream.ACCOUNT_HISTORY, cursor))
    got = _changes(pages)
    assert got == _book_changes(sandbox.ctx.book, then, now)
    monthly = {when for _, _, when, value, _ in got if value}  # a churn in the window writes 0 on its date
    assert monthly <= {datetime(y, mo, 1, 6, tzinfo=UTC) for y, mo in ((2026, 11), (2026, 12))}
    assert monthly
    assert pages[-1].cursor == Cursor(watermark=now)


def test_the_query_reads_the_mapped_fields_by_created_date() -> None:
    since, until = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 12, tzinfo=UTC)
    fmap = mapping.field_map({"metric_fields": {"seats_used": "Seats_Used__c", "o'brien": "O_Brien__c"}})
    soql = queries.field_history(
        "AccountHistory",
        mapping.select_fields("AccountHistory", fmap),
        list(fmap.metric_fields.values()),
        since,
        until,
    )
    assert soql == (
        "SELECT Id, AccountId, Field, OldValue, NewValue, CreatedDate, IsDeleted FROM AccountHistory "
        "WHERE Field IN ('Seats_Used__c', 'O_Brien__c') "
        "AND CreatedDate >= 2025-01-01T00:00:00Z AND CreatedDate <= 2026-01-01T12:00:00Z "
        "ORDER BY CreatedDate ASC, Id ASC"
    )
    # no metric mapped: nothing to read (an empty IN list is not SOQL)
    assert mapping.objects_for(Stream.ACCOUNT_HISTORY, mapping.field_map({"metric_fields": {}})) == ()


def _row(**overrides: Any) -> dict[str, Any]:
    row = {
        "attributes": {"type": "AccountHistory"},
        "Id": "0175g000000000AAAA",
        "AccountId": "0015g000000000BAAA",
        "Field": "Active_Users__c",
        "OldValue": 10.0,
        "NewValue": 12,
        "CreatedDate": "2026-03-01T06:00:00.000+0000",
        "IsDeleted": False,
    }
    return row | overrides


def test_rows_map_to_metric_changes_and_non_numbers_are_unreadable(adapter: SalesforceAdapter) -> None:
    fmap = mapping.field_map({})
    change = mapping.to_record("AccountHistory", _row(Field="licensed_seats__C", OldValue=None), fmap)
    assert change == MetricChangeRecord(
        vendor="salesforce",
        external_id="0175g000000000AAAA",
        account_external_id="0015g000000000BAAA",
        metric="licensed_seats",
        value=12.0,
        old_value=None,
        changed_at=datetime(2026, 3, 1, 6, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 6, tzinfo=UTC),
    )
    assert mapping.to_record("AccountHistory", _row(Field="created"), fmap) is None  # not a mapped field
    rows = [
        _row(),
        _row(Id="0175g000000000CAAA", NewValue="twelve"),  # a text field mapped as a metric
        _row(Id="0175g000000000DAAA", OldValue=True),
        _row(Id="0175g000000000EAAA", CreatedDate=None),
        _row(Id="0175g000000000FAAA", AccountId=None),
        _row(Id="0175g000000000GAAA", NewValue=None, CreatedDate="2026-04-01T06:00:00.000+0000"),
    ]
    records, stamps, unreadable = adapter._map_rows("AccountHistory", rows)
    assert [r.external_id for r in records] == ["0175g000000000AAAA", "0175g000000000GAAA"]
    assert unreadable == 4
    assert stamps == [datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 4, 1, 6, tzinfo=UTC)]


def test_an_org_without_account_history_skips_the_stream_with_a_hint(
    sandbox: SandboxSet, adapter: SalesforceAdapter
) -> None:
    sandbox.ctx.vendors["salesforce"].extra["hidden_objects"] = {"AccountHistory"}
    with pytest.raises(PermissionDeniedError) as info:
        list(adapter.read(Stream.ACCOUNT_HISTORY, None))
    assert "INVALID_TYPE" in info.value.detail
    assert "field history tracking for Active_Users__c, Licensed_Seats__c in Setup" in info.value.hint
    assert list(adapter.read(Stream.ACCOUNTS, None))[-1].records  # the other streams read as before


def _synced(
    sandbox: SandboxSet, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[sync.InstallationReport, list[m.MetricChange]]:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        tenant = b.tenant(s)
        inst = b.installation(s, Vault(settings), tenant, "salesforce")
        s.expunge(inst)
    monkeypatch.setattr(
        sync, "adapter_for", lambda *_a, **_k: SalesforceAdapter(sandbox_connection(sandbox, "salesforce"))
    )
    report = sync.sync_installation(settings, inst, streams={Stream.ACCOUNTS, Stream.ACCOUNT_HISTORY})
    with b.session(db_url) as s:
        rows = list(s.scalars(select(m.MetricChange).where(m.MetricChange.tenant_id == tenant)))
        s.expunge_all()
    return report, rows


def test_a_sync_stores_the_history_in_metric_changes(
    sandbox: SandboxSet, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, rows = _synced(sandbox, db_url, tmp_path, monkeypatch)
    streams = {s.stream: s for s in report.streams}
    assert [s.status for s in report.streams] == ["ok", "ok"]
    book = sandbox.ctx.book
    expected = _book_changes(book, book.now - HISTORY_LOOKBACK - timedelta(seconds=1), book.now)
    assert streams["account_history"].upserted == len(expected) == len(rows)
    assert {(r.account_external_id, r.metric, r.changed_at, r.value, r.old_value) for r in rows} == expected
    assert {r.vendor for r in rows} == {"salesforce"}
    assert all(r.external_id.startswith("017") for r in rows)


def test_a_sync_without_account_history_skips_that_stream_only(
    sandbox: SandboxSet, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.ctx.vendors["salesforce"].extra["hidden_objects"] = {"AccountHistory"}
    report, rows = _synced(sandbox, db_url, tmp_path, monkeypatch)
    streams = {s.stream: s for s in report.streams}
    assert (streams["accounts"].status, streams["account_history"].status) == ("ok", "skipped")
    assert "turn on field history tracking" in (streams["account_history"].hint or "").lower()
    assert report.status == "ok"
    assert rows == []
