"""The adapter contract: the same scenarios against Salesforce, HubSpot and Zendesk on the sandboxes.

ARCHITECTURE.md §4 and issue 5: pagination to the end, incremental cursor with overlap, deletes, a crash
between pages, 429 + Retry-After, 5xx, timeouts, 401 → one refresh → retry, revoked refresh token, a
malformed page, missing fields and permissions, partial write-back failure and write batch sizes. Every
scenario runs once per vendor on the shared seeded sandbox set (tests/fixtures_sandbox.py, reset per test);
what differs per vendor lives in tests/integrations/contract_support.py. Outcomes are checked against the
book and the sandbox's own ground truth, and call counts against the sandbox's counters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from integrations.base import Stream
from integrations.cursors import DEFAULT_OVERLAP, Cursor
from integrations.errors import (
    MalformedResponseError,
    PermissionDeniedError,
    RateLimitError,
    ReauthRequiredError,
    TransientError,
)
from integrations.sandbox.context import Fault
from tests.integrations.contract_support import (
    SPECS,
    VENDORS,
    Harness,
    ids,
    last_cursor,
    records,
    score_writes,
    stamp,
)

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")


@pytest.fixture(params=VENDORS, ids=VENDORS)
def h(request: pytest.FixtureRequest, sandbox: SandboxSet) -> Iterator[Harness]:
    harness = Harness(spec=SPECS[request.param], sandbox=sandbox)
    yield harness
    harness.close()


# ------------------------------------------------------------------------------------------------ reading


def test_full_read_pages_to_the_end(h: Harness) -> None:
    """A full read follows the vendor's paging (SF nextRecordsUrl, HubSpot paging.next.after, Zendesk
    after_cursor) to the end: every account and ticket the vendor carries, each once."""
    truth = h.spec.truth(h.ctx)
    adapter = h.adapter(page_size=h.spec.tickets_page_size)
    accounts = records(list(adapter.read(Stream.ACCOUNTS, None)))
    pages = list(adapter.read(Stream.TICKETS, None))
    tickets = records(pages)
    assert len(accounts) == len(truth["accounts"])
    assert {r.external_id for r in accounts} == set(truth["accounts"])
    assert len(tickets) == len(truth["tickets"])
    assert {r.external_id for r in tickets} == set(truth["tickets"])
    assert h.calls(h.spec.tickets_next) >= 2  # the tickets really spanned several pages
    assert h.sleeps == []
    assert h.token_calls() == 0


def _delete_one_ticket(h: Harness, changed: set[str]) -> str:
    """Delete one ticket this vendor carries that the tick changed, as seed_tick deletes spam: deleted_at
    = updated_at, inside the tick's window and outside the vendor's export lag."""
    book = h.ctx.book
    ours = set(h.spec.truth(h.ctx)["tickets"])
    limit = book.now - h.spec.export_lag - timedelta(minutes=10)
    with h.ctx.lock:
        for key in sorted(changed):
            t = book.tickets[key]
            if h.spec.ticket_id(key) in ours and t.deleted_at is None and t.updated_at <= limit:
                t.deleted_at = t.updated_at = limit
                return key
    raise AssertionError("the tick changed no ticket of this vendor to delete")


def _change_two_accounts(h: Harness) -> tuple[str, str, datetime]:
    """Rename one customer and delete another in this vendor only (seed_tick renames the same way; a
    vendor-side delete is a merged or removed record), so every vendor has an account change and an account
    delete to pick up (the tick's own usage updates never touch a Zendesk org, and it deletes no account)."""
    book = h.ctx.book
    when = book.now - h.spec.export_lag - timedelta(minutes=20)
    picked: list[str] = []
    with h.ctx.lock:
        for key in sorted(book.customers):
            cust = book.customers[key]
            presence = getattr(cust, h.vendor)
            if presence.present and not presence.duplicate_of and cust.deleted_at is None:
                picked.append(key)
            if len(picked) == 2:
                break
        renamed, deleted = (getattr(book.customers[k], h.vendor) for k in picked)
        renamed.name = f"{renamed.name or book.customers[picked[0]].name} (renamed)"
        renamed.updated_at = when
        deleted.deleted_at = deleted.updated_at = when
        for key in picked:
            cust = book.customers[key]
            cust.updated_at = max(cust.updated_at or when, when)
    return picked[0], picked[1], when


def test_incremental_after_a_tick_reads_exactly_the_changes_and_deletes(h: Harness) -> None:
    """After a sandbox tick, reading from the saved cursor returns the changed and deleted accounts and
    tickets (SF SystemModstamp via queryAll, HubSpot last-modified search + archived lists, Zendesk
    incremental exports), deletes flagged, plus at most the unchanged rows of the overlap window."""
    adapter = h.adapter()
    before = {s: list(adapter.read(s, None)) for s in (Stream.ACCOUNTS, Stream.TICKETS)}
    changes = h.sandbox.tick(3, wait=True)
    deleted_key = _delete_one_ticket(h, changes.tickets)
    renamed_key, gone_key, when = _change_two_accounts(h)
    changed_keys = {
        Stream.ACCOUNTS: {h.spec.account_id(k) for k in changes.customers | changes.deleted},
        Stream.TICKETS: {h.spec.ticket_id(k) for k in changes.tickets | changes.deleted},
    }
    ours = {  # the changes this test made itself: stamped inside the window, so every vendor must show them
        Stream.ACCOUNTS: {h.spec.account_id(renamed_key), h.spec.account_id(gone_key)},
        Stream.TICKETS: {h.spec.ticket_id(deleted_key)},
    }
    deleted_ids = {
        Stream.ACCOUNTS: {
            h.spec.account_id(k) for k in changes.deleted | {gone_key} if k in h.ctx.book.customers
        },
        Stream.TICKETS: {
            h.spec.ticket_id(k) for k in changes.deleted | {deleted_key} if k in h.ctx.book.tickets
        },
    }
    # The vendor's own view after the tick (a full read): which changed keys it shows as modified since the
    # old cursor (a change to data this vendor does not carry, e.g. CRM usage, does not touch a Zendesk org).
    after = {s: records(list(h.adapter().read(s, None))) for s in before}
    # Deleting an Account deletes its Cases in Salesforce (cascade); the other vendors keep the tickets of a
    # deleted company/organization. Whatever the vendor shows as changed for the deleted account's tickets
    # is expected, deleted exactly when its own full read says so.
    dependents = {h.spec.ticket_id(t.key) for t in h.ctx.book.tickets.values() if t.customer_key == gone_key}
    ours[Stream.TICKETS] |= dependents & {r.external_id for r in after[Stream.TICKETS] if stamp(r) >= when}
    deleted_ids[Stream.TICKETS] |= dependents & {r.external_id for r in after[Stream.TICKETS] if r.deleted}
    exercised: dict[Stream, set[str]] = {}
    for stream, old_pages in before.items():
        old = last_cursor(old_pages)
        assert old is not None
        assert old.watermark is not None
        modified = {r.external_id for r in after[stream] if stamp(r) > old.watermark}
        expected = (changed_keys[stream] & modified) | ours[stream]
        overlap = {r.external_id for r in records(old_pages) if stamp(r) >= old.watermark - DEFAULT_OVERLAP}
        got_pages = list(adapter.read(stream, old))
        got = records(got_pages)
        got_ids = {r.external_id for r in got}
        assert expected <= got_ids, (stream, sorted(expected - got_ids)[:5])
        assert got_ids - expected <= overlap, (stream, sorted(got_ids - expected - overlap)[:5])
        assert {r.external_id for r in got if r.deleted} == deleted_ids[stream] & got_ids
        new = last_cursor(got_pages)
        assert new is not None
        assert new.watermark is not None
        assert old.watermark < new.watermark <= h.ctx.book.now
        assert ours[stream] & deleted_ids[stream] <= {r.external_id for r in got if r.deleted}
        exercised[stream] = expected
    assert len(exercised[Stream.TICKETS]) > 1  # the tick's own ticket changes came too
    assert h.token_calls() == 0


def test_a_change_between_our_read_and_our_write_back_is_read_after_the_echo(h: Harness) -> None:
    """Issue 17's echo rule must not cost a customer's change: a customer renames an account after our read
    and before our write-back, our write then moves the record's modification stamp (and, in Salesforce,
    LastModifiedById) to our own write, so the record looks like a pure echo of our fields. The next read
    from the saved cursor must still return it with the customer's new name (a read that skipped records
    whose last change is ours, or fetched only our written fields for them, would lose the rename)."""
    adapter = h.adapter()
    adapter.ensure_fields()
    cursor = last_cursor(list(adapter.read(Stream.ACCOUNTS, None)))
    assert cursor is not None
    h.sandbox.tick(1, wait=True)  # the customer works after our read ...
    renamed_key, _gone, _when = _change_two_accounts(h)
    renamed = h.spec.account_id(renamed_key)
    results = adapter.write_scores(score_writes(_live_accounts(h)))  # ... and before our write-back
    assert all(r.ok for r in results)
    assert _wrote_score(h.spec.written_fields(h.ctx)[renamed])
    h.sandbox.tick(1, wait=True)  # past the vendor's export lag (Zendesk: the last minute is refused)
    got = {r.external_id: r for r in records(list(h.adapter().read(Stream.ACCOUNTS, cursor)))}
    assert renamed in got
    assert getattr(got[renamed], "name", "").endswith("(renamed)")


def test_overlap_reread_does_not_duplicate(h: Harness) -> None:
    """Two reads from the same saved cursor (a sync that crashed before saving the next one, then ran again)
    return the same records, each once; the overlap window re-reads, it never grows the result."""
    adapter = h.adapter()
    cursor = last_cursor(list(adapter.read(Stream.TICKETS, None)))
    h.sandbox.tick(2, wait=True)
    h.ctx.counters.reset()
    first = records(list(adapter.read(Stream.TICKETS, cursor)))
    calls = h.calls()
    h.ctx.counters.reset()
    second = records(list(h.adapter().read(Stream.TICKETS, cursor)))
    assert first, "the tick changed no ticket of this vendor"
    assert len({r.external_id for r in first}) == len(first)
    assert len({r.external_id for r in second}) == len(second)
    assert sorted(r.external_id for r in second) == sorted(r.external_id for r in first)
    assert h.calls() == calls  # the same requests again, no growth


def test_idle_read_returns_only_the_overlap_window(h: Harness) -> None:
    """Right after a sync, a read from its cursor finds nothing new: at most the rows stamped inside the
    overlap window before the watermark come again."""
    adapter = h.adapter()
    pages = list(adapter.read(Stream.TICKETS, None))
    cursor = last_cursor(pages)
    assert cursor is not None
    assert cursor.watermark is not None
    window = {r.external_id for r in records(pages) if stamp(r) >= cursor.watermark - DEFAULT_OVERLAP}
    h.ctx.counters.reset()
    again = list(adapter.read(Stream.TICKETS, cursor))
    assert ids(again) <= window
    assert last_cursor(again) is not None
    # Issue 5: an incremental sync with nothing changed costs one call per stream (plus, on HubSpot, the
    # association lookup for the overlap rows that page re-read).
    lookups = h.calls(h.spec.page_lookups) if h.spec.page_lookups else 0
    assert lookups <= int(bool(again[0].records))
    assert h.calls() - lookups == 1, h.ctx.counters.snapshot()


def test_crash_between_pages_resumes_without_loss(h: Harness) -> None:
    """A sync killed after committing page 1 (its cursor saved, later pages never seen) resumes from that
    cursor and ends with every record a full read returns: nothing lost, little repeated."""
    full = list(h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, None))
    assert len(full) >= 3
    stream = h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, None)
    page1 = next(stream)
    del stream  # the crash: the rest of the read never runs
    assert page1.records
    assert page1.cursor is not None
    h.ctx.counters.reset()
    resumed = list(h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, page1.cursor))
    assert {r.external_id for r in page1.records} | ids(resumed) == ids(full)
    assert len(records(resumed)) < len(records(full))  # the resume did not start over
    assert h.token_calls() == 0


