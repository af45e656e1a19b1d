"""The Zendesk adapter against the shared seeded sandbox set (tests/fixtures_sandbox.py, seed 7, 120 accounts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from integrations.base import Stream
from integrations.oauth import TokenSet
from integrations.records import AccountRecord, CommentRecord, TicketRecord
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


def event_stamps(seeded: SandboxSet) -> list[int]:
    """Timestamps of the events Zendesk exports for the book, computed from the book itself: one per comment,
    one per solve of a solved/closed ticket, one per deletion (zendesk-channel tickets that exist by now)."""
    book = seeded.ctx.book
    stamps = []
    for t in book.tickets.values():
        if t.channel != "zendesk" or t.created_at > book.now:
            continue
        stamps += [int(c.created_at.timestamp()) for c in t.comments]
        if not t.comments:
            stamps.append(int(t.created_at.timestamp()))
        if t.solved_at is not None and t.status in ("solved", "closed"):
            stamps.append(int(t.solved_at.timestamp()))
        if t.deleted_at is not None:
            stamps.append(int(t.deleted_at.timestamp()))
    return sorted(stamps)


def time_based_calls(stamps: list[int], start: int, cutoff: int, per_page: int = 1000) -> int:
    """Calls of a time-based export walk: each page starts AT the previous page's last timestamp."""
    calls = 0
    while True:
        remaining = [s for s in stamps if start <= s <= cutoff]
        calls += 1
        if len(remaining) <= per_page:
            return calls
        start = remaining[per_page - 1]


def test_comment_sync_of_the_seeded_book_costs_event_pages_only(seeded: SandboxSet) -> None:
    """Full comment read = the export's event pages + 1 agent list; after a tick, k new events cost
    ⌈k/1000⌉ pages + 1 agent list (fresh adapter); an idle read right after costs 1 call."""
    book = seeded.ctx.book
    cutoff = int(book.now.timestamp()) - 60
    comments = {
        str(zsb.comment_id(c.key))
        for t in book.tickets.values()
        if t.channel == "zendesk" and t.created_at <= book.now
        for c in t.comments
        if int(c.created_at.timestamp()) <= cutoff
    }
    seeded.ctx.counters.reset()
    pages = list(adapter_for(seeded).read(Stream.COMMENTS, None))
    got = [r.external_id for p in pages for r in p.records if isinstance(r, CommentRecord)]
    assert sorted(got) == sorted(comments)
    expected_pages = time_based_calls(event_stamps(seeded), 0, cutoff)
    assert expected_pages == max(1, -(-len(event_stamps(seeded)) // 1000))  # no second holds a page's edge
    assert seeded.ctx.counters.get("zendesk", "GET /api/v2/incremental/ticket_events.json") == expected_pages
    assert seeded.ctx.counters.get("zendesk") == expected_pages + 1  # + the agent list

    cursor = pages[-1].cursor
    assert cursor is not None
    before = set(event_stamps(seeded))
    seeded.tick(2)
    seeded.ctx.counters.reset()
    new_cutoff = int(seeded.ctx.book.now.timestamp()) - 60
    again = list(adapter_for(seeded).read(Stream.COMMENTS, cursor))
    new = [r for p in again for r in p.records if isinstance(r, CommentRecord)]
    new_comments = {
        str(zsb.comment_id(c.key))
        for t in seeded.ctx.book.tickets.values()
        if t.channel == "zendesk" and t.created_at <= seeded.ctx.book.now
        for c in t.comments
        if int(c.created_at.timestamp()) <= new_cutoff
    } - comments
    assert new_comments
    assert {r.external_id for r in new} == new_comments
    k = len([s for s in event_stamps(seeded) if s not in before and s <= new_cutoff])
    assert seeded.ctx.counters.get("zendesk") == max(1, -(-k // 1000)) + 1

    last = again[-1].cursor
    seeded.ctx.counters.reset()
    idle = list(adapter_for(seeded).read(Stream.COMMENTS, last))
    assert [r for p in idle for r in p.records] == []
    assert seeded.ctx.counters.get("zendesk") == 1
