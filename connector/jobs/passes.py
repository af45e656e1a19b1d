"""A tenant's pass split into idempotent parts that several workers share, with no chord to lose.

Plan: stages run one after the other; a stage is a list of chains that run in parallel; a chain's
parts run in order (one installation's streams share its rotating refresh token, so they never run at
once). Stages: sync (a chain of streams per installation) → link → sentiment of the recent tickets (N
chunks) → score → write-back (one part per installation) → history (the streams no score reads, one
part per installation) → sentiment of the older tickets (N chunks) → finish (events, snapshot
compaction, run report, unlock).

State lives in Redis under `healthscore:pass:<id>`: the plan, each finished part's report, per stage the
set of finished chains, and SET-NX markers that make "enqueue what comes next" happen exactly once.
Every part is idempotent (cursors, upserts, caches, outbox claims), so a message redelivered after its
worker died repeats work at most once and never double-advances the pass. A Celery chord would count a
redelivered header task twice; sets do not.

Vendor budgets (connector.jobs.ratelimit) are charged per vendor request inside a part; a sync or
write-back part that runs out stops where it is (its pages and cursor are committed, its outbox rows go
back to pending) and re-queues itself with the refill time as the countdown, never sleeping.

Fair queueing: a pass has at most one queued or running message per chain (a chain enqueues its next
part when one finishes), so a 10k-account tenant holds a few queue slots, not thousands, and the
small tenants' parts interleave with its parts in the one FIFO queue.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.config import Settings
from connector.jobs.lock import TenantLock
from connector.pipeline.sync import STOPS_INSTALLATION, STREAM_ORDER
from connector.store import repo as store
from connector.store.db import transaction
from integrations.base import Stream

# ONNX Runtime threads of a sentiment part: one. Worker processes are the parallelism (about one per core); a
# model spreading over every core in each of them makes N workers contend for N cores (measured on 2 cores:
# 5.1 ms CPU per message on one thread, 6.0 with the default). connector/jobs/warmup.py loads the model
# with the same value at worker start.
SENTIMENT_PART_THREADS = 1

logger = logging.getLogger(__name__)

SENTIMENT_CHUNKS = 4
# Streams no score reads (the CRM's field history feeds backtests and the account page's usage card only):
# read after the write-back, so the scores reach the CRM without waiting on them. On the day a book's
# monthly usage update lands, every company's history is re-read (220 batch reads at 10k HubSpot companies).
AFTER_WRITE_BACK = (Stream.ACCOUNT_HISTORY,)
# The stages of plan() by name (the run report's steps). A pass planned by an older release (still in Redis
# during an upgrade) has the same names without "history" (and, older still, without "sentiment_older").
STAGES = ("sync", "link", "sentiment", "score", "write_back", "history", "sentiment_older", "finish")


def stage_names(stages: list[Any]) -> tuple[str, ...]:
    """The names of a stored plan's stages, whichever release planned it."""
    if len(stages) == len(STAGES):
        return STAGES
    older = tuple(n for n in STAGES if n != "history")
    return older if len(stages) == len(older) else tuple(n for n in older if n != "sentiment_older")


# A request whose budget refills within this long waits for it in place: a part reads at the vendor's
# rate, where re-queueing for each 0.1 s token put it behind every other queued part (longer waits, e.g.
# a spent daily budget, still re-queue with the countdown and free the worker).
PACE_S = 1.0
KEEP_STATE_S = 86400  # a finished pass's state stays a day for inspection
Part = list[Any]  # JSON: [step, *args]
Enqueue = Callable[[str, int, int, int, float], None]  # pass id, stage, chain, index, countdown


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # done | superseded | busy | gone | throttled
    result: dict[str, Any] | None = None
    wait_s: float = 0.0


def _key(pass_id: str, *rest: Any) -> str:
    return ":".join(["healthscore:pass", pass_id, *map(str, rest)])


