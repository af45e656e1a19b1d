"""HubSpot adapter scenarios against the HubSpot sandbox (real SDK, real TLS, sandbox clock, recorded sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.errors import (
    FatalIntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    QuotaExhaustedError,
    ReauthRequiredError,
    TransientError,
)
from integrations.hubspot import search
from integrations.hubspot.adapter import ADAPTER, HubSpotAdapter
from integrations.hubspot.client import HubSpotClient
from integrations.oauth import TokenSet
from integrations.records import AccountRecord, CommentRecord, ScoreWrite, SurveyRecord, TicketRecord
from integrations.registry import create_adapter
from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Book
from integrations.sandbox.context import Fault
from tests.integrations.hubspot.book_factory import NOW, contact, customer, make_book
from tests.integrations.hubspot.conftest import Harness

SEARCH = "POST /crm/v3/objects/{}/search"
TOKEN = "POST /oauth/v1/token"


def companies_book(n: int, *, spacing: timedelta = timedelta(hours=1)) -> Book:
    """n companies, customer i last modified at NOW - 10 days - i·spacing (only customer 1 in the overlap)."""
    book = make_book(customers=0)
    book.customers.clear()
    book.tickets.clear()
    book.surveys.clear()
    for i in range(1, n + 1):
        c = customer(i, updated=NOW - timedelta(days=10) - i * spacing)
        book.customers[c.key] = c
    return book


def read_all(adapter: HubSpotAdapter, stream: Stream, cursor: Cursor | None = None) -> list[Page]:
    return list(adapter.read(stream, cursor))


def ids(pages: list[Page]) -> list[str]:
    return [r.external_id for p in pages for r in p.records]


def final(pages: list[Page]) -> Cursor:
    cursor = pages[-1].cursor
    assert cursor is not None
    return cursor


# --- reading -----------------------------------------------------------------------------------------------


def test_registry_builds_the_adapter(harness: Harness) -> None:
    adapter = create_adapter(harness.connection())
    assert isinstance(adapter, HubSpotAdapter)
    assert ADAPTER is HubSpotAdapter
    assert adapter.streams == frozenset(Stream)


def test_full_read_pages_to_the_end_in_the_minimum_calls(make_harness: Callable[[Book], Harness]) -> None:
    """450 companies: ⌈450/200⌉ = 3 searches (HubSpot omits paging on the last page) + 1 archived list."""
    h = make_harness(companies_book(450))
    adapter = h.adapter()
    pages = read_all(adapter, Stream.ACCOUNTS)
    assert sorted(ids(pages)) == sorted(hs.company_id(f"C{i:06d}") for i in range(1, 451))
    assert len(set(ids(pages))) == 450
    assert h.calls(SEARCH.format("companies")) == 3
    assert h.calls("GET /crm/v3/objects/companies") == 1
    assert h.calls("GET /crm/v3/owners*") == 1  # owner names and e-mails, once per adapter
    assert adapter.api_calls == h.calls() == 5


def test_every_page_carries_a_resumable_cursor_and_the_last_the_watermark(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(companies_book(450))
    pages = read_all(h.adapter(), Stream.ACCOUNTS)
    for page in pages[:-1]:
        assert page.cursor is not None
        assert page.cursor.token is not None
        assert page.cursor.watermark is None  # not advanced before the stream is done
    last = final(pages)
    # Remembers when deletes were listed, and that customer 1 (the only one in the overlap) was delivered.
    newest = NOW - timedelta(days=10, hours=1)
    delivered = {f"companies:{hs.company_id('C000001')}": search.epoch_ms(newest)}
    assert last.token == search.finished_token(search.epoch_ms(NOW), delivered)
    assert last.watermark == NOW - timedelta(days=10, hours=1)  # newest modification seen (customer 1)
    assert last.watermark <= NOW


def test_records_are_mapped_with_their_company_through_associations(harness: Harness) -> None:
    adapter = harness.adapter()
    accounts = [r for p in read_all(adapter, Stream.ACCOUNTS) for r in p.records]
    first = next(
        a for a in accounts if isinstance(a, AccountRecord) and a.external_id == hs.company_id("C000002")
    )
    assert first.cross_ref == hs.numeric_id("organization", "C000002")  # zendesk_org_id on even customers
    assert first.domains == ("customer2.example",)
    assert first.metrics == {"active_users": 42.0, "licensed_seats": 50.0}
    tickets = [r for p in read_all(adapter, Stream.TICKETS) for r in p.records]
    assert len(tickets) == 10
    assert all(isinstance(t, TicketRecord) for t in tickets)
    by_id = {t.external_id: t for t in tickets if isinstance(t, TicketRecord)}
    assert by_id["3000002"].account_external_id == hs.company_id("C000001")
    assert by_id["3000005"].account_external_id == hs.company_id("C000002")
    assert by_id["3000005"].status == "closed"  # book "solved" → HubSpot stage 4 → closed
    assert by_id["3000005"].priority == "low"
    comments = [r for p in read_all(adapter, Stream.COMMENTS) for r in p.records]
    assert len(comments) == 30
    roles = {
        (c.ticket_external_id, c.author_role, c.public) for c in comments if isinstance(c, CommentRecord)
    }
    assert ("3000002", "customer", True) in roles
    assert ("3000002", "agent", False) in roles  # private agent comment rendered as a note
    surveys = [r for p in read_all(adapter, Stream.SURVEYS) for r in p.records if isinstance(r, SurveyRecord)]
    assert sorted(s.kind for s in surveys).count("nps") == 5
    csat = [s for s in surveys if s.kind == "csat"]
    assert len(csat) == 10
    assert all(s.ticket_external_id and s.account_external_id for s in csat)


def test_associations_inline_on_full_reads_and_batched_on_incremental(harness: Harness) -> None:
    adapter = harness.adapter()
    full = [r for p in read_all(adapter, Stream.SURVEYS) for r in p.records if isinstance(r, SurveyRecord)]
    assert harness.calls("POST /crm/v4/associations/*") == 0  # list pages carried them
    old = Cursor(watermark=NOW - timedelta(days=30))
    incremental = [
        r for p in read_all(adapter, Stream.SURVEYS, old) for r in p.records if isinstance(r, SurveyRecord)
    ]
    assert harness.calls("POST /crm/v4/associations/*") == 2  # one page, links to companies and tickets
    key = {(s.external_id, s.account_external_id, s.ticket_external_id) for s in full}
    assert key == {(s.external_id, s.account_external_id, s.ticket_external_id) for s in incremental}
    read_all(adapter, Stream.CONTACTS, old)  # associatedcompanyid: no association call
    assert harness.calls("POST /crm/v4/associations/*") == 2


def test_incremental_picks_up_exactly_the_changed_and_archived(
    make_harness: Callable[[Book], Harness],
) -> None:
    """After a 'tick': 2 renamed companies and 1 deleted one; customer 1, re-read by the 5-minute overlap,
    was delivered already and is not sent again."""
    h = make_harness(companies_book(30))
    adapter = h.adapter()
    cursor = final(read_all(adapter, Stream.ACCOUNTS))
    now = h.advance(timedelta(days=1))
    for key in ("C000010", "C000020"):
        c = h.ctx.book.customers[key]
        c.hubspot.name = f"{key} renamed"
        c.hubspot.updated_at = c.updated_at = now - timedelta(minutes=30)
    h.ctx.book.customers["C000015"].hubspot.deleted_at = now - timedelta(minutes=20)
    h.ctx.counters.reset()
    pages = read_all(adapter, Stream.ACCOUNTS, cursor)
    records = [r for p in pages for r in p.records if isinstance(r, AccountRecord)]
    live = {r.external_id: r for r in records if not r.deleted}
    deleted = [r.external_id for r in records if r.deleted]
    assert set(live) == {hs.company_id("C000010"), hs.company_id("C000020")}
    assert live[hs.company_id("C000010")].name == "C000010 renamed"
    assert deleted == [hs.company_id("C000015")]
    assert final(pages).watermark == now - timedelta(minutes=30)
    assert h.calls("* /crm/*") == 2  # one search page + one archived page
    assert h.calls(TOKEN) == 1  # a day later the 30-minute token is refreshed before the first call


def test_nothing_changed_costs_one_search(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(companies_book(30))
    adapter = h.adapter()
    cursor = final(read_all(adapter, Stream.ACCOUNTS))
    h.advance(timedelta(hours=6))
    h.ctx.counters.reset()
    first = read_all(adapter, Stream.ACCOUNTS, cursor)
    second = read_all(adapter, Stream.ACCOUNTS, final(first))
    # Overlap re-reads only the newest record, delivered already: not sent again; the watermark stays.
    assert ids(first) == ids(second) == []
    assert final(second).watermark == final(first).watermark == cursor.watermark
    assert h.calls("* /crm/*") == 3  # search + archived page, then within the hour the search alone


def test_overlap_reread_has_no_duplicates_within_a_read(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(companies_book(450, spacing=timedelta(seconds=1)))  # all 450 within the overlap
    adapter = h.adapter()
    cursor = final(read_all(adapter, Stream.ACCOUNTS))
    again = ids(read_all(adapter, Stream.ACCOUNTS, cursor))
    assert len(again) == len(set(again))
    assert set(again) <= {hs.company_id(f"C{i:06d}") for i in range(1, 451)}


def test_crash_between_pages_resumes_without_loss(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(companies_book(450))
    reader = h.adapter().read(Stream.ACCOUNTS, None)
    first = next(reader)  # committed; then the process dies
    reader.close()
    assert first.cursor is not None
    rest = read_all(h.adapter(), Stream.ACCOUNTS, first.cursor)
    combined = [r.external_id for r in first.records] + ids(rest)
    assert sorted(combined) == sorted(hs.company_id(f"C{i:06d}") for i in range(1, 451))
    assert len(combined) == 450  # the resumed read does not repeat page 1


@pytest.mark.slow
def test_more_than_10000_matches_same_timestamp(make_harness: Callable[[Book], Harness]) -> None:
    """HubSpot search stops at 10,000 results (400 past it) and a bulk edit stamps every row alike
    (airbyte#43317): offset paging fails, keyset paging by hs_object_id reads all 10,050.

    The naive pager is started at offset 9,800 (pages before it behave alike and only cost time)."""
    book = make_book(customers=1, contacts_per=0, deals_per=0, tickets_per=0)
    stamp = NOW - timedelta(days=1)
    for i in range(1, 10_051):
        k = contact(i, "C000001", updated=stamp)
        book.contacts[k.key] = k
    h = make_harness(book)
    naive = HubSpotClient(h.connection())

    def naive_page(after: int) -> str | None:
        body = search.offset_search(
            modified_property="lastmodifieddate", since=stamp, properties=["email"], after=after
        )
        return naive.search("contacts", body).next_after

    after = int(naive_page(9_800) or 0)
    with pytest.raises(FatalIntegrationError, match="HTTP 400 VALIDATION_ERROR"):
        naive_page(after)
    assert after == 10_000
    h.ctx.counters.reset()
    pages = read_all(h.adapter(), Stream.CONTACTS)
    got = ids(pages)
    assert len(got) == len(set(got)) == 10_050
    assert h.calls(SEARCH.format("contacts")) == 51  # ⌈10,050 / 200⌉


# --- failures ----------------------------------------------------------------------------------------------


def test_429_waits_retry_after_with_the_injected_sleep(harness: Harness) -> None:
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="rate_limit", retry_after=7))
    pages = read_all(harness.adapter(), Stream.ACCOUNTS)
    assert len(ids(pages)) == 5
    assert harness.sleeps == [7.0]
    assert harness.calls(SEARCH.format("companies")) == 2


def test_5xx_is_retried_with_backoff(harness: Harness) -> None:
    fault = Fault(kind="server_error", status=503)
    harness.ctx.faults.script(hs.VENDOR, "GET /crm/v3/objects/deals", fault, times=2)
    pages = read_all(harness.adapter(), Stream.DEALS)
    assert len(ids(pages)) == 5
    assert len(harness.sleeps) == 2
    assert 0.25 <= harness.sleeps[0] <= 0.5 <= harness.sleeps[1] <= 1.0  # equal jitter on 0.5 s, then 1 s
    assert harness.calls("GET /crm/v3/objects/deals") == 4  # 2 failures, the list page, the archived page


def test_persistent_5xx_gives_up_after_the_policy_attempts(harness: Harness) -> None:
    fault = Fault(kind="server_error", status=500)
    harness.ctx.faults.rate(hs.VENDOR, SEARCH.format("companies"), fault, rate=1.0)
    reader = harness.adapter().read(Stream.ACCOUNTS, None)
    with pytest.raises(TransientError):
        next(reader)
    assert harness.calls(SEARCH.format("companies")) == 5
    assert len(harness.sleeps) == 4


def test_401_refreshes_exactly_once_and_saves_the_tokens(harness: Harness) -> None:
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="expired_token"))
    adapter = harness.adapter()
    pages = read_all(adapter, Stream.ACCOUNTS)
    assert len(ids(pages)) == 5
    assert harness.calls(TOKEN) == 1
    assert adapter.refreshes == 1
    assert len(harness.saved) == 1
    assert harness.saved[0].expires_at == NOW + timedelta(minutes=30)
    assert harness.calls(SEARCH.format("companies")) == 2


def test_401_after_a_refresh_needs_reauth(harness: Harness) -> None:
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="expired_token"), times=2)
    with pytest.raises(ReauthRequiredError):
        read_all(harness.adapter(), Stream.ACCOUNTS)
    assert harness.calls(TOKEN) == 1


def test_revoked_refresh_token_needs_reauth(harness: Harness) -> None:
    connection = harness.connection()
    assert connection.tokens.refresh_token is not None
    harness.served.state.refresh_tokens.discard(connection.tokens.refresh_token)  # uninstalled in HubSpot
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="expired_token"))
    with pytest.raises(ReauthRequiredError, match="BAD_REFRESH_TOKEN"):
        read_all(HubSpotAdapter(connection), Stream.ACCOUNTS)
    assert harness.calls(TOKEN) == 1
    assert harness.saved == []


def test_revoked_refresh_fault_needs_reauth(harness: Harness) -> None:
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="expired_token"))
    harness.ctx.faults.script(hs.VENDOR, TOKEN, Fault(kind="revoked_refresh"))
    with pytest.raises(ReauthRequiredError):
        read_all(harness.adapter(), Stream.ACCOUNTS)


def test_token_is_refreshed_ahead_of_expiry(harness: Harness) -> None:
    adapter = harness.adapter()
    harness.advance(timedelta(minutes=26))  # 4 minutes left: inside the 5-minute margin
    read_all(adapter, Stream.ACCOUNTS)
    assert harness.calls(TOKEN) == 1
    assert harness.calls(SEARCH.format("companies")) == 1  # no 401 was needed
    harness.advance(timedelta(minutes=20))  # the refreshed token is still good
    read_all(adapter, Stream.ACCOUNTS)
    assert harness.calls(TOKEN) == 1


def test_malformed_page_fails_the_stream_and_leaves_the_cursor(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(companies_book(450))
    reader = h.adapter().read(Stream.ACCOUNTS, None)
    committed = next(reader).cursor
    h.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="malformed_page"))
    with pytest.raises(MalformedResponseError):
        next(reader)
    assert committed is not None
    rest = read_all(h.adapter(), Stream.ACCOUNTS, committed)  # the next run continues from page 1's cursor
    assert len(ids(rest)) == 250


def test_malformed_first_page_yields_nothing(harness: Harness) -> None:
    old = Cursor(watermark=NOW - timedelta(days=30))
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("tickets"), Fault(kind="malformed_page"))
    pages: list[Page] = []
    with pytest.raises(MalformedResponseError):
        pages.extend(harness.adapter().read(Stream.TICKETS, old))
    assert pages == []  # nothing to commit: the stored cursor stays `old`


# --- fields, check, write-back -----------------------------------------------------------------------------


def test_ensure_fields_is_idempotent(harness: Harness) -> None:
    adapter = harness.adapter()
    first = adapter.ensure_fields()
    assert [c.action for c in first] == ["created"] * 8
    assert {c.vendor_name for c in first} == {p for p in harness.served.state.custom_fields}
    harness.ctx.counters.reset()
    second = adapter.ensure_fields()
    assert [c.action for c in second] == ["exists"] * 8
    assert harness.calls("POST *") == 0
    assert harness.calls() == 2  # groups list + properties list
    band = harness.served.state.custom_fields["healthscore_band"]
    assert [o["value"] for o in band["options"]] == ["green", "yellow", "red"]
    assert band["groupName"] == "healthscore"


def test_ensure_fields_without_the_schema_scope_names_it(harness: Harness) -> None:
    scopes = [s for s in hs.DEFAULT_SCOPES if s != "crm.schemas.companies.write"]
    body = hs.issue_tokens(harness.served.state, harness.ctx.now, scopes)
    tokens = TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_at=NOW + timedelta(minutes=30),
    )
    with pytest.raises(PermissionDeniedError) as info:
        harness.adapter(tokens=tokens).ensure_fields()
    assert info.value.missing == "crm.schemas.companies.write"
    assert "crm.schemas.companies.write" in info.value.hint


def test_check_reports_missing_fields_then_ok(harness: Harness) -> None:
    adapter = harness.adapter()
    before = adapter.check()
    assert not before.ok
    assert len(before.missing_fields) == 8
    assert "crm.objects.companies.write" in before.granted_scopes
    adapter.ensure_fields()
    after = adapter.check()
    assert after.ok
    assert after.problems == ()


def test_check_names_missing_scopes(harness: Harness) -> None:
    body = hs.issue_tokens(
        harness.served.state,
        harness.ctx.now,
        ["oauth", "crm.objects.companies.read", "crm.schemas.companies.read"],
    )
    tokens = TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_at=NOW + timedelta(minutes=30),
    )
    report = harness.adapter(tokens=tokens).check()
    assert not report.ok
    messages = " ".join(p.message for p in report.problems)
    assert "tickets" in messages
    assert "crm.objects.companies.write" in messages


def _writes(n: int, **values: object) -> list[ScoreWrite]:
    base: dict[str, object] = {
        "health_score": 71.25,
        "health_band": "green",
        "health_scored_at": datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        "health_drivers": "Support sentiment down",
    }
    base.update(values)
    return [
        ScoreWrite(account_external_id=hs.company_id(f"C{i:06d}"), values=base)  # type: ignore[arg-type]
        for i in range(1, n + 1)
    ]


def test_write_scores_batches_of_100(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(companies_book(250))
    adapter = h.adapter()
    adapter.ensure_fields()
    results = adapter.write_scores(_writes(250))
    assert all(r.ok for r in results)
    assert [r.account_external_id for r in results] == [hs.company_id(f"C{i:06d}") for i in range(1, 251)]
    assert h.calls("POST /crm/v3/objects/companies/batch/update") == 3  # ⌈250/100⌉
    written = hs.written_fields(h.ctx)[hs.company_id("C000007")]
    assert written == {
        "healthscore_score": "71.25",
        "healthscore_band": "green",
        "healthscore_scored_at": "1772452800000",
        "healthscore_drivers": "Support sentiment down",
    }


def test_written_scores_show_up_on_the_next_incremental_read(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(companies_book(5))
    adapter = h.adapter()
    adapter.ensure_fields()
    cursor = final(read_all(adapter, Stream.ACCOUNTS))
    h.advance(timedelta(minutes=10))
    adapter.write_scores(_writes(1))
    pages = read_all(adapter, Stream.ACCOUNTS, cursor)
    assert hs.company_id("C000001") in ids(pages)  # our write bumped hs_lastmodifieddate


def test_write_scores_partial_failure_from_207(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(companies_book(10))
    adapter = h.adapter()
    adapter.ensure_fields()
    bad = (hs.company_id("C000003"), hs.company_id("C000008"))
    h.ctx.faults.script(
        hs.VENDOR, "POST /crm/v3/objects/companies/batch/update", Fault(kind="reject_rows", ids=bad)
    )
    writes = [*_writes(10), ScoreWrite(account_external_id="424242", values={"health_score": 1.0})]
    results = adapter.write_scores(writes)
    failed = {r.account_external_id: r for r in results if not r.ok}
    assert set(failed) == {*bad, "424242"}
    assert failed[bad[0]].error_code == "VALIDATION_ERROR"
    assert failed["424242"].error_code == "OBJECT_NOT_FOUND"
    assert not failed[bad[0]].retryable
    assert h.calls("POST /crm/v3/objects/companies/batch/update") == 1
    assert set(hs.written_fields(h.ctx)) == {hs.company_id(f"C{i:06d}") for i in range(1, 11)} - set(bad)


def test_whole_batch_400_is_split_until_the_bad_row_stands_alone(
    make_harness: Callable[[Book], Harness],
) -> None:
    h = make_harness(companies_book(8))
    adapter = h.adapter()
    adapter.ensure_fields()
    writes = _writes(8)
    writes[5] = ScoreWrite(
        account_external_id=writes[5].account_external_id, values={"health_band": "purple"}
    )
    results = adapter.write_scores(writes)
    assert [r.ok for r in results] == [True] * 5 + [False] + [True] * 2
    assert results[5].error_code == "INVALID_OPTION"
    # 8 → 4+4 → 2+2 (in the bad half) → 1+1: 1 + 2 + 2 + 2 calls
    assert h.calls("POST /crm/v3/objects/companies/batch/update") == 7
    assert len(hs.written_fields(h.ctx)) == 7


# --- resuming, timeouts, quota -----------------------------------------------------------------------------


def tickets_book(n_customers: int) -> Book:
    return make_book(customers=n_customers, contacts_per=0, deals_per=0, tickets_per=2)


def test_crash_in_a_list_phase_resumes_from_the_list_token(make_harness: Callable[[Book], Harness]) -> None:
    """A full read of 250 tickets lists 100 a page; resuming after page 1 reads exactly the other 150."""
    h = make_harness(tickets_book(125))
    reader = h.adapter().read(Stream.TICKETS, None)
    first = next(reader)
    reader.close()
    assert first.cursor is not None
    rest = read_all(h.adapter(), Stream.TICKETS, first.cursor)
    combined = [r.external_id for r in first.records] + ids(rest)
    assert len(combined) == len(set(combined)) == 250


def test_resuming_after_a_phase_last_page_does_not_repeat_it(make_harness: Callable[[Book], Harness]) -> None:
    h = make_harness(tickets_book(125))
    pages = read_all(h.adapter(), Stream.TICKETS)
    last_content = pages[2]  # 100 + 100 + 50 tickets, then the archived page and the final cursor
    assert len(last_content.records) == 50
    h.ctx.counters.reset()
    rest = read_all(h.adapter(), Stream.TICKETS, last_content.cursor)
    assert ids(rest) == []
    assert h.calls() == 1  # only the archived page is left


def test_a_timeout_is_retried(harness: Harness) -> None:
    """The server holds the response longer than the client's timeout; the retry succeeds."""
    fault = Fault(kind="timeout", delay=0.4)
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), fault)
    pages = read_all(harness.adapter(timeout=0.1), Stream.ACCOUNTS)
    assert len(ids(pages)) == 5
    assert len(harness.sleeps) == 1
    assert harness.calls(SEARCH.format("companies")) == 2


