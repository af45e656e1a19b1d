"""End to end at size (issue 17), for `benchmarks/pipeline.py --e2e`: the sandbox book in its own process,
PostgreSQL, Redis and N real Celery workers (subprocesses) running the two demo tenants' split passes.

Per run (limits off, then the sandbox enforcing the vendors' real limits): wall time per step (first part
started → last part finished), the workers' own CPU per step against time spent waiting (on the vendor
for sync and write-back, on the database otherwise), API calls per vendor (the sandbox's own counters),
messages/s through sentiment, peak RSS per process, and with real limits the floor the limits allow
(calls ÷ allowed rate per vendor). Then an incremental pass after a 1-day tick.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from connector.config import load_settings
from connector.demo.emulator import record_world
from connector.demo.run import Receiver, prepare
from connector.demo.scale import Fleet, run_passes
from connector.installs.provision import ensure_all
from connector.store import migrate
from connector.store import models as m
from connector.store.db import get_engine, transaction
from connector.store.repo import tenants

STEPS = ("sync", "link", "sentiment", "score", "write_back", "history", "sentiment_older")
# The sandbox's `--rate-limits real` (integrations/sandbox/limits.py), per vendor: (requests, seconds).
REAL = {
    "hubspot": [[100, 10.0], [250_000, 86_400.0]],
    "zendesk": [[700, 60.0]],
    "salesforce": [[15_000, 86_400.0]],
}


def _hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_sandbox(accounts: int, workdir: str) -> tuple[subprocess.Popen[str], dict[str, Any], float]:
    exe = shutil.which("healthscore") or str(Path(sys.executable).with_name("healthscore"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [exe, "sandbox", "serve", "--accounts", str(accounts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=workdir,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the sandbox did not start (run `healthscore sandbox serve` to see why)")
    return proc, json.loads(line), round(time.perf_counter() - t0, 1)


def _counters(admin: str) -> dict[str, int]:
    data = requests.get(f"{admin}/_sandbox/counters", timeout=30).json()["counters"]
    return {v: sum(n for k, n in calls.items() if "/oauth" not in k) for v, calls in data.items()}


def _parts(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    raw = (report.get("steps") or {}).get(name)
    return [p for p in (raw if isinstance(raw, list) else [raw]) if isinstance(p, dict) and "started_at" in p]


def _steps(reports: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step: wall per tenant (its first part started → its last part finished; the tenants' passes
    overlap, so a step's wall is not summed over them), and over both tenants the summed part time, the
    workers' own CPU in those parts and the rest (waiting: vendor, database, or a CPU share on a loaded
    machine)."""
    out: dict[str, dict[str, Any]] = {}
    for name in STEPS:
        walls, parts = {}, []
        for tid, rep in reports.items():
            mine = _parts(rep, name)
            if mine:
                end = max(p["started_at"] + p["duration_s"] for p in mine)
                walls[str(tid)] = round(end - min(p["started_at"] for p in mine), 1)
                parts += mine
        if not parts:
            continue
        busy = sum(p["duration_s"] for p in parts)
        cpu = sum(p.get("cpu_s", 0.0) for p in parts)
        out[name] = {
            "wall_s_per_tenant": walls,
            "parts": len(parts),
            "part_time_s": round(busy, 1),
            "own_cpu_s": round(cpu, 1),
            "waiting_s": round(busy - cpu, 1),
        }
    out["pass"] = {
        "wall_s_per_tenant": {str(t): r.get("wall_s") for t, r in reports.items()},
        # pass start → its last write-back part done: when the CRM has every account's score (the older
        # tickets' sentiment, which no score reads, is judged after that)
        "scores_written_back_s_per_tenant": {str(t): _written_back(r) for t, r in reports.items()},
    }
    return out


def _passes(settings: Any, ids: list[int], until: str, timeout_s: float) -> dict[int, dict[str, Any]]:
    """One pass per tenant on the workers; tenant → its report, at the pass's finish or (until="scores")
    as soon as its write-back stage is done: every account's score is in the CRM, only the older
    tickets' sentiment (which no score reads) is left."""
    if until != "scores":
        return run_passes(settings, ids, timeout_s=timeout_s)
    import redis

    from connector.jobs import tasks
    from connector.jobs.passes import STAGES

    tasks.configure(settings)
    client = redis.Redis.from_url(settings.broker_url)
    started = {tid: tasks.run_tenant.delay(tid).get(timeout=300)["pass_id"] for tid in ids}
    wb = STAGES.index("write_back")
    deadline, reports = time.monotonic() + timeout_s, {}
    while len(reports) < len(started):
        for tid, pid in started.items():
            key = f"healthscore:pass:{pid}"
            if tid in reports:
                continue
            stages = json.loads(client.hget(key, "plan") or "[]")
            if not stages or client.scard(f"{key}:done:{wb}") < len(stages[wb]):
                continue
            raw = {k.decode(): v for k, v in client.hgetall(key).items()}
            steps = {
                name: [
                    json.loads(raw[f"r:{s}:{c}:{i}"])
                    for c, chain in enumerate(stages[s])
                    for i in range(len(chain))
                    if f"r:{s}:{c}:{i}" in raw
                ]
                for s, name in enumerate(STAGES[: wb + 1])
            }
            reports[tid] = {
                "status": "scores written back",
                "steps": steps,
                "wall_s": round(time.time() - float(raw["started"]), 1),
            }
        if time.monotonic() > deadline:
            raise TimeoutError(f"scores not written back within {timeout_s:.0f} s")
        time.sleep(1.0)
    return reports


