"""Company property history (`propertiesWithHistory`) end to end: hubspot-api-client 12, unmodified, against
the HubSpot sandbox (the seeded set, tests/fixtures_sandbox.py), and the adapter's account_history stream
(integrations/hubspot/history.py) read from it and synced into the store.

The truth is the book: a company's `active_users` history is its customer's `usage_path`, `licensed_seats`
its one value set when the company was created.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import ApiException, BatchReadInputSimplePublicObjectId
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import sync
from connector.store import models as m
from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.hubspot.adapter import HubSpotAdapter
from integrations.records import MetricChangeRecord
from integrations.sandbox import hubspot as hs
from integrations.sandbox.hubspot.formats import hs_time
from tests.connector import builders as b
from tests.sandbox_connection import sandbox_connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")
METRICS = ["active_users", "licensed_seats"]


def _sdk(sandbox: SandboxSet) -> HubSpot:
    creds = sandbox.credentials()["hubspot"]
    return HubSpot(
        access_token=creds["access_token"], host=creds["base_url"], ssl_ca_cert=sandbox.ca_file, retry=False
    )


def _live(sandbox: SandboxSet) -> list[hs.HubObject]:
    with sandbox.ctx.lock:
        return [o for o in hs.render(sandbox.ctx, "companies") if o.archived_at is None]


def _book_history(sandbox: SandboxSet) -> dict[str, dict[str, list[tuple[datetime, int]]]]:
    """Company id → property → (when set, value), oldest first, from the book."""
    book = sandbox.ctx.book
    out: dict[str, dict[str, list[tuple[datetime, int]]]] = {}
    for o in _live(sandbox):
        c = book.customers[o.key]
        assert c.usage_path, c.key  # every company the sandbox serves has a usage history
        out[o.id] = {"active_users": list(c.usage_path), "licensed_seats": [(c.created_at, c.licensed_seats)]}
    return out


def _expected(
    sandbox: SandboxSet, since: datetime | None = None
) -> set[tuple[str, str, str, datetime, float | None]]:
    """(external id, company id, metric, changed_at, value) of every value set at or after `since`."""
    return {
        (f"{cid}:{prop}:{int(when.timestamp() * 1000)}", cid, prop, when, float(value))
        for cid, props in _book_history(sandbox).items()
        for prop, entries in props.items()
        for when, value in entries
        if since is None or when >= since
    }


def _got(pages: list[Page]) -> set[tuple[str, str, str, datetime, float | None]]:
    recs = [r for p in pages for r in p.records]
    assert all(isinstance(r, MetricChangeRecord) for r in recs)
    out = {(r.external_id, r.account_external_id, r.metric, r.changed_at, r.value) for r in recs}  # type: ignore[union-attr]
    assert len(out) == len(recs), "a value was sent twice"
    return out


def _wire(entries: list[tuple[datetime, int]]) -> list[tuple[str, str | None]]:
    """The book's entries as HubSpot sends them: newest first, values and timestamps as strings."""
    return [(str(v), hs_time(when)) for when, v in reversed(entries)]


def _sent(history: Any) -> dict[str, list[tuple[str, str | None]]]:
    """An SDK model's properties_with_history as (value, ISO timestamp) pairs."""
    return {
        name: [(e.value, hs_time(e.timestamp)) for e in entries] for name, entries in (history or {}).items()
    }


@pytest.fixture
def adapter(sandbox: SandboxSet) -> Iterator[HubSpotAdapter]:
    a = HubSpotAdapter(sandbox_connection(sandbox, "hubspot"))
    yield a
    a.close()


def _calls(sandbox: SandboxSet, pattern: str) -> int:
    return sandbox.ctx.counters.get(hs.VENDOR, pattern)


# --- the emulator, through the unmodified SDK -----------------------------------------------------------------


def test_get_page_with_history_pages_through_every_company_and_its_history(sandbox: SandboxSet) -> None:
    """GET /crm/v3/objects/companies?propertiesWithHistory=…: each object carries every value set, newest
    first, the first one included, values as strings; the properties asked with history come back in
    `properties` too."""
    client, truth = _sdk(sandbox), _book_history(sandbox)
    seen: dict[str, Any] = {}
    after = None
    while True:
        page = client.crm.companies.basic_api.get_page(
            limit=50, after=after, properties=["name"], properties_with_history=METRICS
        )
        for o in page.results:
            seen[o.id] = o
        if page.paging is None:
            break
        after = page.paging.next.after
    assert set(seen) == set(truth)
    for cid, o in seen.items():
        assert _sent(o.properties_with_history) == {p: _wire(truth[cid][p]) for p in METRICS}
        assert o.properties["active_users"] == str(truth[cid]["active_users"][-1][1])
        assert o.properties["licensed_seats"] == str(truth[cid]["licensed_seats"][0][1])
        usage = o.properties_with_history["active_users"]
        assert {e.source_type for e in usage} <= {"INTEGRATION", "CRM_UI"}
        assert all(e.source_id for e in usage)
    assert any(len(o.properties_with_history["active_users"]) > 3 for o in seen.values())