# ------------------------------------------------------------------------------------ faults and retries


def _accounts(h: Harness, **kw: float) -> set[str]:
    return ids(list(h.adapter(**kw).read(Stream.ACCOUNTS, None)))  # type: ignore[arg-type]


def test_rate_limit_waits_exactly_retry_after(h: Harness) -> None:
    """429 with Retry-After (SF TOO_MANY_REQUESTS, HubSpot TEN_SECONDLY_ROLLING, Zendesk
    APIRateLimitExceeded): the adapter sleeps exactly that long, once, then the same call succeeds."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("rate_limit", retry_after=7))
    assert _accounts(h) == set(h.spec.truth(h.ctx)["accounts"])
    assert h.sleeps == [7.0]
    assert h.calls(h.spec.accounts_read) == 2
    assert h.token_calls() == 0


def test_server_errors_are_retried_with_backoff(h: Harness) -> None:
    """500 then 503 (Zendesk's 503 is a plain-text page): two retries with growing jittered backoff,
    then success."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("server_error", status=500))
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("server_error", status=503))
    assert _accounts(h) == set(h.spec.truth(h.ctx)["accounts"])
    assert len(h.sleeps) == 2
    assert 0 < h.sleeps[0] <= h.sleeps[1]
    assert h.calls(h.spec.accounts_read) == 3
    assert h.token_calls() == 0


