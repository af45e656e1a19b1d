"""Shared vendor budgets: two worker processes spending one installation's budget never exceed it."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import pytest

from connector.jobs import ratelimit

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


def _spend(inst: int, limits: list[tuple[int, float]], seconds: float, out: Any) -> None:
    """A worker: take tokens as fast as granted, never sleeping for a budget (only polling)."""
    client = _client()
    grants: list[float] = []
    end = time.time() + seconds
    while time.time() < end:
        wait = ratelimit.take(client, inst, limits)
        if wait == 0:
            grants.append(time.time())
        else:
            time.sleep(min(wait, 0.02))
    out.put(grants)


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


def test_two_workers_share_one_budget_and_never_exceed_it(client: Any) -> None:
    limits = [(20, 1.0), (50, 10.0)]  # 20 per second and 50 per 10 s (the second binds within 3 s)
    out: Any = multiprocessing.get_context("spawn").Queue()
    procs = [
        multiprocessing.get_context("spawn").Process(target=_spend, args=(4242, limits, 3.0, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    grants = sorted(out.get(timeout=30) + out.get(timeout=30))
    for p in procs:
        p.join(timeout=10)
    # A token bucket's guarantee: in any interval of length d, at most capacity + rate x d grants
    # (tolerance: one token and 10 ms of clock difference between the processes and Redis).
    for cap, window in limits:
        rate = cap / window
        for i, t in enumerate(grants):
            for j in range(i, len(grants)):
                d = grants[j] - t
                assert j - i + 1 <= cap + rate * (d + 0.01) + 1, (cap, window, j - i + 1, d)
    assert len(grants) >= 50  # and the budget was actually usable by the two together


def test_a_denied_take_says_how_long_to_wait_and_spends_nothing(client: Any) -> None:
    limits = [(2, 10.0)]
    assert ratelimit.take(client, 7, limits) == 0.0
    assert ratelimit.take(client, 7, limits) == 0.0
    wait = ratelimit.take(client, 7, limits)
    assert 4.0 < wait <= 5.0  # one token refills in 10 s / 2
    assert ratelimit.limits_for("zendesk") == ((180, 60.0),)
    assert ratelimit.limits_for("zendesk", {"rate_limits": [[700, 60]]}) == ((700, 60.0),)
