"""Zendesk adapter scenarios against the sandbox (real zenpy over TLS), with exact call counts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from integrations.base import Adapter, Page, Stream
from integrations.cursors import Cursor
from integrations.errors import (
    FatalIntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    ReauthRequiredError,
)
from integrations.oauth import TokenSet
from integrations.records import AccountRecord, CommentRecord, ScoreWrite, SurveyRecord, TicketRecord
from integrations.registry import adapter_class
from integrations.sandbox import zendesk as zsb
from integrations.sandbox.book import Comment
from integrations.sandbox.context import Fault
from integrations.zendesk.adapter import ZendeskAdapter
from tests.integrations.zendesk.conftest import MakeAdapter, Recorder
from tests.integrations.zendesk.factory import Sandbox, build_book, reset

EXPORT = "GET /api/v2/incremental/tickets/cursor.json"
COMMENTS = "GET /api/v2/tickets/<int:tid>/comments.json"
EVENTS = "GET /api/v2/incremental/ticket_events.json"
USERS = "GET /api/v2/users.json"
TOKEN = "POST /oauth/tokens"


def ids(pages: list[Page]) -> list[str]:
    return [r.external_id for p in pages for r in p.records]


def zendesk_ticket_ids(sb: Sandbox) -> set[str]:
    return {str(zsb.ticket_id(t.key)) for t in sb.ctx.book.tickets.values() if t.channel == "zendesk"}


def later(sb: Sandbox, hours: int = 1) -> None:
    sb.ctx.book.now += timedelta(hours=hours)


def test_registry_builds_the_adapter(make_adapter: MakeAdapter) -> None:
    assert adapter_class("zendesk") is ZendeskAdapter
    assert isinstance(make_adapter(), Adapter)


def test_tickets_page_to_the_end_with_metrics(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    """Cursor-based export: 5 tickets at 2 a page is 3 export calls; every page carries Zendesk's after_cursor."""
    adapter = make_adapter(page_size=2)
    pages = list(adapter.read(Stream.TICKETS, None))
    assert sorted(ids(pages)) == sorted(zendesk_ticket_ids(sandbox))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert all(p.cursor is not None and p.cursor.token for p in pages)
    assert sandbox.ctx.counters.get("zendesk", EXPORT) == 3
    # group names come sideloaded with the export (include=groups): no extra call
    assert adapter.api_calls == sandbox.ctx.counters.get("zendesk") == 3
    assert {r.group for p in pages for r in p.records if isinstance(r, TicketRecord)} == {"Tier 1"}
    by_id = {r.external_id: r for p in pages for r in p.records if isinstance(r, TicketRecord)}
    solved = by_id[str(zsb.ticket_id("T0000002"))]
    assert (solved.full_resolution_minutes, solved.first_reply_minutes) == (50.0, 30.0)
    assert solved.requester_email == "user3@customer3.example"
    assert by_id[str(zsb.ticket_id("T0000003"))].escalated
    assert by_id[str(zsb.ticket_id("T0000004"))].reopens == 1
    assert not by_id[str(zsb.ticket_id("T0000005"))].escalated  # urgent alone is not an escalation


