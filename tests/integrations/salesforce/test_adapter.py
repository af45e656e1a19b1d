"""Scenario tests: the Salesforce adapter against the Salesforce sandbox over TLS (unmodified simple-salesforce)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.base import Adapter, Page, Stream
from integrations.cursors import Cursor
from integrations.errors import (
    MalformedResponseError,
    PermissionDeniedError,
    QuotaExhaustedError,
    ReauthRequiredError,
)
from integrations.oauth import TokenSet
from integrations.records import (
    AccountRecord,
    CommentRecord,
    DealRecord,
    ScoreWrite,
    SurveyRecord,
    TicketRecord,
)
from integrations.registry import adapter_class
from integrations.salesforce.adapter import SalesforceAdapter
from integrations.sandbox import salesforce as sfs
from integrations.sandbox.context import Fault
from integrations.sandbox.ids import salesforce_id
from tests.integrations.salesforce.conftest import AdapterFactory, Recorder
from tests.integrations.salesforce.factory import SalesforceSandbox, make_book, served

QUERY_ALL = "GET /services/data/v59.0/queryAll/"
QUERY_MORE = "GET /services/data/v59.0/queryAll/<locator>"
TOKEN = "POST /services/oauth2/token"
COMPOSITE = "PATCH /services/data/v59.0/composite/sobjects"
TOOLING = "POST /services/data/v59.0/tooling/sobjects/CustomField"


def ids(pages: list[Page]) -> list[str]:
    return [r.external_id for p in pages for r in p.records]


def test_registry_builds_the_adapter_and_it_meets_the_protocol(make_adapter: AdapterFactory) -> None:
    assert adapter_class("salesforce") is SalesforceAdapter
    assert isinstance(make_adapter(), Adapter)


def test_every_stream_maps_the_book(make_adapter: AdapterFactory, sfbox: SalesforceSandbox) -> None:
    """One read per stream on the 6-customer book returns each vendor record once, mapped."""
    adapter = make_adapter()
    got = {stream: [r for p in adapter.read(stream, None) for r in p.records] for stream in Stream}
    assert [len(got[s]) for s in Stream] == [6, 6, 12, 6, 12, 36, 18]
    acc = next(r for r in got[Stream.ACCOUNTS] if isinstance(r, AccountRecord) and r.name == "Customer 2")
    assert acc.external_id == salesforce_id("Account", "C000002")
    assert (acc.arr, acc.arr_prev, acc.segment, acc.domains) == (
        20000,
        18000,
        "enterprise",
        ("customer2.example",),
    )
    assert acc.cross_ref == "360000003"  # even customers carry the Zendesk org id
    assert acc.owner == "Rep 2"
    assert acc.metrics == {"active_users": 20.0, "licensed_seats": 24.0}
    deal = next(r for r in got[Stream.DEALS] if isinstance(r, DealRecord))
    assert deal.kind == "renewal"
    tickets = {r.external_id: r for r in got[Stream.TICKETS] if isinstance(r, TicketRecord)}
    t5 = tickets[salesforce_id("Case", "T0000005")]
    assert (t5.status, t5.priority, t5.escalated) == ("new", "normal", True)
    t3 = tickets[salesforce_id("Case", "T0000003")]
    assert (t3.status, t3.priority, t3.full_resolution_minutes) == ("solved", "urgent", 1800.0)
    t4 = tickets[salesforce_id("Case", "T0000004")]
    assert (t4.status, t4.priority, t4.escalated) == ("closed", "low", False)
    comments = [r for r in got[Stream.COMMENTS] if isinstance(r, CommentRecord)]
    assert {c.author_role for c in comments} == {"customer", "agent"}
    assert all(c.ticket_external_id in tickets for c in comments)
    first = [c for c in comments if c.body == "Hello, message 0 on ticket 1"]
    assert [c.author_role for c in first] == ["customer"]
    kinds = [r.kind for r in got[Stream.SURVEYS] if isinstance(r, SurveyRecord)]
    assert (kinds.count("csat"), kinds.count("nps")) == (12, 6)


def test_pagination_reads_to_the_end_with_one_call_per_page(recorder: Recorder) -> None:
    """Salesforce pages at 2,000 rows: 2,100 contacts = query + one nextRecordsUrl call."""
    with served(make_book(105, contacts_per=20, deals_per=0, tickets_per=0)) as sb:
        adapter = _adapter(sb, recorder)
        pages = list(adapter.read(Stream.CONTACTS, None))
        assert [len(p.records) for p in pages] == [2000, 100]
        assert len(set(ids(pages))) == 2100
        assert sb.ctx.counters.get("salesforce", QUERY_ALL) == 1
        assert sb.ctx.counters.get("salesforce", QUERY_MORE) == 1
        assert adapter.api_calls == 2
        adapter.close()


def _adapter(sb: SalesforceSandbox, recorder: Recorder, **kw: object) -> SalesforceAdapter:
    from integrations.registry import Connection

    conn = Connection(
        vendor="salesforce",
        base_url=sb.base_url,
        token_url=f"{sb.base_url}/services/oauth2/token",
        client_id=sb.state.oauth.client_id,
        client_secret=sb.state.oauth.client_secret,
        tokens=TokenSet(
            access_token=sb.access_token, refresh_token=sb.refresh_token, instance_url=sb.base_url
        ),
        save_tokens=recorder.save,
        ca_file=sb.ca_file,
        sleep=recorder.sleep,
        clock=lambda: sb.ctx.book.now,
        **kw,  # type: ignore[arg-type]
    )
    return SalesforceAdapter(conn)


def test_incremental_after_a_change_reads_exactly_the_changed_and_deleted(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    adapter = make_adapter()
    first = list(adapter.read(Stream.ACCOUNTS, None))
    cursor = first[-1].cursor
    assert cursor is not None
    assert cursor.watermark == sfbox.ctx.book.now

    book = sfbox.ctx.book
    book.now += timedelta(days=1)
    book.customers["C000002"].salesforce.name = "Customer Two (renamed)"
    book.customers["C000002"].salesforce.updated_at = book.now
    book.customers["C000003"].deleted_at = book.now

    pages = list(adapter.read(Stream.ACCOUNTS, cursor))
    records = {r.external_id: r for p in pages for r in p.records}
    assert set(records) == {salesforce_id("Account", "C000002"), salesforce_id("Account", "C000003")}
    assert records[salesforce_id("Account", "C000003")].deleted is True
    assert records[salesforce_id("Account", "C000002")].deleted is False
    assert pages[-1].cursor == Cursor(watermark=book.now)


def test_nothing_changed_costs_one_call(make_adapter: AdapterFactory, sfbox: SalesforceSandbox) -> None:
    adapter = make_adapter()
    cursor = list(adapter.read(Stream.TICKETS, None))[-1].cursor
    before = sfbox.ctx.counters.get("salesforce")
    pages = list(adapter.read(Stream.TICKETS, cursor))
    assert ids(pages) == []
    assert sfbox.ctx.counters.get("salesforce") - before == 1


def test_overlap_rereads_late_commits_without_duplicates(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    """A row committed late with a SystemModstamp just before the saved cursor is still read (overlap)."""
    adapter = make_adapter()
    cursor = list(adapter.read(Stream.DEALS, None))[-1].cursor
    assert cursor is not None
    late = sfbox.ctx.book.deals["D0001000"]
    late.updated_at = sfbox.ctx.book.now - timedelta(minutes=2)
    again = [ids(list(adapter.read(Stream.DEALS, cursor))) for _ in range(2)]
    assert again[0] == again[1] == [salesforce_id("Opportunity", "D0001000")]


def test_cursor_per_page_resumes_after_a_crash_without_loss(recorder: Recorder) -> None:
    """Stop after page 1 (a crash before page 2 is committed): resuming from page 1's cursor loses nothing."""
    with served(make_book(30, contacts_per=10, deals_per=0, tickets_per=0)) as sb:
        for i, contact in enumerate(sb.ctx.book.contacts.values()):
            contact.updated_at = sb.ctx.book.now - timedelta(hours=300 - i)  # distinct stamps
        adapter = _adapter(sb, recorder, page_size=200)
        reader = adapter.read(Stream.CONTACTS, None)
        page1 = next(reader)
        reader.close()
        assert page1.cursor is not None
        assert page1.cursor.watermark is not None
        assert page1.cursor.watermark < sb.ctx.book.now
        resumed = list(adapter.read(Stream.CONTACTS, page1.cursor))
        every = {salesforce_id("Contact", k) for k in sb.ctx.book.contacts}
        assert set(ids([page1])) | set(ids(resumed)) == every
        assert len(ids(resumed)) < len(every)  # it repeats little
        adapter.close()


