"""The split pass (connector/jobs/passes.py, one part per stream on Celery workers) follows the one-process
pass's rule: scoring waits until a pass has read every stream (issue 12, suite 1).

A Zendesk tickets export that fails for the whole pass leaves the store short of 21 simulated days of
tickets; scoring that store would announce band changes the next complete pass takes back. The parts run
in this process in the order the workers would run them (every `enqueue` appends to a FIFO queue), with
the pass state in the local Redis (db 15), as on a worker.
"""

from __future__ import annotations

import json
import os
from collections import deque
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.jobs import passes
from connector.store import models as m
from connector.store.db import transaction
from integrations.sandbox.context import Fault
from tests.reliability.world import World, build_world

REDIS_URL = os.environ.get(
    "HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/13"
)  # its own db: others flush 15
TICKETS = "GET /api/v2/incremental/tickets/cursor.json"


@pytest.fixture
def redis_client() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(exc).__name__}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    return client


def split_pass(world: World, client: Any, slug: str, ran_parts: list[Any] | None = None) -> dict[str, Any]:
    """One split pass of `slug`, its parts run here in queue order; the stored run (status, report).
    `ran_parts` collects (stage name, part) in the order the parts ran."""
    queue: deque[tuple[str, int, int, int]] = deque()

    def enqueue(pass_id: str, stage: int, chain: int, index: int, _countdown: float) -> None:
        queue.append((pass_id, stage, chain, index))

    tid = world.tenants[slug]
    started = passes.start(world.settings, client, tid, enqueue, 60.0)
    assert "pass_id" in started, started
    ran = 0
    while queue:
        pass_id, stage, chain, index = queue.popleft()
        if ran_parts is not None:
            plan = json.loads(client.hget(f"healthscore:pass:{pass_id}", "plan"))
            ran_parts.append((passes.stage_names(plan)[stage], plan[stage][chain][index]))
        out = passes.run_part(world.settings, client, pass_id, stage, chain, index, enqueue, 60.0)
        assert out.status == "done", out
        ran += 1
        assert ran < 200, "the pass never finished"
    with transaction(world.settings.sqlalchemy_url) as s:
        run = s.scalar(select(m.Run).where(m.Run.run_id == started["pass_id"]))
        assert run is not None
        return {"status": run.status, "report": json.loads(json.dumps(run.report)), "pass_id": run.run_id}


def _snapshots_now(world: World, slug: str) -> int:
    """Snapshots at the tenant's current clock (the as_of a pass scores at)."""
    now = world.sandbox.ctx.book.now
    with transaction(world.settings.sqlalchemy_url) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(m.ScoreSnapshot)
                .where(m.ScoreSnapshot.tenant_id == world.tenants[slug], m.ScoreSnapshot.as_of >= now)
            )
            or 0
        )


def test_a_split_pass_with_a_stream_unread_keeps_the_last_scores(rel_sandbox: Any, redis_client: Any) -> None:
    redis_client.flushdb()
    world = build_world(rel_sandbox)
    try:
        first = split_pass(world, redis_client, "contoso")
        assert first["status"] == "ok", first["report"]
        scored = first["report"]["steps"]["score"][0]
        assert scored["scored"] > 0
        assert "skipped" not in scored

        rel_sandbox.tick(21, wait=True)
        world.set_clock()
        rel_sandbox.ctx.faults.rate("zendesk", TICKETS, Fault(kind="malformed_page"), 1.0)
        try:
            cut = split_pass(world, redis_client, "contoso")
        finally:
            rel_sandbox.ctx.faults.clear()
        score = cut["report"]["steps"]["score"][0]
        assert cut["status"] == "partial", cut["report"]
        assert score["skipped"].startswith("sync incomplete: zendesk tickets"), score
        assert score["scored"] == 0
        assert score["band_changes"] == 0
        assert _snapshots_now(world, "contoso") == 0  # nothing scored from the half-read store
        # The other streams of the pass were read and committed; the write-back and events parts ran.
        streams = [r for r in cut["report"]["steps"]["sync"] if r.get("stream") != "tickets"]
        assert streams
        assert all(r["status"] in {"ok", "skipped"} for r in streams), streams
        assert set(cut["report"]["steps"]) >= {"write_back", "events"}

        whole = split_pass(world, redis_client, "contoso")  # the vendor answers again: read, then scored
        assert whole["status"] == "ok", whole["report"]
        assert "skipped" not in whole["report"]["steps"]["score"][0]
        assert _snapshots_now(world, "contoso") > 0
    finally:
        world.close()
        redis_client.flushdb()