def test_server_errors_until_retries_are_spent_raise_a_transient_error(h: Harness) -> None:
    """A vendor that keeps answering 503: the policy's 5 attempts (4 backoff waits), then TransientError for
    the run to re-enqueue; nothing refreshed."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("server_error", status=503), times=5)
    with pytest.raises(TransientError) as info:
        list(h.adapter().read(Stream.ACCOUNTS, None))
    assert info.value.vendor == h.vendor
    assert h.calls(h.spec.accounts_read) == 5
    assert len(h.sleeps) == 4
    assert h.token_calls() == 0


def test_retry_after_beyond_the_policy_is_not_slept_through(h: Harness) -> None:
    """A Retry-After of 10 minutes (past the policy's 120 s): RateLimitError carrying it, raised at once so
    the run re-enqueues instead of holding a worker."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("rate_limit", retry_after=600))
    with pytest.raises(RateLimitError) as info:
        list(h.adapter().read(Stream.ACCOUNTS, None))
    assert info.value.retry_after == 600
    assert h.sleeps == []
    assert h.calls(h.spec.accounts_read) == 1


def test_timeout_is_retried(h: Harness) -> None:
    """A response slower than the connection's timeout is abandoned and the call retried after a backoff."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("slow", delay=0.6))
    assert _accounts(h, timeout=0.25) == set(h.spec.truth(h.ctx)["accounts"])
    assert len(h.sleeps) == 1
    assert h.sleeps[0] > 0
    assert h.calls(h.spec.accounts_read) == 2


def test_expired_token_refreshes_exactly_once_and_saves_the_new_tokens(h: Harness) -> None:
    """401 for an expired access token (SF INVALID_SESSION_ID, HubSpot EXPIRED_AUTHENTICATION, Zendesk
    invalid_token): token endpoint hit exactly once, the new token set saved at once, the call retried."""
    original = h.tokens()
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("expired_token"))
    adapter = h.adapter()
    assert ids(list(adapter.read(Stream.ACCOUNTS, None))) == set(h.spec.truth(h.ctx)["accounts"])
    assert h.token_calls() == 1
    assert len(h.saved) == 1
    saved = h.saved[0]
    state = h.ctx.vendors[h.vendor]
    assert saved.access_token != original.access_token
    assert saved.access_token in state.access_tokens  # a token the vendor issued
    assert saved.refresh_token is not None
    assert saved.refresh_token in state.refresh_tokens  # the (possibly rotated) refresh token is live
    assert h.calls(h.spec.accounts_read) == 2
    assert h.sleeps == []
    # The adapter goes on with the new token: no second refresh.
    assert ids(list(adapter.read(Stream.ACCOUNTS, None)))
    assert h.token_calls() == 1


@pytest.mark.parametrize(
    "h",
    [
        "salesforce",
        "hubspot",
        "zendesk",
    ],
    indirect=True,
)
def test_token_about_to_expire_is_refreshed_once_ahead_of_the_call(h: Harness) -> None:
    """A token set that expires within the refresh margin is refreshed ahead of the first call (no 401 round
    trip): token endpoint hit exactly once, the new set saved, and later calls use it without refreshing."""
    stale = h.tokens()
    expiring = replace(stale, expires_at=h.ctx.book.now + timedelta(minutes=2))
    adapter = h.adapter(tokens=expiring)
    assert ids(list(adapter.read(Stream.ACCOUNTS, None))) == set(h.spec.truth(h.ctx)["accounts"])
    assert h.token_calls() == 1
    assert len(h.saved) == 1
    assert h.saved[0].access_token != stale.access_token
    assert h.calls(h.spec.accounts_read) == 1
    assert ids(list(adapter.read(Stream.ACCOUNTS, None)))
    assert h.token_calls() == 1  # the new token is not "about to expire"


def test_token_refused_after_refresh_asks_for_reconnect(h: Harness) -> None:
    """401, refresh, 401 again: refresh once only, then ReauthRequiredError (never a refresh loop)."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("expired_token"), times=2)
    with pytest.raises(ReauthRequiredError) as info:
        list(h.adapter().read(Stream.ACCOUNTS, None))
    assert info.value.vendor == h.vendor
    assert h.token_calls() == 1
    assert h.calls(h.spec.accounts_read) == 2


def test_revoked_refresh_token_asks_for_reconnect(h: Harness) -> None:
    """401, then the token endpoint refuses the refresh token (invalid_grant / BAD_REFRESH_TOKEN):
    ReauthRequiredError whose hint says to reconnect; the refresh is not retried and nothing is saved."""
    h.ctx.faults.script(h.vendor, h.spec.accounts_read, Fault("expired_token"))
    h.ctx.faults.script(h.vendor, h.spec.token_path, Fault("revoked_refresh"))
    with pytest.raises(ReauthRequiredError) as info:
        list(h.adapter().read(Stream.ACCOUNTS, None))
    assert info.value.vendor == h.vendor
    assert "reconnect" in info.value.hint.lower()
    assert h.token_calls() == 1
    assert h.saved == []
    assert h.sleeps == []


def test_crash_mid_incremental_read_resumes_without_loss(h: Harness) -> None:
    """An incremental read (a cursor two years old, pages of 200: Salesforce's smallest batch, HubSpot's
    search maximum) killed after its first page resumes from that page's cursor and, with the first page,
    covers everything the uninterrupted read returns."""
    size = 200
    cursor = Cursor(watermark=h.ctx.book.now - timedelta(days=730))
    pages = list(h.adapter(page_size=size).read(Stream.TICKETS, cursor))
    assert sum(1 for p in pages if p.records) >= 2
    stream = h.adapter(page_size=size).read(Stream.TICKETS, cursor)
    page1 = next(stream)
    del stream  # the crash
    assert page1.records
    saved = page1.cursor or cursor
    resumed = list(h.adapter(page_size=size).read(Stream.TICKETS, saved))
    assert {r.external_id for r in page1.records} | ids(resumed) == ids(pages)
    assert len(records(resumed)) < len(records(pages))  # it did not start over


def test_expired_token_during_write_back_refreshes_once(h: Harness) -> None:
    """401 on a write batch: one refresh, the batch sent again, every row written exactly once."""
    adapter = h.adapter()
    adapter.ensure_fields()
    accounts = _live_accounts(h)
    h.ctx.faults.script(h.vendor, h.spec.write_batch, Fault("expired_token"))
    results = adapter.write_scores(score_writes(accounts))
    assert all(r.ok for r in results)
    assert h.token_calls() == 1
    assert len(h.saved) == 1
    assert h.calls(h.spec.write_batch) == math.ceil(len(accounts) / h.spec.write_limit) + 1
    assert set(accounts) <= set(h.spec.written_fields(h.ctx))


def test_malformed_page_fails_the_stream_and_keeps_the_cursor(h: Harness) -> None:
    """A 200 whose body is cut off mid-object on page 2: MalformedResponseError naming the vendor, no page
    (and so no cursor) for it, and the last saved cursor still resumes to a complete read."""
    full = ids(list(h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, None)))
    stream = h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, None)
    committed = [next(stream)]
    h.ctx.counters.reset()
    h.ctx.faults.script(h.vendor, h.spec.tickets_next, Fault("malformed_page"))
    with pytest.raises(MalformedResponseError) as info:
        committed.extend(stream)
    assert info.value.vendor == h.vendor
    assert h.calls(h.spec.tickets_next) == 1  # the bad page is asked for once, not retried
    assert len(committed) == 1  # nothing was yielded for the bad page
    saved = last_cursor(committed)
    assert saved is not None
    resumed = ids(list(h.adapter(page_size=h.spec.tickets_page_size).read(Stream.TICKETS, saved)))
    assert ids(committed) | resumed == full


