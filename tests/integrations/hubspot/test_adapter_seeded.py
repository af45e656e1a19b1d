"""The HubSpot adapter on the seeded sandbox book (tests/fixtures_sandbox.py: seed 7, 120 accounts, TLS).

Checks what a hand-built book cannot: the generated identity mess and activity, ground truth from the
sandbox, and a real `tick` (seed.advance) between two syncs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.hubspot.adapter import HubSpotAdapter
from integrations.records import TicketRecord
from integrations.sandbox import hubspot as hs
from tests.sandbox_connection import sandbox_connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet


def adapter_for(sandbox: SandboxSet) -> HubSpotAdapter:
    connection = sandbox_connection(sandbox, "hubspot")
    return HubSpotAdapter(connection)


def read(adapter: HubSpotAdapter, stream: Stream, cursor: Cursor | None = None) -> list[Page]:
    return list(adapter.read(stream, cursor))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_full_sync_matches_ground_truth_in_minimum_calls(sandbox: SandboxSet) -> None:
    adapter = adapter_for(sandbox)
    truth = hs.truth(sandbox.ctx)
    accounts = [r for p in read(adapter, Stream.ACCOUNTS) for r in p.records]
    assert {a.external_id for a in accounts} == set(truth["accounts"])
    pages = read(adapter, Stream.TICKETS)
    tickets = [r for p in pages for r in p.records if isinstance(r, TicketRecord)]
    assert {t.external_id for t in tickets} == set(truth["tickets"])
    linked = [t for t in tickets if t.account_external_id is not None]
    assert linked
    for t in linked:  # the association leads to the customer the ticket truly belongs to
        assert truth["accounts"][t.account_external_id] == truth["tickets"][t.external_id]
    counters = sandbox.ctx.counters
    assert counters.get("hubspot", "POST /crm/v3/objects/companies/search") == math.ceil(len(accounts) / 200)
    # A full read of tickets lists them (associations inline) plus one archived=true page.
    assert counters.get("hubspot", "GET /crm/v3/objects/tickets") == math.ceil(len(tickets) / 100) + 1
    assert counters.get("hubspot", "POST /crm/v4/associations/*") == 0


def test_incremental_after_a_tick_reads_exactly_the_window(sandbox: SandboxSet) -> None:
    """After `tick`, the read returns exactly the crm tickets modified in [watermark - 5 min, sync start],
    less those the full read delivered already with that same modification time."""
    adapter = adapter_for(sandbox)
    full = read(adapter, Stream.TICKETS)
    delivered = {(r.external_id, ms(r.updated_at)) for p in full for r in p.records if r.updated_at}
    cursor = full[-1].cursor
    assert cursor is not None
    assert cursor.watermark is not None
    changes = sandbox.tick(days=2)
    book = sandbox.ctx.book
    pages = read(adapter, Stream.TICKETS, cursor)
    got = {r.external_id for p in pages for r in p.records if not r.deleted}
    low, high = ms(cursor.watermark - timedelta(minutes=5)), ms(book.now)
    expected = {
        hs.numeric_id("ticket", t.key)
        for t in book.tickets.values()
        if t.channel == "crm"
        and t.deleted_at is None
        and low <= ms(t.updated_at) <= high
        and (hs.numeric_id("ticket", t.key), ms(t.updated_at)) not in delivered
    }
    assert got == expected
    changed_crm = {
        hs.numeric_id("ticket", k)
        for k in changes.tickets
        if book.tickets[k].channel == "crm" and ms(book.tickets[k].updated_at) >= low
    }
    assert changed_crm <= got
    final = pages[-1].cursor
    assert final is not None
    assert final.watermark is not None
    assert cursor.watermark <= final.watermark <= book.now
