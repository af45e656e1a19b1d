"""Security (audit 4): a hostile Zendesk incremental export that moves its end_time one second a page from
1970 (end_of_stream never true) was followed for ever and held the sync worker. A read now stops after
`max_export_pages` pages, or after IDLE_PAGES pages in a row that bring nothing new, with a warning; the
cursor is saved where it stopped, so the next pass continues there and a real bulk import bigger than one
pass still syncs fully over passes (Zendesk allows 10 export requests a minute: a backlog takes passes)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.sandbox import zendesk as zsb
from integrations.zendesk.client import ExportPage, TimePage
from integrations.zendesk.params import IDLE_PAGES, time_start
from tests.integrations.zendesk.conftest import MakeAdapter
from tests.integrations.zendesk.factory import Sandbox

NOW = 1_700_000_000
HANG = 2_000  # calls after which the fake calls the read endless (the old code's behaviour)


class Creeping:
    """An export whose every page holds one item of its start second and ends one second later."""

    def __init__(self, item: Any) -> None:
        self.item, self.starts = item, []

    def __call__(self, start: int, _per_page: int) -> TimePage:
        self.starts.append(start)
        if len(self.starts) > HANG:
            raise AssertionError("followed the export without end")
        return TimePage(items=[self.item(start)], end_time=start + 1, end_of_stream=False)


def _org(fresh: bool) -> Any:
    ids = count(1)
    return lambda start: {
        "id": next(ids) if fresh else 1,
        "name": "x",
        "updated_at": (start if fresh else 0),
    }


def _event(start: int, ids: count = count(1)) -> dict[str, Any]:  # noqa: B008 (one counter: fresh ids)
    return {"id": next(ids), "ticket_id": 1, "timestamp": start, "child_events": []}


def test_creeping_organization_export_stops_at_the_page_cap_and_resumes_there(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(max_export_pages=50)
    fake = Creeping(_org(fresh=True))
    monkeypatch.setattr(adapter._client, "export_organizations", fake)
    with caplog.at_level(logging.WARNING, logger="integrations.zendesk.adapter"):
        pages = list(adapter.read(Stream.ACCOUNTS, None))
    assert len(fake.starts) == 50
    assert sum(len(p.records) for p in pages) == 50  # every organization read is kept
    last = pages[-1].cursor
    assert last is not None
    assert last.token == "at:50;"
    assert "accounts export stopped at 50 after its 50-page limit" in caplog.text
    # the next pass starts where this one stopped (not at watermark - overlap: 1969, a pass's work again)
    again = make_adapter(max_export_pages=50)
    fake2 = Creeping(_org(fresh=True))
    monkeypatch.setattr(again._client, "export_organizations", fake2)
    list(again.read(Stream.ACCOUNTS, last))
    assert fake2.starts[0] == 50


def test_organization_export_bringing_nothing_new_stops_after_the_idle_pages(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = make_adapter()
    fake = Creeping(_org(fresh=False))  # the same organization, same updated_at, every page
    monkeypatch.setattr(adapter._client, "export_organizations", fake)
    pages = list(adapter.read(Stream.ACCOUNTS, None))
    assert len(fake.starts) == IDLE_PAGES + 1  # the first page brought it; IDLE_PAGES more brought nothing
    assert {r.external_id for p in pages for r in p.records} == {"1"}


def test_creeping_ticket_event_export_stops_at_the_page_cap_and_resumes_there(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = make_adapter(max_export_pages=30)
    fake = Creeping(_event)
    monkeypatch.setattr(adapter._client, "ticket_events", fake)
    pages = list(adapter.read(Stream.COMMENTS, None))
    assert len(fake.starts) == 30
    last = pages[-1].cursor
    assert last is not None
    assert last.token is not None
    assert last.token.startswith("at:30;ev1:")
    again = make_adapter(max_export_pages=30)
    fake2 = Creeping(_event)
    monkeypatch.setattr(again._client, "ticket_events", fake2)
    list(again.read(Stream.COMMENTS, last))
    assert fake2.starts[0] == 30


def test_ticket_export_with_fresh_cursors_and_no_tickets_stops(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = make_adapter()
    calls = count(1)

    def export(*_a: Any, **_k: Any) -> ExportPage:
        n = next(calls)
        if n > HANG:
            raise AssertionError("followed the export without end")
        return ExportPage(tickets=[], metric_sets=[], users=[], after_cursor=f"c{n}", end_of_stream=False)

    monkeypatch.setattr(adapter._client, "export_tickets", export)
    pages = list(adapter.read(Stream.TICKETS, None))
    assert len(pages) == IDLE_PAGES
    assert pages[-1].cursor == Cursor(watermark=None, token=f"c{IDLE_PAGES}")  # resumes after them


def _passes(make_adapter: MakeAdapter, stream: Stream, **kw: Any) -> tuple[list[Page], int]:
    """Read `stream` pass after pass from the saved cursor until a read is not cut short."""
    pages: list[Page] = []
    cursor: Cursor | None = None
    for n in range(1, 100):
        got = list(make_adapter(**kw).read(stream, cursor))
        pages += got
        cursor = next((p.cursor for p in reversed(got) if p.cursor is not None), cursor)
        if cursor is None or not (cursor.token or "").startswith("at:"):
            return pages, n
    raise AssertionError("never finished")


def test_a_backlog_bigger_than_a_pass_syncs_fully_over_passes(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """Through the sandbox: organizations at 1 a page and comments at 2 a page, one page per pass."""
    orgs, org_passes = _passes(make_adapter, Stream.ACCOUNTS, page_size=1, max_export_pages=1)
    assert {r.external_id for p in orgs for r in p.records} == {
        str(zsb.org_id(k)) for k in sandbox.ctx.book.customers
    }
    assert org_passes > 1
    comments, comment_passes = _passes(make_adapter, Stream.COMMENTS, page_size=2, max_export_pages=1)
    expected = {
        str(zsb.comment_id(c.key))
        for t in sandbox.ctx.book.tickets.values()
        if t.channel == "zendesk"
        for c in t.comments
    }
    assert {r.external_id for p in comments for r in p.records} == expected
    assert comment_passes > 1


@pytest.mark.parametrize(
    ("token", "expected"),
    [("at:50;", 50), ("at:50;ev1:7,8", 50), ("at:99999999999999999999;", NOW - 61), ("at:x;", 0), (None, 0)],
    ids=["position", "with-event-ids", "past-now-is-clamped", "unreadable", "none"],
)
def test_a_cut_short_read_resumes_at_its_position(token: str | None, expected: int) -> None:
    now = datetime.fromtimestamp(NOW, UTC)
    assert time_start(Cursor(token=token), now, timedelta(minutes=5)) == expected