# ----------------------------------------------------------------------------------- fields and writes


def test_check_reports_missing_fields_and_ensure_fields_is_idempotent(h: Harness) -> None:
    """The sandboxes start without our 8 score fields: check() names them, ensure_fields creates each once
    (SF Tooling CustomField, HubSpot company properties, Zendesk organization fields), a second call creates
    nothing, and check() is then clean."""
    adapter = h.adapter()
    before = adapter.check()
    assert not before.ok
    assert len(before.missing_fields) == 8
    first = adapter.ensure_fields()
    assert [c.action for c in first] == ["created"] * 8
    assert h.calls(h.spec.field_create) == 8
    second = adapter.ensure_fields()
    assert [c.action for c in second] == ["exists"] * 8
    assert [c.vendor_name for c in second] == [c.vendor_name for c in first]
    assert h.calls(h.spec.field_create) == 8
    after = adapter.check()
    assert after.ok, after.problems
    assert after.missing_fields == ()
    assert h.token_calls() == 0


def test_field_setup_without_permission_names_it(h: Harness) -> None:
    """Without the permission field creation needs (SF "Customize Application", HubSpot
    crm.schemas.companies.write, Zendesk write scope/admin), ensure_fields raises PermissionDeniedError naming
    it, creates nothing and does not refresh the token."""
    denial = h.spec.deny_field_setup(h.ctx)
    adapter = h.adapter(tokens=denial.tokens)
    with pytest.raises(PermissionDeniedError) as info:
        adapter.ensure_fields()
    assert info.value.missing is not None
    assert denial.missing in info.value.missing
    assert h.calls(h.spec.field_create) <= 1
    assert h.token_calls() == 0
    assert len(h.adapter().check().missing_fields) == 8


