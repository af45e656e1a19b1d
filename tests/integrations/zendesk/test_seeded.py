"""The Zendesk adapter against the shared seeded sandbox set (tests/fixtures_sandbox.py, seed 7, 120 accounts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from integrations.base import Stream
from integrations.oauth import TokenSet
from integrations.records import AccountRecord, TicketRecord
from integrations.registry import Connection
from integrations.sandbox import zendesk as zsb
from integrations.zendesk.adapter import ZendeskAdapter

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet


@pytest.fixture
def seeded(sandbox_set: SandboxSet) -> Iterator[SandboxSet]:
    sandbox_set.restore()
    yield sandbox_set
    sandbox_set.restore()


def adapter_for(sset: SandboxSet) -> ZendeskAdapter:
    creds = sset.credentials()["zendesk"]
    conn = Connection(
        vendor="zendesk",
        base_url=creds["base_url"],
        token_url=f"{creds['base_url']}/oauth/tokens",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        tokens=TokenSet(access_token=creds["access_token"], refresh_token=creds["refresh_token"]),
        save_tokens=lambda _tokens: None,
        ca_file=sset.ca_file,
        sleep=lambda _s: None,
        clock=lambda: sset.ctx.book.now,
    )
    return ZendeskAdapter(conn)


def test_full_then_incremental_sync_of_the_seeded_book(seeded: SandboxSet) -> None:
    """Full read = minimum pages; after a 3-day tick the saved cursor reads exactly the changed tickets."""
    book = seeded.ctx.book
    truth = zsb.truth(seeded.ctx)
    adapter = adapter_for(seeded)
    pages = list(adapter.read(Stream.TICKETS, None))
    tickets = [r for p in pages for r in p.records if isinstance(r, TicketRecord)]
    zendesk_tickets = [t for t in book.tickets.values() if t.channel == "zendesk"]
    assert {r.external_id for r in tickets} == set(truth["tickets"])
    assert len(tickets) == len(zendesk_tickets)
    assert len(pages) == max(1, -(-len(zendesk_tickets) // 1000))
    # organization ids on tickets resolve (through the ground truth) to the ticket's real customer
    linked = [r for r in tickets if r.account_external_id is not None]
    assert linked
    assert all(truth["accounts"][r.account_external_id] == truth["tickets"][r.external_id] for r in linked)
    accounts = [
        r for p in adapter.read(Stream.ACCOUNTS, None) for r in p.records if isinstance(r, AccountRecord)
    ]
    assert {a.external_id for a in accounts} == set(truth["accounts"])

    cursor = pages[-1].cursor
    changes = seeded.tick(3)
    seeded.ctx.counters.reset()
    cutoff = int(seeded.ctx.book.now.timestamp()) - 60
    changed = {
        str(zsb.ticket_id(k))
        for k in changes.tickets | changes.deleted
        if k in book.tickets
        and book.tickets[k].channel == "zendesk"
        and int(max(filter(None, (book.tickets[k].updated_at, book.tickets[k].deleted_at))).timestamp())
        <= cutoff
    }
    again = [r for p in adapter_for(seeded).read(Stream.TICKETS, cursor) for r in p.records]
    assert changed
    assert {r.external_id for r in again} == changed
    deleted = {str(zsb.ticket_id(k)) for k in changes.deleted if k in book.tickets}
    assert {r.external_id for r in again if isinstance(r, TicketRecord) and r.deleted} == deleted & changed
    assert seeded.ctx.counters.get("zendesk") == max(1, -(-len(changed) // 1000))
