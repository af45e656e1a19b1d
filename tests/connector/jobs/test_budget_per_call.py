"""Vendor budgets are charged per vendor HTTP request (Connection.before_call), not per task part.

Two worker processes read one Zendesk installation through the real client on the running sandbox,
sharing one budget in Redis: the sandbox's own count of requests equals the tokens granted and stays
inside what the bucket allows; every vendor (requests sessions and the HubSpot SDK) charges once per
request and a refused request never reaches the vendor.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import pytest

from connector.jobs import ratelimit
from integrations.base import Stream
from integrations.errors import BudgetExhaustedError, RateLimitError
from integrations.oauth import TokenSet
from integrations.registry import Connection, create_adapter
from integrations.retry import decide
from tests.integrations.contract_support import SPECS

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


@pytest.fixture
def client() -> Any:
    import redis

    c = _client()
    try:
        c.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(exc).__name__}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    for key in c.scan_iter(match="healthscore:rl:*"):
        c.delete(key)
    return c


def _connection(creds: dict[str, Any], ca_file: str, vendor: str, before_call: Any) -> Connection:
    mine = creds[vendor]
    base = mine["base_url"]
    return Connection(
        vendor=vendor,
        base_url=base,
        token_url=f"{base}{SPECS[vendor].token_url}",
        client_id=mine["client_id"],
        client_secret=mine["client_secret"],
        tokens=TokenSet(
            access_token=mine["access_token"],
            refresh_token=mine["refresh_token"],
            instance_url=base if vendor == "salesforce" else None,
        ),
        save_tokens=lambda _t: None,
        ca_file=ca_file,
        timeout=10.0,
        page_size=10,
        before_call=before_call,
    )


def _worker(
    creds: dict[str, Any], ca_file: str, limits: list[tuple[int, float]], seconds: float, out: Any
) -> None:
    """Read Zendesk organization pages as fast as the shared budget allows; a refused request is polled
    again shortly (a real part would re-queue with the countdown instead)."""
    from integrations.zendesk.client import ZendeskClient

    zd = ZendeskClient(
        _connection(creds, ca_file, "zendesk", ratelimit.gate(_client(), 4343, "zendesk", limits))
    )
    done: list[float] = []
    refused = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            zd.export_organizations(0, 10)
            done.append(time.time())
        except BudgetExhaustedError as exc:
            refused += 1
            time.sleep(min(exc.retry_after or 0.05, 0.05))
    zd.close()
    out.put((done, refused))


def test_two_workers_sharing_one_budget_never_exceed_it_counted_per_request(
    client: Any, sandbox: Any
) -> None:
    limits = [(6, 2.0)]  # 6 requests, refilling 3 per second
    creds, ca = sandbox.credentials(), sandbox.ca_file
    before = sandbox.ctx.counters.get("zendesk")
    ctx = multiprocessing.get_context("spawn")
    out: Any = ctx.Queue()
    seconds = 4.0
    procs = [ctx.Process(target=_worker, args=(creds, ca, limits, seconds, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    served = sandbox.ctx.counters.get("zendesk") - before  # what the vendor saw, request by request
    done = sorted(t for times, _ in results for t in times)
    assert all(times for times, _ in results), "both workers got a share"
    assert sum(refused for _, refused in results) > 0, "the budget was the limit, not the test's speed"
    assert served == len(done)  # every request was charged once, and a refused one never reached Zendesk
    cap, window = limits[0]
    rate = cap / window
    # The whole run cannot exceed the bucket: its capacity plus the refill over the run (the workers'
    # start-up is part of the run; one token of tolerance for clock rounding).
    span = done[-1] - done[0]
    assert served <= cap + rate * (span + 0.05) + 1, (served, span)
    for i, t in enumerate(done):  # and no interval of the run saw more than the bucket allows
        for j in range(i, len(done)):
            assert j - i + 1 <= cap + rate * (done[j] - t + 0.05) + 1


@pytest.mark.parametrize("vendor", ["hubspot", "salesforce", "zendesk"])
def test_a_stream_read_spends_one_token_per_vendor_request(client: Any, sandbox: Any, vendor: str) -> None:
    """The adapter charges per request wherever the SDK sends it (urllib3 for HubSpot, a requests session
    for zenpy and simple-salesforce); the request past the budget raises before reaching the vendor."""
    charged: list[float] = []
    gate = ratelimit.gate(client, 5151, vendor, [(1000, 60.0)])

    def counting() -> None:
        charged.append(time.time())
        gate()

    adapter = create_adapter(_connection(sandbox.credentials(), sandbox.ca_file, vendor, counting))
    before = sandbox.ctx.counters.get(vendor)
    try:
        pages = list(adapter.read(Stream.TICKETS, None))
    finally:
        adapter.close()
    served = sandbox.ctx.counters.get(vendor) - before
    assert len(pages) > 1
    assert served > 1
    assert len(charged) == served  # one charge per request the vendor served

    budget = 2
    tight = ratelimit.gate(client, 6262, vendor, [(budget, 600.0)])
    adapter = create_adapter(_connection(sandbox.credentials(), sandbox.ca_file, vendor, tight))
    before = sandbox.ctx.counters.get(vendor)
    try:
        with pytest.raises(BudgetExhaustedError) as caught:
            list(adapter.read(Stream.TICKETS, None))
    finally:
        adapter.close()
    assert sandbox.ctx.counters.get(vendor) - before == budget  # the refused third request was never sent
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 300
    assert isinstance(caught.value, RateLimitError)  # callers that know only rate limits still see one
    assert decide(caught.value, 1, refreshed=False).action == "raise"  # never slept through in a worker


def test_a_sync_part_out_of_budget_is_re_queued_unrecorded_then_finishes_once(
    client: Any, sandbox: Any, db_url: str, tmp_path: Any
) -> None:
    """A part that runs out mid-way is neither recorded nor advanced (the worker re-queues it with the
    countdown, tasks.pass_part); run again once the budget refills, it finishes and advances once."""
    from sqlalchemy import select

    from connector.jobs import passes
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.jobs.test_split_pass import _tid, _world

    client.flushdb()
    settings = _world(db_url, sandbox, tmp_path / "inst")
    tid = _tid(settings, "northwind")
    with transaction(settings.sqlalchemy_url) as s:
        inst = s.scalars(select(m.Installation).where(m.Installation.tenant_id == tid)).first()
        assert inst is not None
        inst.settings = {**(inst.settings or {}), "rate_limits": [[1, 600]]}  # one request per 10 min
        inst_id = inst.id
    enqueued: list[tuple[Any, ...]] = []
    started = passes.start(settings, client, tid, lambda *a: enqueued.append(a), 60.0)
    pass_id = started["pass_id"]
    chain = next(
        c
        for (_p, st, c, i, _d) in enqueued
        if st == 0 and i == 0 and _chain_inst(client, pass_id, c) == inst_id
    )
    enqueued.clear()
    assert ratelimit.take(client, inst_id, [(1, 600.0)]) == 0.0  # someone else spent the one request
    out = passes.run_part(settings, client, pass_id, 0, chain, 0, lambda *a: enqueued.append(a), 60.0)
    assert out.status == "throttled"
    assert 0 < out.wait_s <= 600
    assert out.result is not None
    assert out.result["status"] == "throttled"
    assert not enqueued
    assert client.hget(f"healthscore:pass:{pass_id}", f"r:0:{chain}:0") is None
    for key in client.scan_iter(match=f"healthscore:rl:{inst_id}:*"):  # the budget refills
        client.delete(key)
    with transaction(settings.sqlalchemy_url) as s:
        s.get(m.Installation, inst_id).settings = {}  # type: ignore[union-attr]
    out = passes.run_part(settings, client, pass_id, 0, chain, 0, lambda *a: enqueued.append(a), 60.0)
    assert out.status == "done"
    assert out.result is not None
    assert out.result["status"] == "ok"
    assert [(st, c, i) for (_p, st, c, i, _d) in enqueued] == [(0, chain, 1)]  # advanced exactly once


def _chain_inst(client: Any, pass_id: str, chain: int) -> int:
    import json

    plan = json.loads(client.hget(f"healthscore:pass:{pass_id}", "plan"))
    return int(plan[0][chain][0][1])


def test_a_paced_gate_waits_out_short_refills_in_place_and_never_overdraws(client: Any) -> None:
    """With pace_s, a request whose token comes within pace_s waits for it (a part reads at the refill
    rate instead of re-queueing per token); a longer wait still raises for the part to re-queue."""
    for key in client.scan_iter(match="healthscore:rl:717[12]:*"):  # full buckets, whatever ran before
        client.delete(key)
    limits = [(3, 1.0)]  # 3 requests, refilling 3 per second: a token every 0.33 s once the burst is spent
    paced = ratelimit.gate(client, 7171, "hubspot", limits, pace_s=1.0)
    started = time.monotonic()
    for _ in range(9):
        paced()  # never raises: every wait is ≤ 0.34 s
    took = time.monotonic() - started
    assert took >= (9 - 3) / 3.0 - 0.1  # the six requests beyond the burst waited for their tokens
    unpaced = ratelimit.gate(client, 7171, "hubspot", limits)
    with pytest.raises(BudgetExhaustedError):
        unpaced()  # the bucket is empty again: without pacing the part is told to re-queue
    daily = ratelimit.gate(client, 7172, "hubspot", [(1, 3600.0)], pace_s=1.0)
    daily()
    with pytest.raises(BudgetExhaustedError) as caught:
        daily()  # an hour's wait is never slept in a worker
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 1.0