def test_accounts_with_domains_and_cross_ref(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    pages = list(make_adapter(page_size=2).read(Stream.ACCOUNTS, None))
    records = {r.external_id: r for p in pages for r in p.records if isinstance(r, AccountRecord)}
    assert set(records) == {str(zsb.org_id(k)) for k in sandbox.ctx.book.customers}
    c2 = records[str(zsb.org_id("C000002"))]
    assert c2.domains == ("customer2.example",)
    assert c2.cross_ref == "0015g0000000002AAA"
    assert records[str(zsb.org_id("C000001"))].cross_ref is None
    assert (
        sandbox.ctx.counters.get("zendesk", "GET /api/v2/incremental/organizations.json") == len(pages) == 2
    )


def test_incremental_after_a_change_reads_exactly_the_changed_and_deleted(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """The saved after_cursor resumes exactly: a changed and a deleted ticket, nothing else, in one call."""
    adapter = make_adapter()
    cursor = list(adapter.read(Stream.TICKETS, None))[-1].cursor
    later(sandbox)
    book = sandbox.ctx.book
    book.tickets["T0000001"].updated_at = book.now - timedelta(minutes=10)
    book.tickets["T0000002"].deleted_at = book.now - timedelta(minutes=9)
    book.tickets["T0000003"].updated_at = book.now - timedelta(seconds=20)  # inside Zendesk's excluded minute
    sandbox.ctx.counters.reset()
    pages = list(make_adapter().read(Stream.TICKETS, cursor))
    records = [r for p in pages for r in p.records if isinstance(r, TicketRecord)]
    assert {(r.external_id, r.deleted) for r in records} == {
        (str(zsb.ticket_id("T0000001")), False),
        (str(zsb.ticket_id("T0000002")), True),
    }
    assert sandbox.ctx.counters.get("zendesk") == 1
    last = pages[-1].cursor
    assert last is not None
    assert last.watermark == book.now - timedelta(minutes=9)


def test_overlap_rereads_without_duplicates(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    """Without a token the export restarts at watermark - 5 min: the overlap is re-read, each id once."""
    full = list(make_adapter().read(Stream.TICKETS, None))
    watermark = full[-1].cursor.watermark if full[-1].cursor else None
    assert watermark is not None
    pages = list(make_adapter().read(Stream.TICKETS, Cursor(watermark=watermark)))
    read = ids(pages)
    assert len(read) == len(set(read))
    newest = {str(zsb.ticket_id("T0000005"))}  # updated at the watermark: inside the overlap window
    assert newest <= set(read) < zendesk_ticket_ids(sandbox)


def test_cursor_never_passes_the_sync_start(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    sandbox.ctx.book.tickets["T0000001"].updated_at = sandbox.ctx.book.now - timedelta(minutes=2)
    pages = list(make_adapter().read(Stream.TICKETS, None))
    last = pages[-1].cursor
    assert last is not None
    assert last.watermark is not None
    assert last.watermark <= sandbox.ctx.book.now


def test_nothing_changed_costs_one_call_per_stream(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    cursors = {s: list(adapter.read(s, None))[-1].cursor for s in sorted(adapter.streams)}
    later(sandbox)
    sandbox.ctx.counters.reset()
    again = make_adapter()
    for stream, cursor in cursors.items():
        assert not [r for p in again.read(stream, cursor) for r in p.records if stream is Stream.TICKETS]
    assert sandbox.ctx.counters.get("zendesk") == 4
    assert sandbox.ctx.counters.get("zendesk", COMMENTS) == 0


def book_comments(sb: Sandbox) -> dict[str, Comment]:
    return {
        str(zsb.comment_id(c.key)): c
        for t in sb.ctx.book.tickets.values()
        if t.channel == "zendesk"
        for c in t.comments
    }


def event_count(sb: Sandbox) -> int:
    """Events the sandbox exports: one per comment, one per solve (the factory book deletes nothing)."""
    solved = sum(1 for t in sb.ctx.book.tickets.values() if t.channel == "zendesk" and t.solved_at)
    return len(book_comments(sb)) + solved


def time_pages(events: int, per_page: int) -> int:
    """Calls a time-based export needs when every event has its own second: later pages start AT the previous
    page's end_time, so each repeats one event."""
    return 1 if events <= per_page else 1 + -(-(events - per_page) // (per_page - 1))


def add_comment(sb: Sandbox, ticket_key: str, n: int, *, role: str, minutes_ago: int) -> Comment:
    t = sb.ctx.book.tickets[ticket_key]
    c = Comment(
        key=f"M9{n:07d}",
        ticket_key=t.key,
        author_role="agent" if role == "agent" else "customer",
        author_email="ann.agent@northpeak.io" if role == "agent" else t.requester_email,
        author_name="Ann Agent" if role == "agent" else "Pat Customer",
        public=True,
        body=f"new comment {n}",
        html_body=f"<p>new comment {n}</p>",
        created_at=sb.ctx.book.now - timedelta(minutes=minutes_ago),
    )
    t.comments.append(c)
    t.updated_at = c.created_at
    return c


def test_full_comment_read_is_one_event_page_and_one_agent_lookup(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """Comments come from the ticket event export in bulk: 12 events are 1 export call, plus 1 agent list
    call for the roles; the per-ticket comments endpoint is never called."""
    adapter = make_adapter()
    pages = list(adapter.read(Stream.COMMENTS, None))
    comments = [r for p in pages for r in p.records if isinstance(r, CommentRecord)]
    book = book_comments(sandbox)
    assert sorted(c.external_id for c in comments) == sorted(book)
    for c in comments:
        assert c.author_role == book[c.external_id].author_role
        assert c.body == book[c.external_id].body
        assert c.public == book[c.external_id].public
        assert c.created_at == book[c.external_id].created_at
        assert c.ticket_external_id == str(zsb.ticket_id(book[c.external_id].ticket_key))
    assert sandbox.ctx.counters.get("zendesk", EVENTS) == 1
    assert sandbox.ctx.counters.get("zendesk", USERS) == 1
    assert sandbox.ctx.counters.get("zendesk", COMMENTS) == 0
    assert adapter.api_calls == sandbox.ctx.counters.get("zendesk") == 2


@pytest.mark.parametrize("page_size", [2, 3, 5, 1000])
def test_full_comment_read_makes_the_minimum_event_pages(
    sandbox: Sandbox, make_adapter: MakeAdapter, page_size: int
) -> None:
    """Exact call count per page size; edge events that a time-based page repeats are sent once."""
    pages = list(make_adapter(page_size=page_size).read(Stream.COMMENTS, None))
    comment_ids = [r.external_id for p in pages for r in p.records]
    assert sorted(comment_ids) == sorted(book_comments(sandbox))
    assert sandbox.ctx.counters.get("zendesk", EVENTS) == time_pages(event_count(sandbox), page_size)
    assert sandbox.ctx.counters.get("zendesk", USERS) == 1
    assert all(p.cursor is not None and p.cursor.watermark is not None for p in pages)


def test_comments_after_a_change_cost_one_call_per_page_plus_the_agent_list(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """k new comments: ⌈k/page⌉ export calls and one agent lookup (a new adapter, so nothing is cached)."""
    cursor = list(make_adapter().read(Stream.COMMENTS, None))[-1].cursor
    later(sandbox)
    new = [
        add_comment(sandbox, "T0000004", 1, role="agent", minutes_ago=30),
        add_comment(sandbox, "T0000001", 2, role="customer", minutes_ago=20),
        add_comment(sandbox, "T0000004", 3, role="customer", minutes_ago=10),
    ]
    sandbox.ctx.counters.reset()
    pages = list(make_adapter().read(Stream.COMMENTS, cursor))
    got = {(r.external_id, r.author_role) for p in pages for r in p.records if isinstance(r, CommentRecord)}
    assert got == {(str(zsb.comment_id(c.key)), c.author_role) for c in new}
    assert sandbox.ctx.counters.get("zendesk") == 2  # 1 event page + 1 agent list


def test_idle_comment_read_is_one_call_even_inside_the_overlap(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """The re-read overlap window returns events already sent; the cursor lists them, so nothing is sent
    again and no agent lookup is needed: one call, with or without the clock moving."""
    adapter = make_adapter()
    add_comment(sandbox, "T0000002", 4, role="customer", minutes_ago=3)  # newest event: in any overlap
    cursor = list(adapter.read(Stream.COMMENTS, None))[-1].cursor
    assert cursor is not None
    for hours in (0, 1):
        later(sandbox, hours)
        sandbox.ctx.counters.reset()
        pages = list(make_adapter().read(Stream.COMMENTS, cursor))
        assert [r for p in pages for r in p.records] == []
        assert sandbox.ctx.counters.get("zendesk") == 1
        assert pages[-1].cursor == cursor


def test_comment_cursor_without_a_token_rereads_the_overlap(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """An older cursor (no event token) restarts at watermark - 5 min and sends that window again."""
    newest = add_comment(sandbox, "T0000002", 5, role="customer", minutes_ago=3)
    cursor = list(make_adapter().read(Stream.COMMENTS, None))[-1].cursor
    assert cursor is not None
    assert cursor.watermark == newest.created_at
    old_style = Cursor(watermark=cursor.watermark, token="a-ticket-export-after-cursor")
    pages = list(make_adapter().read(Stream.COMMENTS, old_style))
    assert [r.external_id for p in pages for r in p.records] == [str(zsb.comment_id(newest.key))]


def test_comment_cursor_never_passes_the_sync_start(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    add_comment(sandbox, "T0000001", 6, role="customer", minutes_ago=2)
    pages = list(make_adapter().read(Stream.COMMENTS, None))
    last = pages[-1].cursor
    assert last is not None
    assert last.watermark is not None
    assert last.watermark <= sandbox.ctx.book.now - timedelta(seconds=60)


def test_more_events_in_one_second_than_a_page_stops_loudly(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    """A time-based page full of one second's events would be returned forever: fail instead of looping."""
    t = sandbox.ctx.book.tickets["T0000001"]
    t.comments[1].created_at = t.comments[0].created_at
    with pytest.raises(FatalIntegrationError):
        list(make_adapter(page_size=1).read(Stream.COMMENTS, None))


def test_surveys_good_is_5_bad_is_1(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    pages = list(make_adapter().read(Stream.SURVEYS, None))
    scores = {r.ticket_external_id: r.score for p in pages for r in p.records if isinstance(r, SurveyRecord)}
    assert scores == {str(zsb.ticket_id("T0000002")): 5.0, str(zsb.ticket_id("T0000004")): 1.0}
    assert pages[-1].cursor is not None


def test_429_waits_retry_after_then_continues(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    """zenpy does not sleep (budget 1 s): our policy sleeps exactly the Retry-After, through the injected sleep."""
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="rate_limit", retry_after=7))
    pages = list(make_adapter().read(Stream.TICKETS, None))
    assert sorted(ids(pages)) == sorted(zendesk_ticket_ids(sandbox))
    assert recorder.sleeps == [7.0]
    assert sandbox.ctx.counters.get("zendesk", EXPORT) == 2


@pytest.mark.parametrize("status", [500, 503], ids=["json-500", "text-503"])
def test_5xx_is_retried_with_jittered_backoff(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder, status: int
) -> None:
    sandbox.ctx.faults.script(
        "zendesk", "GET /api/v2/incremental/organizations.json", Fault(kind="server_error", status=status)
    )
    pages = list(make_adapter().read(Stream.ACCOUNTS, None))
    assert len(ids(pages)) == 3
    assert len(recorder.sleeps) == 1
    assert 0.25 <= recorder.sleeps[0] <= 0.5


def test_401_refreshes_exactly_once_and_saves_the_rotated_tokens(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="expired_token"))
    adapter = make_adapter()
    pages = list(adapter.read(Stream.TICKETS, None))
    assert len(ids(pages)) == 5
    assert sandbox.ctx.counters.get("zendesk", TOKEN) == 1
    assert len(recorder.saved) == 1
    saved = recorder.saved[0]
    assert saved.access_token != sandbox.token
    assert saved.refresh_token != sandbox.refresh_token
    assert saved.access_token in sandbox.state.access_tokens
    assert sandbox.token not in sandbox.state.access_tokens  # Zendesk deleted the old pair
    assert adapter.api_calls == sandbox.ctx.counters.get("zendesk") == 3  # 401, token, retried export


def test_revoked_refresh_token_needs_reauth(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="expired_token"))
    sandbox.ctx.faults.script("zendesk", TOKEN, Fault(kind="revoked_refresh"))
    with pytest.raises(ReauthRequiredError) as info:
        list(make_adapter().read(Stream.TICKETS, None))
    assert "Reconnect Zendesk" in info.value.hint
    assert sandbox.ctx.counters.get("zendesk", TOKEN) == 1
    assert recorder.saved == []


def test_proactive_refresh_before_expiry(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    adapter = make_adapter()
    adapter._client.tokens = TokenSet(  # an installation whose token expires in 2 minutes
        access_token=sandbox.token,
        refresh_token=sandbox.refresh_token,
        expires_at=sandbox.ctx.book.now + timedelta(minutes=2),
    )
    list(adapter.read(Stream.ACCOUNTS, None))
    assert sandbox.ctx.counters.get("zendesk", TOKEN) == 1
    assert recorder.saved[0].expires_at == sandbox.ctx.book.now + timedelta(hours=2)


def test_crash_between_pages_resumes_without_loss(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    reading: Iterator[Page] = make_adapter(page_size=2).read(Stream.TICKETS, None)
    first = next(reading)
    reading.close()  # the process dies after committing page 1
    rest = list(make_adapter(page_size=2).read(Stream.TICKETS, first.cursor))
    assert sorted(ids([first]) + ids(rest)) == sorted(zendesk_ticket_ids(sandbox))
    assert sandbox.ctx.counters.get("zendesk", EXPORT) == 3


@pytest.mark.parametrize("message", ["", "shape"], ids=["truncated-json", "wrong-shape"])
def test_malformed_page_fails_the_stream_and_leaves_the_cursor(
    sandbox: Sandbox, make_adapter: MakeAdapter, message: str
) -> None:
    reading = make_adapter(page_size=2).read(Stream.TICKETS, None)
    saved = next(reading).cursor
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="malformed_page", message=message))
    with pytest.raises(MalformedResponseError):
        next(reading)
    assert saved is not None
    assert saved.token  # the caller still holds page 1's cursor; resuming from it reads pages 2 and 3
    assert len(ids(list(make_adapter(page_size=2).read(Stream.TICKETS, saved)))) == 3


def test_ensure_fields_is_idempotent(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    first = adapter.ensure_fields()
    assert {c.action for c in first} == {"created"}
    assert len(first) == 8
    second = adapter.ensure_fields()
    assert {c.action for c in second} == {"exists"}
    assert sandbox.ctx.counters.get("zendesk", "POST /api/v2/organization_fields.json") == 8
    assert sandbox.state.custom_fields["healthscore_band"]["type"] == "dropdown"


def test_ensure_fields_without_permission_names_the_scope(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    sandbox.state.access_tokens["readonly"] = sandbox.ctx.book.now + timedelta(hours=1)
    sandbox.state.extra["scopes"]["readonly"] = "read"
    with pytest.raises(PermissionDeniedError) as info:
        make_adapter(access_token="readonly", refresh_token="").ensure_fields()
    assert info.value.missing is not None
    assert "write scope" in info.value.missing
    assert "admin" in info.value.missing


def test_check_reports_missing_fields_then_ok(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    before = adapter.check()
    assert not before.ok
    assert len(before.missing_fields) == 8
    adapter.ensure_fields()
    after = adapter.check()
    assert after.ok
    assert after.granted_scopes == ("read", "write")


def writes(*org_keys: str, score: float = 70.0) -> list[ScoreWrite]:
    return [
        ScoreWrite(
            account_external_id=str(zsb.org_id(k)), values={"health_score": score, "health_band": "green"}
        )
        for k in org_keys
    ]


def test_write_scores_calls_update_many_per_100(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    reset(sandbox, build_book(customers=250, tickets=0))
    adapter = make_adapter()
    adapter.ensure_fields()
    keys = list(sandbox.ctx.book.customers)
    results = adapter.write_scores(writes(*keys, score=81.0))
    assert all(r.ok for r in results)
    assert [r.account_external_id for r in results] == [str(zsb.org_id(k)) for k in keys]
    assert sandbox.ctx.counters.get("zendesk", "PUT /api/v2/organizations/update_many.json") == 3
    assert sandbox.ctx.counters.get("zendesk", "GET /api/v2/job_statuses/show_many.json") == 1
    assert sandbox.ctx.counters.get("zendesk", "GET /api/v2/job_statuses/<job>.json") == 0
    assert recorder.sleeps == [0.25]  # the three jobs run while we wait once, then are polled in one call
    written = zsb.written_fields(sandbox.ctx)
    assert written[str(zsb.org_id(keys[-1]))] == {
        "healthscore_score": 81.0,
        "healthscore_band": "healthscore_band_green",
    }


def test_write_scores_waits_per_window_of_jobs_not_per_job(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 jobs, 2 in flight at most, each done on its second poll: two windows of one 0.25 s + 0.5 s wait."""
    from integrations.zendesk import adapter as zd_adapter

    monkeypatch.setattr(zd_adapter, "JOBS_AT_ONCE", 2)
    reset(sandbox, build_book(customers=250, tickets=0))
    sandbox.state.extra["job_polls_to_complete"] = 2
    adapter = make_adapter()
    adapter.ensure_fields()
    keys = list(sandbox.ctx.book.customers)
    results = adapter.write_scores(writes(*keys, score=55.0))
    assert all(r.ok for r in results)
    assert [r.account_external_id for r in results] == [str(zsb.org_id(k)) for k in keys]
    assert recorder.sleeps == [0.25, 0.5, 0.25, 0.5]
    assert (
        sandbox.ctx.counters.get("zendesk", "GET /api/v2/job_statuses/show_many.json") == 4
    )  # a call a round


def test_write_scores_per_item_failures(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    adapter.ensure_fields()
    bad = str(zsb.org_id("C000002"))
    sandbox.ctx.faults.script(
        "zendesk",
        "PUT *update_many*",
        Fault(kind="reject_rows", status=200, ids=(bad,), message="locked"),
        times=99,
    )
    results = adapter.write_scores(
        [*writes("C000001", "C000002"), ScoreWrite(account_external_id="42", values={})]
    )
    assert [(r.ok, r.error_code) for r in results] == [
        (True, None),
        (False, "RecordInvalid"),
        (False, "RecordNotFound"),
    ]
    assert results[1].message == "locked"
    assert not results[1].retryable


def test_whole_batch_rejection_is_split_to_isolate_the_bad_row(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    reset(sandbox, build_book(customers=4, tickets=0))
    adapter = make_adapter()
    adapter.ensure_fields()
    bad = str(zsb.org_id("C000003"))
    sandbox.ctx.faults.rate(
        "zendesk", "PUT *update_many*", Fault(kind="reject_rows", status=422, ids=(bad,)), rate=0.0
    )
    results = adapter.write_scores(writes("C000001", "C000002", "C000003", "C000004"))
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[2].error_code == "RecordInvalid"
    # [1-4] refused → [1,2] ok + [3,4] refused → [3] refused + [4] ok
    assert sandbox.ctx.counters.get("zendesk", "PUT /api/v2/organizations/update_many.json") == 5


def test_job_polling_is_bounded(sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder) -> None:
    sandbox.state.extra["job_polls_to_complete"] = 3
    adapter = make_adapter()
    adapter.ensure_fields()
    assert all(r.ok for r in adapter.write_scores(writes("C000001")))
    assert recorder.sleeps == [0.25, 0.5, 1.0]
    recorder.sleeps.clear()
    sandbox.state.extra["job_polls_to_complete"] = 10
    slow = make_adapter(max_polls=2).write_scores(writes("C000001"))
    assert [(r.ok, r.error_code, r.retryable) for r in slow] == [(False, "job_timeout", True)]
    assert recorder.sleeps == [0.25, 0.5]


def test_the_default_polls_wait_for_a_job_as_long_as_before() -> None:
    """The shorter first poll (one Show Many call per round) does not make a slow job time out sooner: the
    default 14 polls wait at least the 12 polls from 1 s did (1+2+4+8x9 = 79 s)."""
    from integrations.zendesk.adapter import FIRST_POLL_S
    from integrations.zendesk.params import poll_delays

    assert sum(poll_delays(14, first=FIRST_POLL_S)) >= sum(poll_delays(12))


def test_non_numeric_account_id_is_rejected_without_a_call(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    results = make_adapter().write_scores(
        [ScoreWrite(account_external_id="001ABC", values={"health_score": 1.0})]
    )
    assert [(r.ok, r.error_code) for r in results] == [(False, "InvalidId")]
    assert sandbox.ctx.counters.get("zendesk") == 0


def test_429_without_retry_after_waits_a_full_minute(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    """Zendesk limits are per minute: with no Retry-After the policy waits one whole window."""
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="quota"))
    assert len(ids(list(make_adapter().read(Stream.TICKETS, None)))) == 5
    assert recorder.sleeps == [60.0]


def test_gateway_timeout_and_read_timeout_are_retried(
    sandbox: Sandbox, make_adapter: MakeAdapter, recorder: Recorder
) -> None:
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="timeout", delay=0.0))
    sandbox.ctx.faults.script(
        "zendesk", EXPORT, Fault(kind="slow", delay=0.5)
    )  # longer than the client timeout
    adapter = make_adapter(timeout=0.2)
    assert len(ids(list(adapter.read(Stream.TICKETS, None)))) == 5
    assert len(recorder.sleeps) == 2
    assert sandbox.ctx.counters.get("zendesk", EXPORT) == 3


def test_ensure_fields_tolerates_a_concurrent_create(sandbox: Sandbox, make_adapter: MakeAdapter) -> None:
    """Another run created a field between our list and our POST: 422 "already taken" counts as exists."""
    adapter = make_adapter()
    original = adapter._client.organization_fields
    calls = {"n": 0}

    def stale_then_fresh() -> list[dict[str, object]]:
        calls["n"] += 1
        if calls["n"] == 1:
            make_adapter().ensure_fields()  # the other run
            return []
        return original()

    adapter._client.organization_fields = stale_then_fresh  # type: ignore[method-assign]
    changes = adapter.ensure_fields()
    assert {c.action for c in changes} == {"exists"}
    assert sandbox.ctx.counters.get("zendesk", "POST /api/v2/organization_fields.json") == 16


def test_deleted_and_renamed_organizations_arrive_incrementally(
    sandbox: Sandbox, make_adapter: MakeAdapter
) -> None:
    cursor = list(make_adapter().read(Stream.ACCOUNTS, None))[-1].cursor
    later(sandbox, hours=2)
    book = sandbox.ctx.book
    book.customers["C000001"].zendesk.deleted_at = book.now - timedelta(minutes=30)
    book.customers["C000003"].zendesk.name = "Customer Three (renamed)"
    book.customers["C000003"].zendesk.updated_at = book.now - timedelta(minutes=20)
    pages = list(make_adapter().read(Stream.ACCOUNTS, cursor))
    got = {r.external_id: r for p in pages for r in p.records if isinstance(r, AccountRecord)}
    assert got[str(zsb.org_id("C000001"))].deleted
    assert got[str(zsb.org_id("C000003"))].name == "Customer Three (renamed)"
    assert len(ids(pages)) == len(got)  # the overlap re-reads C000002 too, but each organization once


LIST = "GET /api/v2/organizations.json"
ORG_EXPORT = "GET /api/v2/incremental/organizations.json"


def _one_second(sandbox: Sandbox, at: datetime) -> None:
    for c in sandbox.ctx.book.customers.values():
        c.zendesk.updated_at = at


def test_a_second_holding_more_than_a_page_is_read_once_and_passed(
    server: Sandbox, make_adapter: MakeAdapter
) -> None:
    """7 organizations in one second, 2 a page: the export alone would return the same page forever."""
    sandbox = reset(server, build_book(customers=7, tickets=1))
    second = sandbox.ctx.book.now - timedelta(hours=3)
    _one_second(sandbox, second)
    reading = make_adapter(page_size=2).read(Stream.ACCOUNTS, None)
    pages = list(itertools.islice(reading, 50))  # a loop would fill all 50
    assert len(pages) < 50
    got = ids(pages)
    assert sorted(got) == sorted(str(zsb.org_id(k)) for k in sandbox.ctx.book.customers)  # each once
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.watermark == second  # the cursor advanced to (and past) the crowded second
    # from 0 to the crowded second, the same second again (stuck: the list is read), then the next second
    assert sandbox.ctx.counters.get("zendesk", ORG_EXPORT) == 3
    assert sandbox.ctx.counters.get("zendesk", LIST) == 1  # 7 organizations: one list page of 100


def test_incremental_read_after_a_write_back_in_one_second(
    server: Sandbox, make_adapter: MakeAdapter
) -> None:
    """Incremental: a cursor from an earlier read, then more than a page bumped into one second."""
    sandbox = reset(server, build_book(customers=6, tickets=1))
    cursor = list(make_adapter().read(Stream.ACCOUNTS, None))[-1].cursor
    sandbox.ctx.book.now += timedelta(days=1)
    bumped = sandbox.ctx.book.now - timedelta(hours=2)
    keys = sorted(sandbox.ctx.book.customers)[:5]
    for key in keys:
        sandbox.state.extra["bumped"][zsb.org_id(key)] = bumped
    pages = list(itertools.islice(make_adapter(page_size=2).read(Stream.ACCOUNTS, cursor), 50))
    assert len(pages) < 50
    got = ids(pages)
    assert {str(zsb.org_id(k)) for k in keys} <= set(got)  # the overlap may re-read the newest one too
    assert len(got) == len(set(got))
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.watermark is not None
    assert pages[-1].cursor.watermark >= bumped


def test_page_edges_send_each_organization_once(server: Sandbox, make_adapter: MakeAdapter) -> None:
    """One organization a second at 2 a page: the next page starts AT end_time and repeats its item."""
    sandbox = reset(server, build_book(customers=6, tickets=1))
    base = sandbox.ctx.book.now - timedelta(hours=5)
    for n, key in enumerate(sorted(sandbox.ctx.book.customers)):
        sandbox.ctx.book.customers[key].zendesk.updated_at = base + timedelta(seconds=n)
    pages = list(make_adapter(page_size=2).read(Stream.ACCOUNTS, None))
    got = ids(pages)
    assert len(got) == len(set(got)) == 6
    assert sandbox.ctx.counters.get("zendesk", LIST) == 0
