"""Issue 5: an incremental sync with nothing changed costs one search per object type and sends nothing.

The book stamps every object within the 5-minute overlap of the watermark, so an idle read re-reads all of
them: without the cursor's memory of delivered records (delivered.py) each re-read page of a stream with
associations costs its association batch reads too, and every record is sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.hubspot import search
from integrations.hubspot.adapter import SPECS
from integrations.records import DealRecord
from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Book
from tests.integrations.hubspot.book_factory import NOW, make_book
from tests.integrations.hubspot.conftest import Harness

ASSOC = "POST /crm/v4/associations/*"
CRM = "* /crm/*"
STREAMS = [Stream.ACCOUNTS, Stream.CONTACTS, Stream.DEALS, Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS]


def crowded_book() -> Book:
    """A small book whose every object was last modified in the same two minutes (all in the overlap)."""
    book = make_book(customers=3)
    base = NOW - timedelta(hours=1)
    step = 0

    def stamp() -> datetime:
        nonlocal step
        step += 1
        return base - timedelta(seconds=step)

    for c in book.customers.values():
        c.updated_at = c.hubspot.updated_at = stamp()
    for p in book.contacts.values():
        p.updated_at = stamp()
    for d in book.deals.values():
        d.updated_at = stamp()
    for t in book.tickets.values():
        t.updated_at = stamp()
        for comment in t.comments:
            comment.created_at = stamp()
    for s in book.surveys.values():
        s.updated_at = stamp()
    return book


def read_all(h: Harness, stream: Stream, cursor: Cursor | None) -> list[Page]:
    return list(h.adapter().read(stream, cursor))


def final(pages: list[Page]) -> Cursor:
    cursor = pages[-1].cursor
    assert cursor is not None
    return cursor


def sent(pages: list[Page]) -> list[str]:
    return [r.external_id for p in pages for r in p.records]


@pytest.mark.parametrize("stream", STREAMS, ids=[s.value for s in STREAMS])
def test_idle_incremental_costs_one_search_per_object_type(
    make_harness: Callable[[Book], Harness], stream: Stream
) -> None:
    h = make_harness(crowded_book())
    full = read_all(h, stream, None)
    delivered = sent(full)
    assert delivered
    h.advance(timedelta(minutes=10))  # within the hour: archived rows are not listed again
    h.ctx.counters.reset()
    idle = read_all(h, stream, final(full))
    assert sent(idle) == []
    assert h.calls(ASSOC) == 0
    assert h.calls(CRM) == len(SPECS[stream].object_types)  # comments: emails + notes; the rest: 1
    assert final(idle).watermark == final(full).watermark
    # And the next idle read still remembers them (the memory is carried on, not used up).
    h.ctx.counters.reset()
    again = read_all(h, stream, final(idle))
    assert sent(again) == []
    assert h.calls(CRM) == len(SPECS[stream].object_types)


@pytest.mark.parametrize("stream", STREAMS, ids=[s.value for s in STREAMS])
def test_an_old_token_still_works_and_resends_the_overlap(
    make_harness: Callable[[Book], Harness], stream: Stream
) -> None:
    """A token of the format before this memory (only `deletes_checked`) reads as before: the overlap is
    re-sent, and a search page of a stream with associations pays its association reads."""
    h = make_harness(crowded_book())
    full = read_all(h, stream, None)
    h.advance(timedelta(minutes=10))
    h.ctx.counters.reset()
    old = Cursor(watermark=final(full).watermark, token=search.finished_token(search.epoch_ms(NOW)))
    pages = read_all(h, stream, old)
    assert sorted(sent(pages)) == sorted(sent(full))
    spec = SPECS[stream]
    assert h.calls(CRM) - h.names() == len(spec.object_types) * (1 + len(spec.links))
    assert h.names() <= 1  # names for the re-sent companies (owners) or deals (stages)
    # The read left the new memory behind: the next one is idle.
    h.ctx.counters.reset()
    assert sent(read_all(h, stream, final(pages))) == []
    assert h.calls(CRM) == len(spec.object_types)


def test_a_record_modified_again_is_sent_again_with_its_association(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(crowded_book())
    full = read_all(h, Stream.DEALS, None)
    now = h.advance(timedelta(minutes=10))
    deal = next(iter(h.ctx.book.deals.values()))
    deal.updated_at = now - timedelta(minutes=1)
    h.ctx.counters.reset()
    pages = read_all(h, Stream.DEALS, final(full))
    records = [r for p in pages for r in p.records]
    assert len(records) == 1
    assert isinstance(records[0], DealRecord)
    assert records[0].updated_at == deal.updated_at
    assert records[0].account_external_id is not None
    # the search and one association read for the one changed deal, + its stage label lookup
    assert h.calls(CRM) == 3
    assert h.names() == 1


def test_a_resumed_read_keeps_what_was_delivered_before_the_crash(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(crowded_book())
    full = read_all(h, Stream.TICKETS, None)
    now = h.advance(timedelta(minutes=10))
    ticket = next(t for t in h.ctx.book.tickets.values() if t.channel == "crm")
    ticket.updated_at = now - timedelta(minutes=1)
    # Three-row pages: the crash comes after the first committed page of the incremental read.
    reader = h.adapter(page_size=3).read(Stream.TICKETS, final(full))
    first = next(reader)
    reader.close()
    assert first.cursor is not None
    h.ctx.counters.reset()
    rest = list(h.adapter(page_size=3).read(Stream.TICKETS, first.cursor))
    assert sent([first]) + sent(rest) == [hs.numeric_id("ticket", ticket.key)]
    assert h.calls(ASSOC) <= 1  # only a page holding the changed ticket pays an association read