def test_daily_limit_stops_the_stream_with_quota_exhausted(harness: Harness) -> None:
    harness.ctx.faults.script(hs.VENDOR, SEARCH.format("companies"), Fault(kind="quota"))
    with pytest.raises(QuotaExhaustedError):
        read_all(harness.adapter(), Stream.ACCOUNTS)
    assert harness.sleeps == []
    assert harness.calls(SEARCH.format("companies")) == 1


def test_check_refreshes_a_token_hubspot_no_longer_knows(harness: Harness) -> None:
    tokens = TokenSet(access_token="stale", refresh_token=harness.served.refresh_token)
    report = harness.adapter(tokens=tokens).check()
    assert "crm.objects.companies.read" in report.granted_scopes
    assert harness.calls(TOKEN) == 1
    assert len(harness.saved) == 1


def test_check_without_a_usable_grant_says_reconnect(harness: Harness) -> None:
    report = harness.adapter(tokens=TokenSet(access_token="stale", refresh_token="revoked")).check()
    assert not report.ok
    assert "Reconnect" in report.problems[0].hint


def test_full_read_includes_every_archived_record_once(make_harness: Callable[[Book], Harness]) -> None:
    book = make_book(customers=2)
    book.contacts["P0000002"].deleted_at = NOW - timedelta(days=60)
    h = make_harness(book)
    records = [r for p in read_all(h.adapter(), Stream.CONTACTS) for r in p.records]
    deleted = [r.external_id for r in records if r.deleted]
    assert deleted == [hs.numeric_id("contact", "P0000002")]
    assert len(records) == 4


