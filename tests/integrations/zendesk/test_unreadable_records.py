"""Security (audit 4): one Zendesk record whose required id or timestamp is missing or unreadable made its
whole page a MalformedResponseError, on every pass, so the stream stopped for the tenant for good. Now that
record is skipped with a warning and counted on its page (Page.unreadable), the rest of the page is read,
and the skipped record's timestamp never moves the cursor. Real pages from the sandbox, one record spoiled."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.base import Page, Stream
from integrations.sandbox import zendesk as zsb
from integrations.zendesk.adapter import ZendeskAdapter
from integrations.zendesk.client import ExportPage, TimePage
from tests.integrations.zendesk.conftest import MakeAdapter
from tests.integrations.zendesk.factory import Sandbox


def _spoil(
    adapter: ZendeskAdapter, method: str, spoil: Callable[[Any], None], mp: pytest.MonkeyPatch
) -> None:
    real = getattr(adapter._client, method)

    def spoiled(*args: Any, **kwargs: Any) -> Any:
        page = real(*args, **kwargs)
        spoil(page)
        return page

    mp.setattr(adapter._client, method, spoiled)


def _ids(pages: list[Page]) -> set[str]:
    return {r.external_id for p in pages for r in p.records}


def test_organizations_without_a_readable_updated_at_are_skipped_alone(
    sandbox: Sandbox,
    make_adapter: MakeAdapter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = list(make_adapter().read(Stream.ACCOUNTS, None))
    adapter = make_adapter()
    bad = {str(zsb.org_id("C000001")), str(zsb.org_id("C000002"))}

    def spoil(page: TimePage) -> None:
        for org in page.items:
            if str(org["id"]) == str(zsb.org_id("C000001")):
                del org["updated_at"]
            elif str(org["id"]) == str(zsb.org_id("C000002")):
                org["updated_at"] = "yesterday-ish"

    _spoil(adapter, "export_organizations", spoil, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="integrations.skips"):
        pages = list(adapter.read(Stream.ACCOUNTS, None))
    assert _ids(pages) == _ids(full) - bad
    assert sum(p.unreadable for p in pages) == 2
    assert f"zendesk organization {zsb.org_id('C000002')!r} skipped: unreadable" in caplog.text
    readable = [r.updated_at for p in full for r in p.records if r.external_id not in bad]
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.watermark == max(readable)  # the skipped ones' times never count


def test_a_ticket_without_an_id_is_skipped_and_the_export_goes_on(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = list(make_adapter(page_size=2).read(Stream.TICKETS, None))
    adapter = make_adapter(page_size=2)
    dropped: list[str] = []

    def spoil(page: ExportPage) -> None:
        if not dropped and page.tickets:
            dropped.append(str(page.tickets[0].pop("id")))
            page.tickets[1]["generated_timestamp"] = "soon"  # not a record field: just no watermark input

    _spoil(adapter, "export_tickets", spoil, monkeypatch)
    pages = list(adapter.read(Stream.TICKETS, None))
    assert _ids(pages) == _ids(full) - set(dropped)
    assert [p.unreadable for p in pages] == [1, 0, 0]
    # the export position is unchanged; the watermark only lacks the unreadable generated_timestamp
    assert [p.cursor.token for p in pages if p.cursor] == [p.cursor.token for p in full if p.cursor]
    assert pages[-1].cursor == full[-1].cursor


@pytest.mark.parametrize("stamp", ["later", 10**20], ids=["text", "out-of-range"])
def test_a_ticket_event_with_an_unreadable_timestamp_never_moves_the_cursor(
    sandbox: Sandbox, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch, stamp: object
) -> None:
    full = list(make_adapter().read(Stream.COMMENTS, None))
    adapter = make_adapter()
    spoiled: list[int] = []

    def spoil(page: TimePage) -> None:
        comments = [e for e in page.items if any(c["event_type"] == "Comment" for c in e["child_events"])]
        newest = max(comments, key=lambda e: int(e["timestamp"]))
        newest["timestamp"] = stamp
        spoiled.append(int(newest["id"]))

    _spoil(adapter, "ticket_events", spoil, monkeypatch)
    pages = list(adapter.read(Stream.COMMENTS, None))
    assert sum(p.unreadable for p in pages) == 1
    assert len(_ids(pages)) == len(_ids(full)) - 1  # its comment is not read; every other one is
    watermark = pages[-1].cursor.watermark if pages[-1].cursor else None
    full_watermark = full[-1].cursor.watermark if full[-1].cursor else None
    assert watermark is not None
    assert full_watermark is not None
    assert watermark <= full_watermark  # not forwards (the out-of-range stamp) ...
    assert watermark > datetime(2000, 1, 1, tzinfo=UTC)  # ... nor backwards to nothing