def _live_accounts(h: Harness) -> list[str]:
    """Vendor ids of the accounts this vendor shows and has not deleted, in book order."""
    book = h.ctx.book
    out = []
    for key, cust in book.customers.items():
        presence = getattr(cust, h.vendor)
        if presence.present and presence.deleted_at is None and cust.deleted_at is None:
            out.append(h.spec.account_id(key))
    return out


def _wrote_score(values: dict[str, object]) -> bool:
    return any(str(v) in ("64.5", "64.50") for v in values.values())


def test_write_scores_in_batches_of_the_vendor_limit(h: Harness) -> None:
    """Every live account written in ⌈n / batch⌉ calls (sObject Collections 200, HubSpot batch update 100,
    Zendesk update_many 100), one ok WriteResult per write in order, the values in the vendor's records."""
    adapter = h.adapter()
    adapter.ensure_fields()
    accounts = _live_accounts(h)
    results = adapter.write_scores(score_writes(accounts))
    assert [r.account_external_id for r in results] == accounts
    assert [r for r in results if not r.ok] == []
    assert h.calls(h.spec.write_batch) == math.ceil(len(accounts) / h.spec.write_limit)
    written = h.spec.written_fields(h.ctx)
    assert set(accounts) <= set(written)
    assert all(_wrote_score(written[a]) for a in accounts)


