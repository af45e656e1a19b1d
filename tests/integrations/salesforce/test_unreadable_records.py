"""Security (audit 4): one Salesforce row without a readable Id or SystemModstamp made its whole page a
MalformedResponseError, on every pass, so the stream stopped for the tenant for good. Now that row is
skipped with a warning and counted on its page (Page.unreadable), the rest of the page is read, and the
skipped row's stamp never moves the cursor. Real query pages from the sandbox, rows spoiled on the way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from integrations.base import Page, Stream
from integrations.salesforce.adapter import SalesforceAdapter
from tests.integrations.salesforce.conftest import AdapterFactory, Recorder
from tests.integrations.salesforce.factory import SalesforceSandbox, make_book, served
from tests.integrations.salesforce.test_adapter import _adapter


def _spoil(
    adapter: SalesforceAdapter, spoil: Callable[[list[dict[str, Any]]], None], mp: pytest.MonkeyPatch
) -> None:
    """Spoil the first page's rows only (query); later pages (query_more) come as sent."""
    real = adapter._client.query

    def spoiled(*args: Any, **kwargs: Any) -> Any:
        page = real(*args, **kwargs)
        spoil(page["records"])
        return page

    mp.setattr(adapter._client, "query", spoiled)


def _ids(pages: list[Page]) -> set[str]:
    return {r.external_id for p in pages for r in p.records}


def test_accounts_without_an_id_or_a_readable_modstamp_are_skipped_alone(
    make_adapter: AdapterFactory,
    sfbox: SalesforceSandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = list(make_adapter().read(Stream.ACCOUNTS, None))
    adapter = make_adapter()
    lost: list[str] = []

    def spoil(rows: list[dict[str, Any]]) -> None:
        lost.extend([rows[0]["Id"], rows[1]["Id"], rows[2]["Id"]])
        rows[0]["Id"] = None
        del rows[1]["SystemModstamp"]
        rows[2]["SystemModstamp"] = "0001-01-01T00:00:00.000+1400"  # before year 1 in UTC

    _spoil(adapter, spoil, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="integrations.skips"):
        pages = list(adapter.read(Stream.ACCOUNTS, None))
    assert _ids(pages) == _ids(full) - set(lost)
    assert sum(p.unreadable for p in pages) == 3
    assert (
        f"salesforce Account {lost[1]!r} skipped: unreadable (MappingError: row without SystemModstamp)"
        in (caplog.text)
    )
    assert pages[-1].cursor == full[-1].cursor  # the query's upper bound (the sync start), as before


def test_a_skipped_rows_stamp_does_not_move_a_mid_read_cursor(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pages (2,100 contacts): page 1's newest row is unreadable, so page 1's cursor is the newest
    readable stamp (the row is re-read from there if the read stops), never past it."""
    with served(make_book(105, contacts_per=20, deals_per=0, tickets_per=0)) as sb:
        full = list(_adapter(sb, recorder).read(Stream.CONTACTS, None))
        adapter = _adapter(sb, recorder)

        def spoil(rows: list[dict[str, Any]]) -> None:
            rows[-1]["SystemModstamp"] = "tomorrow"

        _spoil(adapter, spoil, monkeypatch)
        pages = list(adapter.read(Stream.CONTACTS, None))
        adapter.close()
    assert [len(p.records) for p in pages] == [1999, 100]
    assert [p.unreadable for p in pages] == [1, 0]
    first, first_full = pages[0].cursor, full[0].cursor
    assert first is not None
    assert first_full is not None
    assert first.watermark is not None
    assert first_full.watermark is not None
    assert first.watermark <= first_full.watermark
    assert pages[-1].cursor == full[-1].cursor