def test_batch_read_with_history_matches_the_book_and_leaves_unknown_properties_out(
    sandbox: SandboxSet,
) -> None:
    client, truth = _sdk(sandbox), _book_history(sandbox)
    ids = sorted(truth)[:50]
    body = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": i} for i in ids],
        properties=["hs_lastmodifieddate"],
        properties_with_history=[*METRICS, "no_such_property"],
    )
    got = client.crm.companies.batch_api.read(batch_read_input_simple_public_object_id=body)
    assert {o.id for o in got.results} == set(ids)
    for o in got.results:
        assert _sent(o.properties_with_history) == {p: _wire(truth[o.id][p]) for p in METRICS}


def test_history_limits_a_request_to_50_objects(sandbox: SandboxSet) -> None:
    """Asking for history lowers the page and batch size to 50: past it HubSpot answers 400; without
    history 100 stay allowed."""
    client = _sdk(sandbox)
    with pytest.raises(ApiException) as info:
        client.crm.companies.basic_api.get_page(limit=51, properties_with_history=["active_users"])
    assert info.value.status == 400
    assert "VALIDATION_ERROR" in str(info.value.body)
    assert len(client.crm.companies.basic_api.get_page(limit=100).results) == 100
    assert (
        len(client.crm.companies.basic_api.get_page(limit=50, properties_with_history=METRICS).results) == 50
    )

    ids = [o.id for o in _live(sandbox)][:51]
    over = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": i} for i in ids], properties=[], properties_with_history=["active_users"]
    )
    with pytest.raises(ApiException) as info:
        client.crm.companies.batch_api.read(batch_read_input_simple_public_object_id=over)
    assert info.value.status == 400
    plain = BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids], properties=[])
    assert (
        len(client.crm.companies.batch_api.read(batch_read_input_simple_public_object_id=plain).results) == 51
    )


def test_search_does_not_return_history(sandbox: SandboxSet) -> None:
    """CRM search takes no propertiesWithHistory (hubspot-api-python#244): results carry none."""
    body = {"properties": ["active_users"], "propertiesWithHistory": ["active_users"], "limit": 10}
    got = _sdk(sandbox).crm.companies.search_api.do_search(public_object_search_request=body)
    assert got.results
    assert all(not o.properties_with_history for o in got.results)


# --- the adapter's account_history stream ------------------------------------------------------------------


