"""Measured: list endpoints vs windowed search for a full read (the decision documented in search.py).

A full read of n objects: list pages hold 100 and carry associations inline; search pages hold 200 but
need one v4 association batch read per page. So search halves the calls for streams without associations
(companies, contacts) and costs up to one call more for those with them (deals, tickets, comments,
surveys): the adapter lists those on a full read and searches on incremental reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import pytest

from integrations.base import Stream
from integrations.cursors import Cursor
from integrations.hubspot.client import HubSpotClient
from integrations.sandbox.book import Book
from tests.integrations.hubspot.book_factory import NOW, make_book
from tests.integrations.hubspot.conftest import Harness

N = 450


def list_all(client: HubSpotClient, object_type: str, links: tuple[str, ...]) -> int:
    """A list-based full read: GET …?limit=100&associations=… until no paging; returns rows."""
    after, rows = None, 0
    while True:
        page = client.list_page(
            object_type, after=after, properties=["hs_lastmodifieddate"], archived=False, associations=links
        )
        rows += len(page.records)
        if page.next_after is None:
            return rows
        after = page.next_after


@pytest.fixture
def big(make_harness: Callable[[Book], Harness]) -> Harness:
    return make_harness(make_book(customers=N, contacts_per=0, deals_per=1, tickets_per=0))


@pytest.mark.parametrize(
    ("stream", "object_type", "links"),
    [(Stream.ACCOUNTS, "companies", ()), (Stream.DEALS, "deals", ("companies",))],
    ids=["companies", "deals"],
)
def test_full_read_takes_the_cheaper_of_list_and_search(
    big: Harness, stream: Stream, object_type: str, links: tuple[str, ...]
) -> None:
    client = HubSpotClient(big.connection())
    assert list_all(client, object_type, links) == N
    list_cost = big.calls()
    big.ctx.counters.reset()
    # A cursor far in the past forces the windowed search over every row.
    old = Cursor(watermark=NOW - timedelta(days=3650))
    assert sum(len(p.records) for p in big.adapter().read(stream, old)) == N
    search_cost = big.calls(f"POST /crm/v3/objects/{object_type}/search") + big.calls(
        "POST /crm/v4/associations/*"
    )
    big.ctx.counters.reset()
    assert sum(len(p.records) for p in big.adapter().read(stream, None)) == N
    assert big.names() == 1  # owner names (companies) or stage labels (deals): once per adapter
    full_cost = big.calls() - 1 - big.names()  # less the one archived=true page (nothing is archived)
    assert list_cost == math.ceil(N / 100) == 5
    assert search_cost == math.ceil(N / 200) * (1 + len(links))  # companies 3, deals 6
    assert full_cost == min(list_cost, search_cost)