def plan(settings: Settings, tenant_id: int) -> list[list[list[Part]]]:
    """The stages of one pass for the tenant's installations now."""
    with transaction(settings.sqlalchemy_url) as session:
        insts = [(i.id, i.status) for i in store.installations(session, tenant_id)]
    streams = [s.value for s in STREAM_ORDER if s not in AFTER_WRITE_BACK]
    live = [iid for iid, status in insts if status in {"connected", "error"}]
    sync = [[["sync", iid, name, n == len(streams) - 1] for n, name in enumerate(streams)] for iid in live]
    # `last` False: the installation was marked synced at the end of its sync chain
    history = [[["sync", iid, s.value, False] for s in AFTER_WRITE_BACK] for iid in live]
    return [
        sync or [[["noop"]]],
        [[["link"]]],
        # Tickets the score reads first; the older ones (only backtests and old history read them) after
        # the write-back, so a first pass puts scores into the CRM long before its backlog is judged.
        [[["sentiment", k, SENTIMENT_CHUNKS, "recent"]] for k in range(SENTIMENT_CHUNKS)],
        [[["score"]]],
        [[["write_back", iid]] for iid, _ in insts] or [[["noop"]]],
        history or [[["noop"]]],
        [[["sentiment", k, SENTIMENT_CHUNKS, "older"]] for k in range(SENTIMENT_CHUNKS)],
        [[["finish"]]],
    ]


def start(settings: Settings, client: Any, tenant_id: int, enqueue: Enqueue, ttl_s: float) -> dict[str, Any]:
    """Take the tenant (or report who has it), store the plan and enqueue the first stage."""
    pass_id = uuid.uuid4().hex[:16]
    lock = TenantLock(client, tenant_id, ttl_s, owner=pass_id)
    if not lock.acquire():
        return {"skipped": "another pass holds this tenant", "holder": lock.holder()}
    stages = plan(settings, tenant_id)
    with transaction(settings.sqlalchemy_url) as session:
        run = store.start_run(session, tenant_id, "pass")
        run.run_id = pass_id
    state = {"tenant": tenant_id, "plan": json.dumps(stages), "started": time.time()}
    client.hset(_key(pass_id), mapping=state)
    client.expire(_key(pass_id), KEEP_STATE_S)
    _enqueue_stage(client, pass_id, stages, 0, enqueue)
    return {"pass_id": pass_id, "tenant": tenant_id, "stages": len(stages)}


def _enqueue_stage(client: Any, pass_id: str, stages: list[Any], stage: int, enqueue: Enqueue) -> None:
    if client.set(_key(pass_id, "adv", stage), 1, nx=True, ex=KEEP_STATE_S):
        for chain in range(len(stages[stage])):
            enqueue(pass_id, stage, chain, 0, 0.0)


def run_part(
    settings: Settings,
    client: Any,
    pass_id: str,
    stage: int,
    chain: int,
    index: int,
    enqueue: Enqueue,
    ttl_s: float,
) -> Outcome:
    """Run one part of a pass once, then enqueue what follows it (exactly once)."""
    raw = client.hgetall(_key(pass_id))
    if not raw:
        return Outcome("gone")
    state = {k.decode(): v.decode() for k, v in raw.items()}
    tenant_id, stages = int(state["tenant"]), json.loads(state["plan"])
    lock = TenantLock(client, tenant_id, ttl_s, owner=pass_id)
    if not lock.acquire():  # a newer pass took the tenant after ours went quiet: it does the work
        return Outcome("superseded")
    field = f"r:{stage}:{chain}:{index}"
    stored = client.hget(_key(pass_id), field)
    if stored is None:
        part_lock = TenantLock(client, tenant_id, ttl_s)
        part_lock.key = _key(pass_id, "running", stage, chain, index)
        if not part_lock.acquire():  # a live duplicate delivery is running this part
            return Outcome("busy")
        lock.start_heartbeat()  # both stay alive while the part works, however long it takes
        part_lock.start_heartbeat()
        try:
            result = _execute(settings, client, tenant_id, pass_id, stages, stages[stage][chain][index])
            wait = _throttled(result)
            if wait is not None:  # the installation's budget ran out mid-part: finish it later
                return Outcome("throttled", result, wait_s=wait)
            client.hset(_key(pass_id), field, json.dumps(result, default=str))
        finally:
            lock.stop_heartbeat()  # the tenant stays ours until the pass finishes (or goes quiet a TTL)
            part_lock.release()
        if stages[stage][chain][index][0] == "finish":
            lock.release()
            _expire_all(client, pass_id)
    else:
        result = json.loads(stored)
    _advance(client, pass_id, stages, stage, chain, index, result, enqueue)
    return Outcome("done", result)


