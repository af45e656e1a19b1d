"""Many small tenants on shared Celery workers (issue 17): passes per minute, and the slowest tenant's
pass latency against the median (fair queueing: target ≤ 2x), with 1, 2 and 4 worker processes.

Set-up per worker count: a fresh PostgreSQL database and Redis db, `--tenants` tenants each installed
against the one sandbox book of `--accounts` accounts (served by `healthscore sandbox serve` in its own
process), alternating Salesforce and HubSpot as the CRM, each with Zendesk. Every tenant starts with the
sentiment cache a tenant has after its first pass (copied from one tenant that ran a pass during
set-up), so the measured passes sync the whole book, link, score and write back, and judge no text.

Measured: at t=0 one pass per tenant is enqueued (as the scheduler does when an interval fires); when a
tenant's pass finishes, its next one is enqueued at once, so the queue stays full for the whole window.
The run is bounded by `--minutes` per worker count, not by completing everything. Reported: passes
finished per minute, and each tenant's first pass latency (enqueued at t=0 → the pass's finished_at in
the store): median, slowest, and their ratio; tenants whose first pass did not finish within the window
are counted and make the ratio a lower bound. Baseline (same run): 1 worker.

    python benchmarks/tenants.py [--tenants 50] [--accounts 200] [--workers 1 2 4] [--minutes 3]
    python benchmarks/tenants.py --smoke      # 3 tenants x 10 accounts, 2 workers, < 30 s
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import logging
import os
import statistics
import tempfile
import time
from typing import Any

import requests
from sqlalchemy import func, select, text

from benchmarks._e2e import start_sandbox
from benchmarks.pipeline import _pg_database, _provenance
from connector.config import Settings, load_settings
from connector.demo.run import TOKEN_PATHS
from connector.demo.scale import Fleet
from connector.installs.provision import ensure_all
from connector.installs.vault import Vault
from connector.pipeline import run as pipeline
from connector.store import migrate
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from integrations.oauth import TokenSet


def _tenants(settings: Settings, creds: dict[str, Any], n: int) -> list[int]:
    vault = Vault(settings)
    ids = []
    with transaction(settings.sqlalchemy_url) as s:
        for i in range(n):
            crm = ("salesforce", "hubspot")[i % 2]
            tenant = store.ensure_tenant(s, f"t{i:03d}", f"Tenant {i}", primary_crm=crm)
            for vendor in (crm, "zendesk"):
                c = creds[vendor]
                store.save_installation(
                    s, vault, tenant_id=tenant.id, vendor=vendor, base_url=c["base_url"],
                    token_url=c["base_url"].rstrip("/") + TOKEN_PATHS[vendor], client_id=c["client_id"],
                    client_secret=c["client_secret"],
                    tokens=TokenSet(access_token=c["access_token"], refresh_token=c.get("refresh_token")),
                    ca_file=creds.get("ca_file"), vendor_account=c.get("account"),
                    settings={"sandbox_admin": creds.get("admin"), "write_back": vendor != "zendesk"},
                )  # fmt: skip
            ids.append(tenant.id)
    for tid in ids:
        ensure_all(settings, tid)
    return ids


def _warm_sentiment(settings: Settings, ids: list[int]) -> None:
    """One tenant per CRM runs its first pass; every other tenant gets that tenant's sentiment cache (the
    same book, so the same texts), as it would hold after its own first pass."""
    for donor in ids[:2]:
        pipeline.run_tenant(settings, donor)
    with transaction(settings.sqlalchemy_url) as s:
        for tid in ids[2:]:
            s.execute(
                text(
                    "INSERT INTO sentiment_results (tenant_id, text_hash, model_version, label, score, "
                    "confidence, excerpt, created_at) SELECT :tid, text_hash, model_version, label, score, "
                    "confidence, excerpt, created_at FROM sentiment_results WHERE tenant_id = :donor "
                    "ON CONFLICT DO NOTHING"
                ),
                {"tid": tid, "donor": ids[0]},
            )


def _ready(settings: Settings, workers: int, timeout: float = 120.0) -> None:
    """Wait until every worker answers a ping: their start-up is not part of the window."""
    from connector.jobs import tasks

    app = tasks.configure(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= workers:
            return
    raise SystemExit(f"{workers} worker(s) did not start within {timeout:.0f} s")


def _window(settings: Settings, ids: list[int], minutes: float) -> dict[str, Any]:
    from connector.jobs import tasks

    tasks.configure(settings)
    # tenant -> (pass id, wall time its run_tenant was enqueued). A pass's latency runs from that enqueue
    # to its finished_at in the store (same machine clock), not to when this loop notices it: the loop
    # waits for a worker's answer on every re-enqueue, and a finish seen late must not count as latency.
    running: dict[int, tuple[str, float]] = {}
    first: dict[int, float] = {}
    finished = 0
    t0 = time.monotonic()

    def enqueue(tid: int) -> None:
        at = time.time()
        answer = tasks.run_tenant.delay(tid).get(timeout=120)
        if "pass_id" in answer:
            running[tid] = (answer["pass_id"], at)

    # t=0: every tenant's pass is enqueued at once, as the scheduler does, before waiting for any answer.
    at0 = time.time()
    pending = [(tid, tasks.run_tenant.delay(tid)) for tid in ids]
    for tid, result in pending:
        answer = result.get(timeout=300)
        if "pass_id" in answer:
            running[tid] = (answer["pass_id"], at0)
    started_all = time.monotonic() - t0
    end = t0 + minutes * 60
    while time.monotonic() < end and running:
        with transaction(settings.sqlalchemy_url) as s:
            rows = {
                run_id: (status, done_at)
                for run_id, status, done_at in s.execute(
                    select(m.Run.run_id, m.Run.status, m.Run.finished_at).where(
                        m.Run.run_id.in_([p for p, _ in running.values()])
                    )
                )
            }
        for tid, (pass_id, enqueued) in list(running.items()):
            status, done_at = rows.get(pass_id, ("running", None))
            if status != "running":
                finished += 1
                done = done_at.timestamp() if done_at is not None else time.time()
                first.setdefault(tid, done - enqueued)
                del running[tid]
                enqueue(tid)
        time.sleep(0.5)
    elapsed = time.monotonic() - t0
    lat = sorted(first.values())
    # Progress when passes are still running: records each tenant's passes stored so far (fair queueing
    # shows as an even spread: the least advanced tenant near the median).
    with transaction(settings.sqlalchemy_url) as s:
        stored = dict.fromkeys(ids, 0)
        for table in (m.Account, m.Ticket, m.TicketComment):
            for tid, n in s.execute(select(table.tenant_id, func.count()).group_by(table.tenant_id)):
                stored[tid] = stored.get(tid, 0) + int(n)
    progress = sorted(stored[t] for t in ids)
    return {
        "passes": finished,
        "per_min": finished / (elapsed / 60),
        "first_done": len(lat),
        "first_missing": len(ids) - len(lat),
        "median": statistics.median(lat) if lat else float("nan"),
        "slowest": lat[-1] if lat else float("nan"),
        "started_all": started_all,
        "stored_min": progress[0],
        "stored_median": statistics.median(progress),
    }


def one(args: argparse.Namespace, creds: dict[str, Any], workers: int, tmp: Path) -> dict[str, Any]:
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()
    url, drop = _pg_database(args.database_url)
    settings = load_settings(
        {"database_url": url, "broker_url": args.broker_url, "instance_path": str(tmp / f"inst-{workers}"),
         "webhooks_allow_private_targets": True},
        environ={},
    )  # fmt: skip
    fleet = Fleet(settings, tmp / f"logs-{workers}")
    try:
        migrate.upgrade(url)
        ids = _tenants(settings, creds, args.tenants)
        _warm_sentiment(settings, ids)
        fleet.start_workers(workers)
        _ready(settings, workers)
        load0 = os.getloadavg()[0]
        out = _window(settings, ids, args.minutes)
        out |= {"workers": workers, "load": (load0, os.getloadavg()[0])}
        if not out["passes"]:  # say why rather than print an empty row
            log = tmp / f"logs-{workers}" / "worker-0.log"
            print(log.read_text()[-3000:] if log.exists() else "no worker log", file=sys.stderr)
        return out
    finally:
        fleet.stop()
        get_engine(url).dispose()
        drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=50)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--minutes", type=float, default=3.0, help="measuring window per worker count")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--broker-url", default="redis://127.0.0.1:6379/13", help="Redis db (flushed!)")
    ap.add_argument("--smoke", action="store_true", help="3 tenants x 10 accounts, 2 workers, a 9 s window")
    args = ap.parse_args()
    if args.smoke:
        # One worker count: each runs the same set-up and window code (a fresh database, the fleet, the
        # measured passes); 2 workers keeps two processes taking tenants' passes off one queue.
        args.tenants, args.accounts, args.workers, args.minutes = 3, 10, [2], 0.15
    logging.basicConfig(level=logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory(prefix="healthscore-tenants-") as tmp:
        proc, creds, _ = start_sandbox(args.accounts, tmp)
        try:
            requests.post(f"{creds['admin']}/_sandbox/limits", json={"mode": "off"}, timeout=30)
            for w in args.workers:
                results.append(one(args, creds, w, Path(tmp)))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"{args.tenants} tenants x {args.accounts} accounts (sandbox book, PostgreSQL + Redis), "
          f"{args.minutes:g} min window per worker count; first pass latency = enqueued → finished")  # fmt: skip
    print(f"{'workers':>8}{'passes':>8}{'per min':>9}{'first done':>12}{'not done':>10}{'median s':>10}"
          f"{'slowest s':>11}{'slow/med':>10}{'vs 1 worker':>13}{'load':>12}")  # fmt: skip
    base = results[0]["per_min"] or float("nan")
    for r in results:
        ratio = r["slowest"] / r["median"] if r["first_done"] else float("nan")
        bound = "≥" if r["first_missing"] else " "
        print(f"{r['workers']:>8}{r['passes']:>8}{r['per_min']:>9.1f}{r['first_done']:>12}{r['first_missing']:>10}"
              f"{r['median']:>10.1f}{r['slowest']:>11.1f}{bound:>5}{ratio:>5.2f}{r['per_min'] / base:>13.2f}"
              f"{r['load'][0]:>6.1f}→{r['load'][1]:<5.1f}")  # fmt: skip
    print("records stored per tenant at the window's end (progress of passes still running): least / median")
    for r in results:
        print(f"{r['workers']:>8} workers: {r['stored_min']} / {r['stored_median']:.0f}")
    print("every tenant's first pass had started (all run_tenant tasks answered) after:")
    for r in results:
        print(f"{r['workers']:>8} workers: {r['started_all']:.1f} s")
    prov = _provenance()
    print(f"target: slowest ≤ 2 x median. machine {prov['machine']}, commit {prov['commit']}")


if __name__ == "__main__":
    main()