def test_deletes_are_listed_at_most_hourly_and_none_is_lost(make_harness: Callable[[Book], Harness]) -> None:
    """Archived lists cost a call even when empty, so incremental reads list them at most hourly; a delete
    between two listings still arrives with the next one."""
    h = make_harness(companies_book(10))
    adapter = h.adapter()
    cursor = final(read_all(adapter, Stream.ACCOUNTS))
    archived_pages = "GET /crm/v3/objects/companies"
    for minutes in (20, 20):  # 20 and 40 minutes later: no listing
        h.advance(timedelta(minutes=minutes))
        h.ctx.book.customers["C000005"].hubspot.deleted_at = h.ctx.now - timedelta(minutes=1)
        h.ctx.counters.reset()
        pages = read_all(adapter, Stream.ACCOUNTS, cursor)
        cursor = final(pages)
        assert h.calls(archived_pages) == 0
        assert not [r for p in pages for r in p.records if r.deleted]
    h.advance(timedelta(minutes=25))  # 65 minutes after the last listing
    h.ctx.counters.reset()
    pages = read_all(adapter, Stream.ACCOUNTS, cursor)
    assert h.calls(archived_pages) == 1
    assert [r.external_id for p in pages for r in p.records if r.deleted] == [hs.company_id("C000005")]