def _throttled(result: dict[str, Any]) -> float | None:
    """Seconds until the budget refills when a sync or write-back part stopped on it, else None. The
    part is then neither recorded nor advanced: it re-runs (from its cursor / the pending outbox rows)."""
    waits = [result.get("retry_after")] if result.get("status") == "throttled" else []
    waits += [r.get("retry_after") for r in result.values() if isinstance(r, dict)]
    found = [float(w) for w in waits if isinstance(w, int | float)]
    return max(0.05, *found) if found else None


def _gate(client: Any) -> Any:
    """installation → its adapter's before_call: one token per vendor request from the shared budget."""
    from connector.jobs import ratelimit

    def for_installation(inst: Any) -> Any:
        limits = ratelimit.limits_for(inst.vendor, inst.settings)
        return ratelimit.gate(client, inst.id, inst.vendor, limits, pace_s=PACE_S) if limits else None

    return for_installation


def _advance(
    client: Any,
    pass_id: str,
    stages: list[Any],
    stage: int,
    chain: int,
    index: int,
    result: dict[str, Any],
    enqueue: Enqueue,
) -> None:
    parts = stages[stage][chain]
    # An installation that needs reconnecting, is out of quota or unreachable stops its chain (cursors are saved).
    if index + 1 < len(parts) and result.get("status") not in STOPS_INSTALLATION:
        if client.set(_key(pass_id, "adv", stage, chain, index), 1, nx=True, ex=KEEP_STATE_S):
            enqueue(pass_id, stage, chain, index + 1, 0.0)
        return
    done = _key(pass_id, "done", stage)
    client.sadd(done, chain)
    client.expire(done, KEEP_STATE_S)
    if client.scard(done) == len(stages[stage]) and stage + 1 < len(stages):
        _enqueue_stage(client, pass_id, stages, stage + 1, enqueue)


def _expire_all(client: Any, pass_id: str) -> None:
    for key in client.scan_iter(match=_key(pass_id, "*")):
        client.expire(key, KEEP_STATE_S)


def _execute(
    settings: Settings, client: Any, tenant_id: int, pass_id: str, stages: list[Any], part: Part
) -> dict[str, Any]:
    """One part's work; a failing step is reported (the pass goes on, as in the one-process pass)."""
    from connector.installs.connections import CALL_GATE
    from connector.pipeline import run as pipeline
    from connector.pipeline import sentiment, writeback
    from connector.pipeline.sync import sync_one_stream

    step, args = part[0], part[1:]
    started, cpu0, wall0 = time.perf_counter(), time.process_time(), time.time()
    token = CALL_GATE.set(_gate(client))  # every vendor request of this part charges the shared budget
    try:
        if step == "sync":
            out = sync_one_stream(settings, tenant_id, int(args[0]), str(args[1]), bool(args[2]))
        elif step == "sentiment":
            window = args[2] if len(args) > 2 else None  # a plan from before the split judges all tickets
            # SENTIMENT_PART_THREADS: worker processes are the parallelism (see there)
            out = sentiment.run(
                settings,
                tenant_id,
                part=(int(args[0]), int(args[1])),
                window=window,
                threads=SENTIMENT_PART_THREADS,
            )
        elif step == "write_back":
            reports = writeback.write_back_tenant(settings, tenant_id, installation_id=int(args[0]))
            out = {r.vendor: _plain(r) for r in reports}
        elif step == "score" and (gaps := sync_gaps(client, pass_id, stages)):
            # The one-process pass's rule (connector.pipeline.run.run_tenant): scoring half-read data
            # announces band changes the next pass takes back, so the last scores stay until a pass has
            # read every stream (tests/reliability/test_split_pass_scoring.py).
            out = {"skipped": f"sync incomplete: {', '.join(gaps)}", **pipeline.NOTHING_SCORED}
        elif step == "finish":
            out = _finish(settings, client, tenant_id, pass_id, stages)
        elif step == "noop":
            out = {}
        else:
            out = pipeline._STEP_FUNCS[step](settings, tenant_id)
    except Exception as exc:  # reported like the one-process pass reports a failed step
        logger.exception("pass part %s failed", step, extra={"tenant": tenant_id, "run_id": pass_id})
        out = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        CALL_GATE.reset(token)
    out["duration_s"] = round(time.perf_counter() - started, 3)
    # For the run report and benchmarks: when the part ran and how much of it was this worker's own CPU
    # (the rest is waiting: on the vendor for sync and write-back, on the database otherwise).
    out["started_at"] = round(wall0, 3)
    out["cpu_s"] = round(time.process_time() - cpu0, 3)
    return out


