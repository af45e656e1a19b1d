"""The Salesforce adapter against the shared seeded sandbox set (seed.py book, runner, control-API ticks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from integrations.base import Stream
from integrations.cursors import DEFAULT_OVERLAP
from integrations.records import AccountRecord, TicketRecord
from integrations.salesforce.adapter import SalesforceAdapter
from integrations.sandbox import salesforce as sfs
from integrations.sandbox.ids import salesforce_id
from tests.sandbox_connection import sandbox_connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")


@pytest.fixture
def seeded(sandbox: SandboxSet) -> Iterator[SalesforceAdapter]:
    conn = sandbox_connection(sandbox, "salesforce")
    adapter = SalesforceAdapter(conn)
    yield adapter
    adapter.close()


def test_full_read_matches_the_ground_truth(sandbox: SandboxSet, seeded: SalesforceAdapter) -> None:
    truth = sfs.truth(sandbox.ctx)
    accounts = [
        r for p in seeded.read(Stream.ACCOUNTS, None) for r in p.records if isinstance(r, AccountRecord)
    ]
    live = {r.external_id for r in accounts if not r.deleted}
    assert live <= set(truth["accounts"])
    assert len({r.external_id for r in accounts}) == len(accounts)
    tickets = [r for p in seeded.read(Stream.TICKETS, None) for r in p.records if isinstance(r, TicketRecord)]
    assert {t.external_id for t in tickets} == set(truth["tickets"])
    crm = [t for t in sandbox.ctx.book.tickets.values() if t.channel == "crm"]
    assert len(tickets) == len(crm)
    calls = sandbox.ctx.counters.get("salesforce")
    assert calls == seeded.api_calls  # one query per stream at this size (no second pages)
    assert calls == 2


def _stamped_by_now(sandbox: SandboxSet, sobject: str, ids: set[str]) -> set[str]:
    """The changed rows whose SystemModstamp is not after the sandbox clock (later ones wait for a later sync)."""
    now = sandbox.ctx.book.now
    return {
        r["Id"] for r in sfs.RENDERERS[sobject](sandbox.ctx) if r["Id"] in ids and r["SystemModstamp"] <= now
    }


def test_tick_then_incremental_reads_exactly_the_changes(
    sandbox: SandboxSet, seeded: SalesforceAdapter
) -> None:
    streams = {Stream.ACCOUNTS: "Account", Stream.TICKETS: "Case", Stream.DEALS: "Opportunity"}
    cursors = {s: list(seeded.read(s, None))[-1].cursor for s in streams}
    changes = sandbox.tick(3)
    changed = {
        Stream.ACCOUNTS: {salesforce_id("Account", k) for k in changes.customers},
        Stream.TICKETS: {salesforce_id("Case", k) for k in changes.tickets},
        Stream.DEALS: {salesforce_id("Opportunity", k) for k in changes.deals},
    }
    for stream, sobject in streams.items():
        expected = _stamped_by_now(sandbox, sobject, changed[stream])
        old = cursors[stream]
        assert old is not None
        assert old.watermark is not None
        overlap = {
            r["Id"]
            for r in sfs.RENDERERS[sobject](sandbox.ctx)
            if old.watermark - DEFAULT_OVERLAP <= r["SystemModstamp"] <= old.watermark
        }
        pages = list(seeded.read(stream, old))
        got = {r.external_id for p in pages for r in p.records}
        # The changes, plus only the unchanged rows stamped inside the overlap window before the old cursor.
        assert expected <= got, stream
        assert got - expected <= overlap, stream
        assert pages[-1].cursor is not None
        assert pages[-1].cursor.watermark == sandbox.ctx.book.now


def test_rows_stamped_after_the_sync_start_come_with_the_next_sync(
    sandbox: SandboxSet, seeded: SalesforceAdapter
) -> None:
    cursor = list(seeded.read(Stream.ACCOUNTS, None))[-1].cursor
    changes = sandbox.tick(3)
    later = {salesforce_id("Account", k) for k in changes.customers} - _stamped_by_now(
        sandbox, "Account", {salesforce_id("Account", k) for k in changes.customers}
    )
    cursor = list(seeded.read(Stream.ACCOUNTS, cursor))[-1].cursor
    sandbox.tick(1)
    got = {r.external_id for p in seeded.read(Stream.ACCOUNTS, cursor) for r in p.records}
    assert later <= got