def test_first_read_lists_every_value_set_then_a_second_read_finds_nothing(
    sandbox: SandboxSet, adapter: HubSpotAdapter
) -> None:
    """The first read lists the companies with history (50 a page, no search); its cursor's watermark is
    the newest company modification; a read from that cursor costs one search and sends nothing."""
    n = len(_live(sandbox))
    pages = list(adapter.read(Stream.ACCOUNT_HISTORY, None))
    assert _got(pages) == _expected(sandbox)
    assert _calls(sandbox, "GET /crm/v3/objects/companies") == -(-n // 50) == adapter.api_calls
    cursor = pages[-1].cursor
    assert cursor is not None
    assert cursor.watermark is not None
    newest = max(o.updated_at for o in _live(sandbox))
    assert cursor.watermark == min(newest, sandbox.ctx.book.now)

    before = adapter.api_calls
    again = list(adapter.read(Stream.ACCOUNT_HISTORY, cursor))
    assert _got(again) == set()
    assert adapter.api_calls - before == 1
    assert _calls(sandbox, "POST /crm/v3/objects/companies/batch/read") == 0
    assert again[-1].cursor is not None
    assert again[-1].cursor.watermark == cursor.watermark


def test_after_a_tick_past_the_first_the_incremental_read_returns_the_new_values(
    sandbox: SandboxSet, adapter: HubSpotAdapter
) -> None:
    cursor = list(adapter.read(Stream.ACCOUNT_HISTORY, None))[-1].cursor
    assert cursor is not None
    assert cursor.watermark is not None
    old_now = sandbox.ctx.book.now
    changes = sandbox.tick(40)
    now = sandbox.ctx.book.now
    new = {e for e in _expected(sandbox) if old_now < e[3] <= now}
    assert any(e[2] == "active_users" and (e[3].day, e[3].hour) == (1, 6) for e in new)  # the month's values

    before_calls, before_batches = (
        adapter.api_calls,
        _calls(sandbox, "POST /crm/v3/objects/companies/batch/read"),
    )
    pages = list(adapter.read(Stream.ACCOUNT_HISTORY, cursor))
    assert _got(pages) == new
    batches = _calls(sandbox, "POST /crm/v3/objects/companies/batch/read") - before_batches
    touched = {hs.company_id(k) for k in changes.customers} & {o.id for o in _live(sandbox)}
    assert batches == -(-len(touched) // 50)
    searches = adapter.api_calls - before_calls - batches
    assert searches == max(1, -(-len(touched) // 200))
    final = pages[-1].cursor
    assert final is not None
    assert final.watermark is not None
    assert final.watermark > cursor.watermark

    # A renewal due on the tick's last day is stamped no later than the clock (it was stamped up to 18:00
    # of that day, after the clock): every value set is this read's.
    assert not {e for e in _expected(sandbox) if e[3] > now}
    assert _got(list(adapter.read(Stream.ACCOUNT_HISTORY, final))) == set()


def test_a_read_resumes_from_any_page_cursor_without_loss(sandbox: SandboxSet) -> None:
    """Small pages (page_size 20): the read stops after its second page; another adapter resumes from that
    page's cursor and the two together send every value once."""
    first = HubSpotAdapter(sandbox_connection(sandbox, "hubspot", page_size=20))
    pages = first.read(Stream.ACCOUNT_HISTORY, None)
    head = [next(pages), next(pages)]
    first.close()
    second = HubSpotAdapter(sandbox_connection(sandbox, "hubspot", page_size=20))
    tail = list(second.read(Stream.ACCOUNT_HISTORY, head[-1].cursor))
    second.close()
    assert _got(head) | _got(tail) == _expected(sandbox)
    assert not _got(head) & _got(tail)


def test_only_number_metrics_are_read_and_none_mapped_costs_no_call(sandbox: SandboxSet) -> None:
    settings = {"metric_properties": {"licensed_seats": "number", "active_users": "bool"}}
    a = HubSpotAdapter(sandbox_connection(sandbox, "hubspot", settings=settings))
    got = _got(list(a.read(Stream.ACCOUNT_HISTORY, None)))
    assert got == {e for e in _expected(sandbox) if e[2] == "licensed_seats"}
    none = HubSpotAdapter(sandbox_connection(sandbox, "hubspot", settings={"metric_properties": {}}))
    pages = list(none.read(Stream.ACCOUNT_HISTORY, None))
    assert [p.records for p in pages] == [[]]
    assert none.api_calls == 0
    a.close()
    none.close()


def test_the_stream_survives_a_rate_limit_and_a_server_error(sandbox: SandboxSet) -> None:
    from integrations.sandbox.context import Fault

    sandbox.ctx.faults.script(hs.VENDOR, "GET /crm/v3/objects/companies", Fault("rate_limit", retry_after=2))
    sandbox.ctx.faults.script(hs.VENDOR, "GET /crm/v3/objects/companies", Fault("server_error", status=502))
    sleeps: list[float] = []
    a = HubSpotAdapter(sandbox_connection(sandbox, "hubspot", sleep=sleeps.append))
    assert _got(list(a.read(Stream.ACCOUNT_HISTORY, None))) == _expected(sandbox)
    assert sleeps
    assert sleeps[0] == 2
    a.close()


# --- into the store ------------------------------------------------------------------------------------------


def test_a_sync_stores_every_value_in_metric_changes(
    sandbox: SandboxSet, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        tenant = b.tenant(s, crm="hubspot")
        inst = b.installation(s, Vault(settings), tenant, "hubspot")
        s.expunge(inst)
    monkeypatch.setattr(
        sync, "adapter_for", lambda *_a, **_k: HubSpotAdapter(sandbox_connection(sandbox, "hubspot"))
    )
    report = sync.sync_installation(settings, inst, streams={Stream.ACCOUNTS, Stream.ACCOUNT_HISTORY})
    assert [(s.stream, s.status) for s in report.streams] == [("accounts", "ok"), ("account_history", "ok")]
    with b.session(db_url) as s:
        rows = list(s.scalars(select(m.MetricChange).where(m.MetricChange.tenant_id == tenant)))
        cursor = Cursor.loads(
            s.scalar(select(m.SyncCursor.cursor).where(m.SyncCursor.stream == "account_history"))
        )
    expected = _expected(sandbox)
    assert report.streams[1].upserted == len(expected) == len(rows)
    assert {(r.external_id, r.account_external_id, r.metric, r.changed_at, r.value) for r in rows} == expected
    assert {r.vendor for r in rows} == {"hubspot"}
    assert all(r.old_value is None for r in rows)
    assert cursor is not None
    assert cursor.watermark is not None