def sync_gaps(client: Any, pass_id: str, stages: list[Any]) -> list[str]:
    """ "vendor stream" of every stream this pass did not read to the end: a failed part, a stream that
    failed, needs reconnecting or is out of quota, and the streams its chain then never ran."""
    from connector.pipeline.run import sync_incomplete

    raw = client.hgetall(_key(pass_id))
    results = {k.decode(): json.loads(v) for k, v in raw.items() if k.decode().startswith("r:0:")}
    gaps: list[str] = []
    installs: list[dict[str, Any]] = []
    for c, chain in enumerate(stages[0]):
        for i, part in enumerate(chain):
            if part[0] != "sync":
                continue
            name = f"installation {part[1]} {part[2]}"
            got = results.get(f"r:0:{c}:{i}")
            if got is None:  # never ran: its chain stopped (reconnect, quota) or a part failed before it
                gaps.append(f"{name} not read")
            elif "status" not in got:  # the part itself raised ({"error": ...})
                gaps.append(f"{name} failed")
            else:
                installs.append({"vendor": got.get("vendor") or f"installation {part[1]}", "streams": [got]})
    return [*sync_incomplete({"installations": installs}), *gaps]


def _plain(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(obj)


def _finish(
    settings: Settings, client: Any, tenant_id: int, pass_id: str, stages: list[Any]
) -> dict[str, Any]:
    """Events, history compaction and the run's report (collected from every part's stored result)."""
    from connector.clock import tenant_now
    from connector.pipeline import delivery

    events = _plain(delivery.deliver_due(settings, tenant_id))
    with transaction(settings.sqlalchemy_url) as session:
        compacted = store.compact_snapshots(session, tenant_id, tenant_now(session, tenant_id))
    raw = client.hgetall(_key(pass_id))
    results = {k.decode(): json.loads(v) for k, v in raw.items() if k.decode().startswith("r:")}
    names = stage_names(stages)
    steps: dict[str, Any] = {}
    for s, name in enumerate(names[:-1]):  # the last stage is this one
        steps[name] = [
            results.get(f"r:{s}:{c}:{i}")
            for c, chain in enumerate(stages[s])
            for i in range(len(chain))
            if f"r:{s}:{c}:{i}" in results
        ]
    steps["events"] = events
    failed = any(
        isinstance(r, dict) and (r.get("error") and r.get("status") != "skipped")
        for v in steps.values()
        for r in (v if isinstance(v, list) else [v])
    )
    skipped_score = any(isinstance(r, dict) and r.get("skipped") for r in steps["score"])
    status = "partial" if failed or skipped_score else "ok"
    started = float(client.hget(_key(pass_id), "started") or time.time())
    report = {
        "run_id": pass_id,
        "status": status,
        "steps": steps,
        "compacted": compacted,
        "wall_s": round(time.time() - started, 3),
    }
    store.finish_run(settings.sqlalchemy_url, tenant_id, pass_id, status, report)
    return {"status": status, "compacted": compacted, "wall_s": report["wall_s"]}
