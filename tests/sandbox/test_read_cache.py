"""The served sandbox's read caches (`cache_reads`, issue 17) answer exactly what the uncached emulator
answers: full reads, keyset pages, after a tick, and after our write-back touched records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.base import Stream
from integrations.cursors import Cursor
from tests.integrations.contract_support import SPECS, Harness, score_writes

STREAMS = (Stream.ACCOUNTS, Stream.CONTACTS, Stream.DEALS, Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS)
# Small pages so that reads span many pages, each after the first served from the cached index (a keyset
# bisect). Zendesk at 7 a page made ~1,250 requests per full read (21 s for comments alone) and stopped at the
# adapter's 1,000-page cap before the end of the comments; at 25 it still reads 60+ ticket and 280+ comment
# pages, to the end, in a quarter of the time.
PAGE_SIZE = {"zendesk": 25}


def _read(
    h: Harness, cursors: dict[Stream, Cursor | None]
) -> tuple[dict[str, Any], dict[Stream, Cursor | None]]:
    adapter = h.adapter(page_size=PAGE_SIZE.get(h.vendor, 7))  # many pages (see PAGE_SIZE)
    seen: dict[str, Any] = {}
    after: dict[Stream, Cursor | None] = {}
    for stream in [s for s in STREAMS if s in adapter.streams]:
        last = cursors.get(stream)
        for page in adapter.read(stream, cursors.get(stream)):
            for rec in page.records:
                seen[f"{stream.value}:{rec.external_id}"] = rec
            last = page.cursor or last
        after[stream] = last
    return seen, after


@pytest.fixture(params=["hubspot", "zendesk", "salesforce"])
def hub(sandbox: Any, request: pytest.FixtureRequest) -> Iterator[Harness]:
    h = Harness(spec=SPECS[request.param], sandbox=sandbox)
    yield h
    sandbox.ctx.read_cache = None
    h.close()


def test_cached_reads_equal_uncached_reads_through_ticks_and_writes(hub: Harness, sandbox: Any) -> None:
    sandbox.ctx.read_cache = None
    plain, cur_plain = _read(hub, {})
    sandbox.ctx.read_cache = {}
    cached, cur_cached = _read(hub, {})
    assert cached == plain
    assert len(plain) > 100
    if hub.vendor == "hubspot":
        assert any(k[0] == "search" for k in sandbox.ctx.read_cache)  # the cache was used
    if hub.vendor == "salesforce":
        assert any(k[0] == "sf-rows" for k in sandbox.ctx.read_cache)  # the cache was used

    sandbox.tick(2, wait=True)  # the clock moves and records change: the cache must not hide them
    sandbox.ctx.read_cache = {}
    warm, _ = _read(hub, cur_cached)  # fills the cache for this book state
    sandbox.ctx.read_cache = None
    expected, _ = _read(hub, cur_plain)
    assert warm == expected

    ids = sorted({k.split(":", 1)[1] for k in plain if k.startswith("accounts:")})[:3]
    adapter = hub.adapter()
    adapter.ensure_fields()
    adapter.write_scores(score_writes(ids))  # touches their modstamps at the current clock
    sandbox.ctx.read_cache = {}
    _read(hub, cur_cached)  # an earlier state cached ...
    adapter.write_scores(score_writes(ids[:1]))
    again, _ = _read(hub, cur_cached)
    sandbox.ctx.read_cache = None
    truth, _ = _read(hub, cur_cached)
    assert again == truth


def test_an_in_place_edit_is_seen_after_edited(hub: Harness, sandbox: Any) -> None:
    """A benchmark edits a ticket in place, as an agent would in the vendor's UI (benchmarks/freshness.py):
    `ctx.edited()` drops the served caches, so the next incremental read carries the edit."""
    from datetime import timedelta

    sandbox.ctx.read_cache = {}
    _, cursors = _read(hub, {})
    book = sandbox.ctx.book
    ticket = next(
        t
        for _, t in sorted(book.tickets.items())
        if t.deleted_at is None
        and t.status in ("solved", "closed")
        and (hub.vendor == "zendesk") == (t.channel == "zendesk")
    )
    with sandbox.ctx.lock:
        ticket.status, ticket.priority = "open", "urgent"
        ticket.solved_at, ticket.updated_at = None, book.now - timedelta(seconds=61)
        sandbox.ctx.edited()
    seen, _ = _read(hub, cursors)
    mine = [
        r
        for k, r in seen.items()
        if k.startswith("tickets:") and r.priority == "urgent" and r.status == "open"
    ]
    assert mine, "the edited ticket is not in the next incremental read"
    sandbox.ctx.read_cache = None
    truth, _ = _read(hub, cursors)
    assert seen == truth


def test_salesforce_queries_share_rendered_rows_until_a_write_or_an_edit(sandbox: Any) -> None:
    """A served Salesforce sandbox renders an sObject's rows once for many SOQL queries (the freshness
    benchmark's other tenant rendered every Case per query), and renders again after our write or an
    in-place edit, so neither is hidden."""
    from datetime import timedelta

    from integrations.sandbox.ids import salesforce_id
    from integrations.sandbox.salesforce import query as soql
    from integrations.sandbox.salesforce import render
    from integrations.sandbox.salesforce.writes import _apply_write

    ctx = sandbox.ctx
    renders: list[str] = []
    real = dict(render.RENDERERS)
    counting = {
        name: (lambda c, name=name: (renders.append(name), real[name](c))[1]) for name in ("Account", "Case")
    }
    render.RENDERERS.update(counting)
    try:
        ctx.read_cache = {}
        with ctx.lock:
            q = "SELECT Id, Status, Account.Name FROM Case WHERE IsClosed = false"
            first = soql.run_query(ctx, q, False)[1]
            assert soql.run_query(ctx, q, False)[1] == first
            soql.run_query(ctx, "SELECT Id FROM Case", False)
        assert renders.count("Case") == 1  # uncached: 3
        assert renders.count("Account") == 1  # the relation; uncached: 2

        account = next(r for r in real["Account"](ctx) if not r["IsDeleted"])
        with ctx.lock:
            _apply_write(ctx, account["Id"], {"Name": "Renamed by a write"})
            rows = soql.run_query(ctx, f"SELECT Id, Name FROM Account WHERE Id = '{account['Id']}'", False)[1]
        assert [r["Name"] for r in rows] == ["Renamed by a write"]

        book = ctx.book
        closed = {r["Id"] for r in real["Case"](ctx) if r["IsClosed"] and not r["IsDeleted"]}
        ticket = next(t for _, t in sorted(book.tickets.items()) if salesforce_id("Case", t.key) in closed)
        with ctx.lock:
            sandbox.dirty = True  # the fixture reloads the book after the test
            ticket.status, ticket.solved_at = "open", None
            ticket.updated_at = book.now - timedelta(seconds=61)
            ctx.edited()
            case = soql.run_query(ctx, q, False)[1]
        assert {r["Id"]: r["Status"] for r in case}[salesforce_id("Case", ticket.key)] == "Working"
        assert len(case) == len(first) + 1
        assert renders.count("Case") == 2  # again after the edit only
        assert renders.count("Account") == 3  # after the write, and after the edit
    finally:
        render.RENDERERS.update(real)
        ctx.read_cache = None


def test_a_salesforce_collections_update_does_not_render_every_account(sandbox: Any) -> None:
    """Each write-back batch of 200 checked its ids against every rendered Account row, and the previous
    batch's write had made that cache stale: a 10k org re-rendered 10,000 rows per batch (44 times on a
    day that rewrote 8,800 accounts, most of the emulator's CPU in the 10k incremental pass). The ids
    are checked against an index our writes do not change; answers stay the same."""
    from integrations.sandbox.salesforce import render

    h = Harness(spec=SPECS["salesforce"], sandbox=sandbox)
    calls = {"n": 0}
    real = render.RENDERERS["Account"]

    def counting(ctx: Any) -> list[dict[str, Any]]:
        calls["n"] += 1
        return real(ctx)

    sandbox.ctx.read_cache = {}
    try:
        adapter = h.adapter()
        adapter.ensure_fields()
        ids = sorted(r["Id"] for r in render.rendered(sandbox.ctx, "Account") if not r["IsDeleted"])[:6]
        render.RENDERERS["Account"] = counting
        for n in range(3):
            results = adapter.write_scores(score_writes(ids[n * 2 : n * 2 + 2]))
            assert results
        assert calls["n"] == 0
        rows = {r["Id"]: r for r in render.rendered(sandbox.ctx, "Account")}  # the writes are there
        assert calls["n"] == 1
        assert all(
            any(k.endswith("__c") and rows[i][k] is not None for k in rows[i] if "Health" in k) for i in ids
        )
    finally:
        render.RENDERERS["Account"] = real
        sandbox.ctx.read_cache = None
        h.close()