def _problems(reports: dict[int, dict[str, Any]]) -> list[str]:
    """Why a pass is "partial": every part that failed, was skipped or did not read its stream to the end."""
    out = []
    for tid, rep in reports.items():
        for name in STEPS:
            for p in _parts(rep, name):
                why = p.get("error") or p.get("skipped")
                if why or p.get("status") not in (None, "ok", "skipped"):
                    out.append(
                        f"tenant {tid} {name} {p.get('vendor') or ''} {p.get('stream') or ''}: "
                        f"{p.get('status') or ''} {why or ''}".strip()
                    )
    return out


def _span(reports: dict[int, dict[str, Any]], name: str) -> float:
    """First part of the step started → last part finished, over every tenant."""
    parts = [p for r in reports.values() for p in _parts(r, name)]
    if not parts:
        return 0.0
    return max(p["started_at"] + p["duration_s"] for p in parts) - min(p["started_at"] for p in parts)


def _written_back(report: dict[str, Any]) -> float | None:
    parts = [p for name in STEPS for p in _parts(report, name)]
    done = [p["started_at"] + p["duration_s"] for p in _parts(report, "write_back")]
    if not parts or not done:
        return None
    return round(max(done) - min(p["started_at"] for p in parts), 1)


def one_run(
    admin_pg: str, redis_url: str, creds: dict[str, Any], sandbox_pid: int, workdir: Path, mode: str, workers: int,
    incremental: bool, pg_database: Any, until: str = "finish", setup_sentiment: str = "model",
    lock_file: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    import redis

    admin = creds["admin"]
    requests.post(f"{admin}/_sandbox/limits", json={"mode": mode}, timeout=30).raise_for_status()
    redis.Redis.from_url(redis_url).flushdb()
    url, drop = pg_database(admin_pg)
    inst = workdir / f"inst-{mode}"
    settings = load_settings(
        {"database_url": url, "broker_url": redis_url, "instance_path": str(inst),
         "webhooks_allow_private_targets": True},
        environ={},
    )  # fmt: skip
    migrate.upgrade(settings.sqlalchemy_url)
    receiver = Receiver().start()
    fleet = Fleet(settings, workdir / f"logs-{mode}")
    out: dict[str, Any] = {"mode": mode, "workers": workers}
    try:
        info = prepare(settings, creds, receiver.url)
        with transaction(settings.sqlalchemy_url) as s:
            ids = [tenants(s, slug)[0].id for slug in info["tenants"]]
            if mode == "real":  # budgets = the sandbox plan's limits (the defaults keep headroom back)
                for i in s.scalars(select(m.Installation)):
                    i.settings = {**(i.settings or {}), "rate_limits": REAL[i.vendor]}
        for tid in ids:
            ensure_all(settings, tid)
        if setup_sentiment == "neutral":
            # The first pass only builds the store the incremental pass starts from: run it here, eager,
            # with the stand-in judge (benchmarks/_standin.py); its figures are not the product's.
            out["first_pass_setup"] = _setup_pass(settings)
            print(json.dumps({"first_pass": out}), file=sys.stderr, flush=True)
            fleet.start_workers(workers)
            time.sleep(15)  # the workers' model loads are not part of the incremental pass's time
        else:
            fleet.start_workers(workers)
            fleet = _first_pass(
                out, settings, fleet, ids, admin, sandbox_pid, workdir, mode, workers, redis_url, until,
                incremental,
            )  # fmt: skip
        if incremental:
            with measure_lock(lock_file, out):  # the tick and the measured pass only
                _incremental(out, settings, ids, admin, sandbox_pid, fleet, workdir, until)
        out["peak_rss_mib"] = {
            **fleet.peak_rss_mib(),
            "sandbox": _hwm_mib(sandbox_pid),
            "benchmark (enqueues, waits)": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
        }
    finally:
        fleet.stop()
        receiver.stop()
        get_engine(settings.sqlalchemy_url).dispose()
        try:
            drop()
        except SQLAlchemyError as exc:  # the figures matter more than the cleanup: say what is left behind
            print(
                f"could not drop the benchmark database ({type(exc).__name__}); drop it by hand",
                file=sys.stderr,
            )
    return out


@contextmanager
def measure_lock(path: str | None, out: dict[str, Any]) -> Iterator[None]:
    """Hold an flock on `path` (a shared CPU lock, e.g. /work/notes/cpu.lock) around the measured part only,
    so the long unmeasured set-up can run niced beside other jobs while the measurement runs on a machine
    those jobs leave alone. Records in `out` how long the lock was waited for (None: no lock asked)."""
    if not path:
        out["measure_lock"] = None
        yield
        return
    import fcntl

    with open(path, "a") as fh:  # an flock needs the file descriptor
        t0, when = time.perf_counter(), time.strftime("%H:%M:%S", time.gmtime())
        fcntl.flock(fh, fcntl.LOCK_EX)
        out["measure_lock"] = {
            "path": path,
            "asked_at_utc": when,
            "waited_s": round(time.perf_counter() - t0, 1),
            "load_avg_at_acquire": [round(x, 1) for x in os.getloadavg()],
        }
        print(json.dumps({"measure_lock": out["measure_lock"]}), file=sys.stderr, flush=True)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _incremental(
    out: dict[str, Any], settings: Any, ids: list[int], admin: str, sandbox_pid: int, fleet: Fleet,
    workdir: Path, until: str,
) -> None:  # fmt: skip
    """The tick, then the incremental pass, measured into `out["incremental"]`."""
    requests.post(f"{admin}/_sandbox/tick", json={"days": 1}, timeout=1800).raise_for_status()
    record_world(settings.sqlalchemy_url, admin)
    requests.delete(f"{admin}/_sandbox/counters", timeout=30)
    spies = _spy(sandbox_pid, fleet, workdir)
    emu0, pg0, wcpu0, load0 = _cpu_s(sandbox_pid), _postgres_cpu_s(), fleet.cpu_s(), os.getloadavg()
    t1 = time.perf_counter()
    again = _passes(settings, ids, until, 3600)
    wall = round(time.perf_counter() - t1, 1)
    wcpu = fleet.cpu_s()
    out["incremental"] = {
        "wall_s": wall,
        "steps": _steps(again),
        "api_calls": _counters(admin),
        # Who used the CPU while the pass ran (the pass's waits are mostly these on a 2-core
        # machine): the emulator serving the reads, PostgreSQL (every postgres process on the
        # machine), and the worker processes (all their CPU, pass parts and Celery's own).
        "cpu_s_during_pass": {
            "emulator (vendor side)": round(_cpu_s(sandbox_pid) - emu0, 1),
            "postgresql": round(_postgres_cpu_s() - pg0, 1),
            "workers": round(sum(wcpu.values()) - sum(wcpu0.values()), 1),
        },
        "load_avg": [round(load0[0], 1), round(os.getloadavg()[0], 1)],
        "sync_parts": _sync_parts(again),
        "status": {str(t): r["status"] for t, r in again.items()},
        "problems": _problems(again),
    }
    _stop_spies(spies)


def _postgres_cpu_s() -> float:
    """CPU seconds of every live postgres process on this machine (backends, checkpointer, WAL writer)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                total += _cpu_s(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    return total


def _sync_parts(reports: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sync part of the pass: tenant, vendor, stream, records read, pages, calls, part time and own
    CPU (slowest first)."""
    rows = [
        {
            "tenant": tid,
            "vendor": p.get("vendor"),
            "stream": p.get("stream"),
            "records": p.get("read"),
            "pages": p.get("pages"),
            "api_calls": p.get("api_calls"),
            "part_s": p.get("duration_s"),
            "cpu_s": p.get("cpu_s"),
        }
        for tid, rep in reports.items()
        for p in _parts(rep, "sync")
    ]
    return sorted(rows, key=lambda r: -(r["part_s"] or 0.0))


def _spy(sandbox_pid: int, fleet: Fleet, workdir: Path) -> list[subprocess.Popen[bytes]]:
    """With HEALTHSCORE_E2E_PYSPY=DIR (and py-spy on PATH): record the emulator and each worker (its
    pool process included) through the incremental pass, as collapsed stacks in DIR."""
    where = os.environ.get("HEALTHSCORE_E2E_PYSPY")
    spy = shutil.which("py-spy")
    if not where or not spy:
        return []
    Path(where).mkdir(parents=True, exist_ok=True)
    targets = {"emulator": sandbox_pid} | {name: pids[0] for name, pids in fleet.pids().items()}
    return [
        subprocess.Popen(  # noqa: S603 - a profiler the user asked for
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                "50",
                "--format",
                "raw",
                "--output",
                str(Path(where) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    ]


def _stop_spies(spies: list[subprocess.Popen[bytes]]) -> None:
    import signal

    for p in spies:
        p.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for p in spies:
        p.wait(timeout=60)


def _setup_pass(settings: Any) -> dict[str, Any]:
    """The first pass in this process, Celery eager, every message judged neutral by the stand-in."""
    from dataclasses import replace

    from benchmarks._standin import neutral_sentiment
    from connector.pipeline import run as pipeline

    eager = replace(settings, celery_always_eager=True)
    t0 = time.perf_counter()
    with neutral_sentiment(eager):
        pipeline.run_pass(eager)
    return {"wall_s": round(time.perf_counter() - t0, 1), "sentiment": "neutral stand-in (not measured)"}


def _first_pass(
    out: dict[str, Any], settings: Any, fleet: Fleet, ids: list[int], admin: str, sandbox_pid: int,
    workdir: Path, mode: str, workers: int, redis_url: str, until: str, incremental: bool,
) -> Fleet:  # fmt: skip
    """The first pass on the workers, measured into `out`; the fleet the incremental pass runs on."""
    import redis

    requests.delete(f"{admin}/_sandbox/counters", timeout=30)
    cpu0, load0, t0 = _cpu_s(sandbox_pid), os.getloadavg(), time.perf_counter()
    wcpu0 = fleet.cpu_s()
    reports = _passes(settings, ids, until, 4 * 3600)
    out["first_pass_wall_s"] = round(time.perf_counter() - t0, 1)
    out["load_avg_during"] = [round(load0[0], 1), round(os.getloadavg()[0], 1)]
    out["status"] = {str(t): r["status"] for t, r in reports.items()}
    out["problems"] = _problems(reports)
    out["steps"] = _steps(reports)
    out["api_calls"] = _counters(admin)
    out["emulator_cpu_s"] = round(_cpu_s(sandbox_pid) - cpu0, 1)
    wcpu = fleet.cpu_s()
    out["worker_cpu_s"] = {k: round(wcpu[k] - wcpu0.get(k, 0.0), 1) for k in wcpu}
    for name in ("sentiment", "sentiment_older"):
        parts = [p for r in reports.values() for p in _parts(r, name)]
        msgs = sum(int(p.get("messages") or 0) for p in parts)
        model = sum(int(p.get("model_calls") or 0) for p in parts)
        step = out["steps"].get(name, {})
        # both tenants' chunks share the workers: their messages over the stage's span across tenants
        span = _span(reports, name)
        out[f"{name}_messages"] = msgs
        out[f"{name}_model_calls"] = model
        out[f"{name}_messages_per_s"] = round(msgs / span, 1) if span else None
        out[f"{name}_cpu_ms_per_message"] = round(1000 * step.get("own_cpu_s", 0) / msgs, 2) if msgs else None
    if mode == "real":
        floors = {}
        for vendor, calls in out["api_calls"].items():
            cap, seconds = REAL[vendor][0]
            floors[vendor] = (
                round(max(0, calls - cap) / (cap / seconds), 1) if vendor != "salesforce" else 0.0
            )
        out["floor_s"] = floors
        sync_wall = max((out["steps"].get("sync", {}).get("wall_s_per_tenant") or {"": 0.0}).values())
        out["sync_wall_vs_floor"] = (
            round(sync_wall / max(floors.values()), 2) if max(floors.values()) else None
        )
    out["peak_rss_mib_first_pass"] = {**fleet.peak_rss_mib(), "sandbox": _hwm_mib(sandbox_pid)}
    print(json.dumps({"first_pass": out}), file=sys.stderr, flush=True)  # kept if a later step fails
    if incremental and until == "scores":  # the first pass's older-ticket parts are still queued: drop them
        # (and the workers' model loads are not part of the incremental pass's time)
        fleet.stop()
        redis.Redis.from_url(redis_url).flushdb()
        fleet = Fleet(settings, workdir / f"logs-{mode}-incremental")
        fleet.start_workers(workers)
        time.sleep(15)
    return fleet


def run(args: Any, pg_database: Any) -> dict[str, Any]:
    modes = ["off", "real"] if args.limits == "both" else [args.limits]
    with tempfile.TemporaryDirectory(prefix="healthscore-e2e-") as tmp:
        proc, creds, boot = start_sandbox(args.accounts, tmp)
        result: dict[str, Any] = {"accounts": args.accounts, "sandbox_boot_s": boot, "runs": []}
        try:
            for mode in modes:
                result["runs"].append(
                    one_run(
                        args.database_url, args.broker_url, creds, proc.pid, Path(tmp), mode, args.workers,
                        incremental=mode == modes[0], pg_database=pg_database, until=args.until,
                        setup_sentiment=args.setup_sentiment, lock_file=args.lock_file,
                    )
                )  # fmt: skip
                print(json.dumps(result["runs"][-1]), file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return result