def test_rate_limit_waits_retry_after_then_succeeds(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox, recorder: Recorder
) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("rate_limit", retry_after=7))
    assert len(ids(list(make_adapter().read(Stream.ACCOUNTS, None)))) == 6
    assert recorder.sleeps == [7.0]
    assert sfbox.ctx.counters.get("salesforce", QUERY_ALL) == 2


def test_server_errors_back_off_and_retry(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox, recorder: Recorder
) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("server_error", status=503), times=2)
    assert len(ids(list(make_adapter().read(Stream.ACCOUNTS, None)))) == 6
    assert len(recorder.sleeps) == 2
    assert 0.25 <= recorder.sleeps[0] <= 0.5
    assert 0.5 <= recorder.sleeps[1] <= 1.0
    assert sfbox.ctx.counters.get("salesforce", QUERY_ALL) == 3


def test_expired_session_refreshes_exactly_once(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox, recorder: Recorder
) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"))
    adapter = make_adapter()
    assert len(ids(list(adapter.read(Stream.ACCOUNTS, None)))) == 6
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1
    assert len(recorder.saved) == 1
    assert recorder.saved[0].access_token != sfbox.access_token
    assert recorder.saved[0].access_token in sfbox.state.access_tokens
    assert recorder.saved[0].refresh_token == sfbox.refresh_token  # not rotated: the old one is kept
    assert adapter.api_calls == 3  # 401, token, retried query


