"""A Zendesk record stamped in the future (clock skew, an import, a misbehaving server) but readable is
stored, and must not move the cursor past the records of the read still to come: the cursor of each
page stays at or before that page's end_time (for the ticket export, its last ticket's stamp) and the
sync start. Before, one such record on page 1 put page 1's cursor at the sync start; a pass that then
stopped (a crash, a failing page 2, the page cap) resumed at sync start - 5 min and never read what
lay between. Real sandbox pages with one record's stamp moved a day ahead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integrations.base import Page, Stream
from integrations.zendesk.adapter import ZendeskAdapter
from integrations.zendesk.client import ExportPage, TimePage
from tests.integrations.zendesk.conftest import MakeAdapter
from tests.integrations.zendesk.factory import Sandbox


def _spoil_first(
    adapter: ZendeskAdapter, method: str, spoil: Callable[[Any], None], mp: pytest.MonkeyPatch
) -> list[Any]:
    """Spoil the first page `method` answers; returns the pages as the adapter saw them."""
    real, seen = getattr(adapter._client, method), []

    def spoiled(*args: Any, **kwargs: Any) -> Any:
        page = real(*args, **kwargs)
        if not seen:
            spoil(page)
        seen.append(page)
        return page

    mp.setattr(adapter._client, method, spoiled)
    return seen


def _ids(pages: list[Page]) -> set[str]:
    return {r.external_id for p in pages for r in p.records}


def _first_then_stop(adapter: ZendeskAdapter, stream: Stream) -> Page:
    reading: Iterator[Page] = adapter.read(stream, None)
    first = next(reading)
    reading.close()  # the pass stops after committing page 1 (a crash, page 2 failing)
    return first


def _future(sandbox: Sandbox) -> datetime:
    return sandbox.ctx.book.now + timedelta(days=1)


def test_a_future_comment_event_is_sent_and_page_1_cursor_stays_at_its_end_time(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = list(make_adapter(page_size=2).read(Stream.COMMENTS, None))
    adapter = make_adapter(page_size=2)
    future = int(_future(sandbox).timestamp())
    moved: list[int] = []

    def spoil(page: TimePage) -> None:
        event = next(e for e in page.items if any(c["event_type"] == "Comment" for c in e["child_events"]))
        event["timestamp"] = future
        moved.extend(int(c["id"]) for c in event["child_events"] if c["event_type"] == "Comment")

    seen = _spoil_first(adapter, "ticket_events", spoil, monkeypatch)
    first = _first_then_stop(adapter, Stream.COMMENTS)
    assert {str(i) for i in moved} <= _ids([first])  # the future-dated comment is stored
    assert first.cursor is not None
    assert first.cursor.watermark is not None
    end_time = seen[0].end_time
    assert first.cursor.watermark <= datetime.fromtimestamp(end_time, UTC)
    # the next pass resumes from page 1's cursor and reads every other comment, the future one once
    rest = list(make_adapter(page_size=2).read(Stream.COMMENTS, first.cursor))
    assert _ids([first]) | _ids(rest) == _ids(full)
    assert not {str(i) for i in moved} & _ids(rest)


def test_a_future_organization_is_stored_and_page_1_cursor_stays_at_its_end_time(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = list(make_adapter(page_size=1).read(Stream.ACCOUNTS, None))
    assert len(full) >= 3
    adapter = make_adapter(page_size=1)
    future = _future(sandbox).strftime("%Y-%m-%dT%H:%M:%SZ")

    def spoil(page: TimePage) -> None:
        page.items[0]["updated_at"] = future

    seen = _spoil_first(adapter, "export_organizations", spoil, monkeypatch)
    first = _first_then_stop(adapter, Stream.ACCOUNTS)
    assert [r.updated_at for r in first.records] == [_future(sandbox).replace(microsecond=0)]
    assert first.cursor is not None
    assert first.cursor.watermark is not None
    assert first.cursor.watermark <= datetime.fromtimestamp(seen[0].end_time, UTC)
    rest = list(make_adapter(page_size=1).read(Stream.ACCOUNTS, first.cursor))
    assert _ids([first]) | _ids(rest) == _ids(full)


def test_a_future_generated_timestamp_keeps_page_1_watermark_at_its_last_ticket(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket export resumes from its exact after_cursor; its watermark (the fallback position without
    one) follows the same rule: not past the page's last ticket."""
    adapter = make_adapter(page_size=2)
    future = int(_future(sandbox).timestamp())

    def spoil(page: ExportPage) -> None:
        page.tickets[0]["generated_timestamp"] = future

    seen = _spoil_first(adapter, "export_tickets", spoil, monkeypatch)
    first = _first_then_stop(adapter, Stream.TICKETS)
    assert len(first.records) == 2  # the future-stamped ticket is read
    last = datetime.fromtimestamp(int(seen[0].tickets[-1]["generated_timestamp"]), UTC)
    assert first.cursor is not None
    assert first.cursor.watermark == last


def test_a_read_cut_short_at_a_future_end_time_resumes_at_the_sync_start(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    """A page whose end_time is a day ahead, then the page cap: the next pass must start no later than
    this one did (it clamped to its own later clock, skipping everything changed meanwhile)."""
    adapter = make_adapter(max_export_pages=1)
    now = int(sandbox.ctx.book.now.timestamp())
    future = int(_future(sandbox).timestamp())

    def export(start: int, _per_page: int) -> TimePage:
        item = {"id": 7, "name": "x", "updated_at": now - 600}
        return TimePage(items=[item], end_time=future, end_of_stream=False)

    monkeypatch.setattr(adapter._client, "export_organizations", export)
    pages = list(adapter.read(Stream.ACCOUNTS, None))
    last = pages[-1].cursor
    assert last is not None
    assert last.token == f"at:{now};"
    assert last.watermark == datetime.fromtimestamp(now - 600, UTC)