def _partial_failure(h: Harness) -> None:
    adapter = h.adapter()
    adapter.ensure_fields()
    accounts = _live_accounts(h)
    rejected = [accounts[3], accounts[-1]]  # one early in the first batch, the last in the last batch
    results = adapter.write_scores(score_writes(accounts))
    assert [r.account_external_id for r in results] == accounts
    failed = [r for r in results if not r.ok]
    assert [r.account_external_id for r in failed] == rejected
    assert all(r.error_code for r in failed)
    assert h.calls(h.spec.write_batch) == math.ceil(len(accounts) / h.spec.write_limit)
    written = h.spec.written_fields(h.ctx)
    assert set(written) & set(rejected) == set()
    assert all(_wrote_score(written[a]) for a in accounts if a not in rejected)


def test_write_scores_partial_failure_reports_exactly_the_rejected_rows(h: Harness) -> None:
    """Rows refused by a validation rule inside a batch (SF allOrNone=false errors, HubSpot 207 errors,
    Zendesk job results): ok=False for exactly those rows, the rest written, no extra calls."""
    accounts = _live_accounts(h)
    fault = Fault("reject_rows", ids=(accounts[3], accounts[-1]))
    h.ctx.faults.rate(h.vendor, h.spec.write_batch, fault, rate=1.0)
    _partial_failure(h)


@pytest.mark.parametrize(
    "h",
    [
        "salesforce",
        "hubspot",
        "zendesk",
    ],
    indirect=True,
)
def test_scripted_row_fault_applies_to_each_scripted_batch(h: Harness) -> None:
    """The same partial failure with the fault scripted for exactly the batches the write makes
    (`Faults.script(..., times=batches)`: "the next `times` matching calls get `fault`")."""
    accounts = _live_accounts(h)
    fault = Fault("reject_rows", ids=(accounts[3], accounts[-1]))
    batches = math.ceil(len(accounts) / h.spec.write_limit)
    h.ctx.faults.script(h.vendor, h.spec.write_batch, fault, times=batches)
    _partial_failure(h)