def test_rotated_refresh_token_is_saved_at_once(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox, recorder: Recorder
) -> None:
    sfbox.state.extra["rotate_refresh"] = True
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"))
    list(make_adapter().read(Stream.ACCOUNTS, None))
    new = recorder.saved[0].refresh_token
    assert new is not None
    assert new != sfbox.refresh_token
    assert new in sfbox.state.refresh_tokens
    assert sfbox.refresh_token not in sfbox.state.refresh_tokens


def test_revoked_refresh_token_requires_reauth(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    """An admin revoked the app: the access token dies with it and the refresh grant gets invalid_grant."""
    session = sfbox.session()
    resp = session.post(f"{sfbox.base_url}/services/oauth2/revoke", data={"token": sfbox.refresh_token})
    assert resp.status_code == 200
    with pytest.raises(ReauthRequiredError) as info:
        list(make_adapter().read(Stream.ACCOUNTS, None))
    assert "invalid_grant" in info.value.detail
    assert "Reconnect" in info.value.hint
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1


def test_revoked_refresh_fault_requires_reauth(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"))
    sfbox.ctx.faults.script("salesforce", TOKEN, Fault("revoked_refresh"))
    with pytest.raises(ReauthRequiredError):
        list(make_adapter().read(Stream.ACCOUNTS, None))
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1


def test_second_401_after_refresh_is_reauth(make_adapter: AdapterFactory, sfbox: SalesforceSandbox) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"), times=2)
    with pytest.raises(ReauthRequiredError):
        list(make_adapter().read(Stream.ACCOUNTS, None))
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1


def test_token_about_to_expire_is_refreshed_before_the_call(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    soon = TokenSet(
        access_token=sfbox.access_token,
        refresh_token=sfbox.refresh_token,
        instance_url=sfbox.base_url,
        expires_at=sfbox.ctx.book.now + timedelta(minutes=1),
    )
    list(make_adapter(tokens=soon).read(Stream.ACCOUNTS, None))
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1
    assert sfbox.ctx.counters.get("salesforce", QUERY_ALL) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault("quota"), QuotaExhaustedError), (Fault("malformed_page"), MalformedResponseError)],
    ids=["request-limit-exceeded", "malformed-page"],
)
def test_failure_on_page_two_keeps_the_last_committed_cursor(
    recorder: Recorder, fault: Fault, error: type[Exception]
) -> None:
    """REQUEST_LIMIT_EXCEEDED stops cleanly; a malformed page fails the stream. Page 1's cursor stands."""
    with served(make_book(30, contacts_per=10, deals_per=0, tickets_per=0)) as sb:
        sb.ctx.faults.script("salesforce", QUERY_MORE, fault)
        adapter = _adapter(sb, recorder, page_size=200)
        pages: list[Page] = []
        with pytest.raises(error):
            pages.extend(
                adapter.read(Stream.CONTACTS, None)
            )  # extend keeps the pages yielded before the error
        committed = pages[-1].cursor
        assert committed is not None
        assert committed.watermark is not None
        assert committed.watermark <= sb.ctx.book.now
        assert recorder.sleeps == []  # neither is retried
        assert sb.ctx.counters.get("salesforce", QUERY_MORE) == 1
        adapter.close()