def test_sync_gaps_name_failed_parts_and_parts_a_stopped_chain_never_ran(redis_client: Any) -> None:
    redis_client.flushdb()
    pass_id = "gapsunit"
    stages = [
        [
            [["sync", 1, "accounts", False], ["sync", 1, "tickets", True]],
            [["sync", 2, "accounts", False], ["sync", 2, "tickets", True]],
            [["sync", 3, "accounts", False], ["sync", 3, "tickets", True]],
        ]
    ]
    ok = {"vendor": "hubspot", "stream": "accounts", "status": "ok"}
    results = {
        "r:0:0:0": ok,
        "r:0:0:1": {**ok, "vendor": "zendesk", "stream": "tickets", "status": "skipped"},  # a standing state
        "r:0:1:0": {**ok, "vendor": "salesforce", "status": "reconnect"},  # chain 1 stops here
        "r:0:2:0": {"error": "OperationalError: server closed the connection"},  # the part itself raised
        "r:0:2:1": {**ok, "vendor": "zendesk", "stream": "tickets", "status": "ok"},
    }
    try:
        redis_client.hset(
            f"healthscore:pass:{pass_id}", mapping={k: json.dumps(v) for k, v in results.items()}
        )
        assert passes.sync_gaps(redis_client, pass_id, stages) == [
            "salesforce accounts",
            "installation 2 tickets not read",
            "installation 3 accounts failed",
        ]
        redis_client.hset(f"healthscore:pass:{pass_id}", "r:0:1:0", json.dumps(ok))
        redis_client.hset(f"healthscore:pass:{pass_id}", "r:0:1:1", json.dumps(ok))
        redis_client.hset(f"healthscore:pass:{pass_id}", "r:0:2:0", json.dumps(ok))
        assert passes.sync_gaps(redis_client, pass_id, stages) == []
    finally:
        redis_client.flushdb()


def test_the_field_history_is_read_after_the_scores_reach_the_crm(
    rel_sandbox: Any, redis_client: Any
) -> None:
    """No score reads the CRM's field history (backtests and the usage card do): its stream runs after the
    write-back, so a day that re-reads every company's history (the monthly usage update) does not hold
    the scores back, and the history is still read and stored by the same pass."""
    redis_client.flushdb()
    world = build_world(rel_sandbox)
    try:
        for slug, crm in (("contoso", "hubspot"), ("northwind", "salesforce")):
            ran: list[Any] = []
            done = split_pass(world, redis_client, slug, ran)
            assert done["status"] == "ok", done["report"]
            steps = done["report"]["steps"]
            assert "account_history" not in {r.get("stream") for r in steps["sync"]}
            history = [r for r in steps["history"] if r.get("status") == "ok"]
            assert [(r["vendor"], r["stream"]) for r in history] == [(crm, "account_history")]
            assert history[0]["read"] > 0
            order = [name for name, _ in ran]
            last_write_back = max(i for i, name in enumerate(order) if name == "write_back")
            history_parts = [
                i for i, (name, part) in enumerate(ran) if part[:1] == ["sync"] and name == "history"
            ]
            assert history_parts
            assert min(history_parts) > last_write_back
            assert order.index("score") < last_write_back
            with transaction(world.settings.sqlalchemy_url) as s:
                stored = s.scalar(
                    select(func.count())
                    .select_from(m.MetricChange)
                    .where(m.MetricChange.tenant_id == world.tenants[slug], m.MetricChange.vendor == crm)
                )
            assert stored == history[0]["upserted"] > 0
    finally:
        world.close()
        redis_client.flushdb()


def test_the_names_of_a_plan_an_older_release_stored() -> None:
    """A pass planned before an upgrade (still in Redis) keeps its stage names in the run report."""
    plan = [[[["noop"]]]] * len(passes.STAGES)
    assert passes.stage_names(plan) == passes.STAGES
    assert passes.stage_names(plan[:-1]) == (
        "sync", "link", "sentiment", "score", "write_back", "sentiment_older", "finish",
    )  # fmt: skip
    assert passes.stage_names(plan[:-2]) == ("sync", "link", "sentiment", "score", "write_back", "finish")