def test_malformed_first_page_yields_nothing(make_adapter: AdapterFactory, sfbox: SalesforceSandbox) -> None:
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("malformed_page"))
    with pytest.raises(MalformedResponseError):
        list(make_adapter().read(Stream.ACCOUNTS, None))


def test_ensure_fields_creates_once_and_is_idempotent(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    adapter = make_adapter()
    report = adapter.check()
    assert not report.ok
    assert len(report.missing_fields) == 8
    first = adapter.ensure_fields()
    assert [c.action for c in first] == ["created"] * 8
    assert "Health_Score__c" in sfbox.state.custom_fields
    second = adapter.ensure_fields()
    assert [c.action for c in second] == ["exists"] * 8
    assert sfbox.ctx.counters.get("salesforce", TOOLING) == 8
    assert adapter.check().ok


def test_ensure_fields_names_the_missing_permission(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    sfbox.state.extra["missing_permissions"] = {"CustomizeApplication"}
    with pytest.raises(PermissionDeniedError) as info:
        make_adapter().ensure_fields()
    assert info.value.missing == "Customize Application"
    assert "Customize Application" in info.value.hint


def test_check_reports_a_read_only_score_field(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    adapter = make_adapter()
    adapter.ensure_fields()
    sfbox.state.extra["readonly_fields"] = {"Health_Band__c"}
    report = adapter.check()
    assert not report.ok
    assert [p.message for p in report.problems] == [
        "Account.Health_Band__c is not writable by the integration user"
    ]


def _writes(account_ids: list[str], score: object = 71.25) -> list[ScoreWrite]:
    at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    return [
        ScoreWrite(
            account_external_id=a,
            values={"health_score": score, "health_band": "green", "health_scored_at": at},  # type: ignore[dict-item]
        )
        for a in account_ids
    ]


def test_write_scores_uses_one_call_per_200(recorder: Recorder) -> None:
    with served(make_book(450, contacts_per=0, deals_per=0, tickets_per=0)) as sb:
        adapter = _adapter(sb, recorder)
        adapter.ensure_fields()
        account_ids = sorted(salesforce_id("Account", k) for k in sb.ctx.book.customers)
        results = adapter.write_scores(_writes(account_ids))
        assert [r.account_external_id for r in results] == account_ids
        assert all(r.ok for r in results)
        assert sb.ctx.counters.get("salesforce", COMPOSITE) == 3  # ceil(450 / 200)
        written = sfs.written_fields(sb.ctx)
        assert written[account_ids[0]] == {
            "Health_Score__c": 71.2,
            "Health_Band__c": "green",
            "Health_Scored_At__c": "2026-06-01T12:00:00.000+0000",
        }
        adapter.close()


def test_written_values_show_up_in_the_next_incremental_read(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    """Our own write bumps SystemModstamp, as Salesforce does."""
    adapter = make_adapter()
    adapter.ensure_fields()
    cursor = list(adapter.read(Stream.ACCOUNTS, None))[-1].cursor
    sfbox.ctx.book.now += timedelta(hours=1)
    target = salesforce_id("Account", "C000004")
    assert adapter.write_scores(_writes([target]))[0].ok
    assert ids(list(adapter.read(Stream.ACCOUNTS, cursor))) == [target]


def test_partial_failure_reports_per_row(make_adapter: AdapterFactory, sfbox: SalesforceSandbox) -> None:
    adapter = make_adapter()
    adapter.ensure_fields()
    bad = salesforce_id("Account", "C000002")
    sfbox.ctx.faults.script("salesforce", COMPOSITE, Fault("reject_rows", ids=(bad,), message="Score locked"))
    targets = [salesforce_id("Account", f"C00000{i}") for i in range(1, 5)]
    results = adapter.write_scores(_writes(targets))
    assert [r.ok for r in results] == [True, False, True, True]
    assert (results[1].error_code, results[1].message, results[1].retryable) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Score locked",
        False,
    )
    assert sfbox.ctx.counters.get("salesforce", COMPOSITE) == 1
    assert bad not in sfs.written_fields(sfbox.ctx)


def test_batch_rejected_as_a_whole_is_split_until_the_bad_row_is_isolated(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    """One non-numeric score makes Salesforce refuse the whole request (JSON_PARSER_ERROR)."""
    adapter = make_adapter()
    adapter.ensure_fields()
    targets = [salesforce_id("Account", f"C00000{i}") for i in range(1, 7)]
    writes = _writes(targets[:3]) + _writes(targets[3:4], score="n/a") + _writes(targets[4:])
    results = adapter.write_scores(writes)
    assert [r.ok for r in results] == [True, True, True, False, True, True]
    assert results[3].error_code == "JSON_PARSER_ERROR"
    # 6 → (3 ok) + 3 → (1 ok) + 2 → (1 bad) + (1 ok)
    assert sfbox.ctx.counters.get("salesforce", COMPOSITE) == 5
    assert len(sfs.written_fields(sfbox.ctx)) == 5


def test_timeouts_are_retried(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox, recorder: Recorder
) -> None:
    """The sandbox holds the request longer than the client's timeout once; the retry goes through."""
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("timeout", delay=0.6))
    assert len(ids(list(make_adapter(timeout=0.2).read(Stream.ACCOUNTS, None)))) == 6
    assert len(recorder.sleeps) == 1
    assert sfbox.ctx.counters.get("salesforce", QUERY_ALL) == 2


def test_check_after_revocation_says_reconnect(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    sfbox.session().post(f"{sfbox.base_url}/services/oauth2/revoke", data={"token": sfbox.refresh_token})
    report = make_adapter().check()
    assert not report.ok
    assert "Reconnect Salesforce" in report.problems[0].hint


def test_check_reports_a_missing_survey_object(make_adapter: AdapterFactory) -> None:
    report = make_adapter(settings={"survey_object": "Widget__c"}).check()
    assert any("survey object Widget__c is not readable" in p.message for p in report.problems)


def test_no_survey_object_means_no_survey_reads(
    make_adapter: AdapterFactory, sfbox: SalesforceSandbox
) -> None:
    adapter = make_adapter(settings={"survey_object": None})
    assert list(adapter.read(Stream.SURVEYS, None)) == []
    assert adapter.check().problems[0].message.startswith("missing Account fields")  # no survey problem
    assert sfbox.ctx.counters.get("salesforce", "GET *query*") == 0
