"""Store at size (issue 17): upserts, the link step, the portfolio page and history compaction on a
synthetic book, on PostgreSQL (or SQLite), with the numbers printed as one JSON object.

    python benchmarks/pipeline.py --database-url postgresql://postgres@127.0.0.1:5432/test \
        --accounts 10000 --tickets 20 --days 90
    python benchmarks/pipeline.py --smoke      # seconds, SQLite; run by the test suite
    python benchmarks/pipeline.py --e2e --accounts 2000 --workers 2 --limits both \
        --database-url postgresql://postgres@127.0.0.1:5432/test --broker-url redis://127.0.0.1:6379/9

Without --e2e it measures the store alone on a synthetic book. With --e2e (benchmarks/_e2e.py): the
sandbox book, PostgreSQL, Redis and N real Celery workers running the two demo tenants' first pass (limits
off, then the sandbox enforcing the vendors' real limits against the floor they allow) and an incremental
pass after a 1-day tick: wall time per step, own CPU vs waiting, API calls per vendor, sentiment
messages/s, peak RSS per process. Note the load average it prints: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text

from connector.pipeline.link import link_tenant
from connector.readmodels.portfolio import portfolio
from connector.store import migrate
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from integrations import records as r

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - started, 3)


def _book(accounts: int, tickets: int) -> tuple[list[r.Record], list[r.Record]]:
    accs: list[r.Record] = [
        r.AccountRecord(
            vendor="salesforce", external_id=f"A{i:06d}", name=f"Account {i}", domains=(f"a{i}.test",),
            arr=None, updated_at=NOW,
        )
        for i in range(accounts)
    ]  # fmt: skip
    tks: list[r.Record] = [
        r.TicketRecord(
            vendor="salesforce", external_id=f"T{i:06d}-{k}", account_external_id=f"A{i:06d}",
            subject="help", created_at=NOW, updated_at=NOW,
        )
        for i in range(accounts)
        for k in range(tickets)
    ]  # fmt: skip
    return accs, tks


def _upsert(url: str, tid: int, records: list[r.Record], page: int = 500) -> None:
    for i in range(0, len(records), page):
        with transaction(url) as s:
            store.upsert_records(s, tid, records[i : i + page])


def _history(url: str, tid: int, days: int, per_day: int) -> int:
    """`per_day` snapshots per account per day for `days` days, bulk-inserted."""
    with transaction(url) as s:
        ids = list(s.scalars(select(m.Account.id).where(m.Account.tenant_id == tid)))
    n = 0
    for day in range(days, -1, -1):
        for hour in range(0, 24, 24 // per_day):
            as_of = NOW - timedelta(days=day) + timedelta(hours=hour - 12)
            rows = [
                {
                    "tenant_id": tid, "account_id": a, "as_of": as_of, "score": float((a * 7 + day) % 100),
                    "band": "green", "band_since": as_of, "segment": "smb", "dimensions": {}, "drivers": [],
                    "metrics": {}, "confidence": 0.5, "model_version": "bench",
                }
                for a in ids
            ]  # fmt: skip
            with transaction(url) as s:
                s.execute(insert(m.ScoreSnapshot), rows)
            n += len(rows)
    with transaction(url) as s:  # bulk inserts bypass the flush hook: point current_scores once
        snap = m.ScoreSnapshot
        newest = select(func.max(snap.id)).where(snap.tenant_id == tid).group_by(snap.account_id)
        latest = s.execute(
            select(snap.account_id, snap.tenant_id, snap.id.label("snapshot_id"), snap.as_of)
            .add_columns(*(getattr(snap, name) for name in m.CURRENT_COPIED))
            .where(snap.id.in_(newest))
        ).all()
        m.upsert_current(s.connection(), [dict(row._mapping) for row in latest])
    return n


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18] * 1000, 1) if len(samples) > 1 else 0.0


def _pages(url: str, tid: int, repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"portfolio_first_page": [], "portfolio_red_filter": []}
    for _ in range(repeats):
        for name, kwargs in (("portfolio_first_page", {}), ("portfolio_red_filter", {"band": "red"})):
            with transaction(url) as s:
                started = time.perf_counter()
                portfolio(s, tid, **kwargs)
                times[name].append(time.perf_counter() - started)
    return {f"{k}_p95_ms": _p95(v) for k, v in times.items()}


def run(url: str, accounts: int, tickets: int, days: int, per_day: int, repeats: int) -> dict[str, Any]:
    migrate.upgrade(url)
    with transaction(url) as s:
        tid = store.ensure_tenant(s, f"bench-{uuid.uuid4().hex[:6]}", "Bench", primary_crm="salesforce").id
    accs, tks = _book(accounts, tickets)
    out: dict[str, Any] = {"accounts": accounts, "tickets": len(tks), "days": days}
    _, out["upsert_accounts_s"] = _timed(lambda: _upsert(url, tid, accs))
    _, out["upsert_tickets_s"] = _timed(lambda: _upsert(url, tid, tks))
    out["upsert_tickets_per_s"] = round(len(tks) / max(out["upsert_tickets_s"], 1e-3))
    _, out["reupsert_accounts_unchanged_s"] = _timed(lambda: _upsert(url, tid, accs))

    def _link() -> Any:
        with transaction(url) as s:
            return link_tenant(s, tid)

    rep, out["link_first_s"] = _timed(_link)
    out["tickets_linked"] = rep.tickets_linked
    _, out["link_again_s"] = _timed(_link)
    out["snapshots"], out["history_insert_s"] = _timed(lambda: _history(url, tid, days, per_day))
    out |= _pages(url, tid, repeats)

    def _compact() -> int:
        with transaction(url) as s:
            return store.compact_snapshots(s, tid, NOW)

    out["compacted"], out["compaction_s"] = _timed(_compact)
    out |= {f"after_compaction_{k}": v for k, v in _pages(url, tid, repeats).items()}
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    get_engine(url).dispose()
    return out


def _pg_database(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy.pool import NullPool

    # The maintenance database, a fresh connection each time: a test run elsewhere may terminate the
    # connections of `test` (WITH (FORCE)) while a long benchmark runs.
    server = admin_url.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    name = f"healthscore_bench_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}", drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--database-url", default="", help="a PostgreSQL server URL (a throwaway database is made)"
    )
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--tickets", type=int, default=20, help="tickets per account")
    ap.add_argument("--days", type=int, default=90, help="days of score history")
    ap.add_argument("--per-day", type=int, default=2, help="snapshots per account per day")
    ap.add_argument("--repeats", type=int, default=20, help="page loads per page kind")
    ap.add_argument("--smoke", action="store_true", help="tiny book on SQLite: checks the script runs")
    ap.add_argument("--e2e", action="store_true", help="the whole pass on real workers (see above)")
    ap.add_argument("--workers", type=int, default=2, help="--e2e: worker processes")
    ap.add_argument("--broker-url", default="redis://127.0.0.1:6379/9", help="--e2e: Redis (flushed!)")
    ap.add_argument("--limits", choices=["off", "real", "both"], default="both", help="--e2e: sandbox limits")
    ap.add_argument(
        "--until",
        choices=["finish", "scores"],
        default="finish",
        help="--e2e: measure each pass to its finish, or until its scores are written back (the older "
        "tickets' sentiment, which no score reads, is then left unmeasured)",
    )
    ap.add_argument(
        "--setup-sentiment",
        choices=["model", "neutral"],
        default="model",
        help="--e2e: who judges the first pass's messages. neutral: the first pass only sets up the store "
        "(in this process, a stand-in judge, not measured) and the incremental pass is what is measured; "
        "a 10k book's set-up then costs minutes instead of ~40 min of CPU (needs --limits off)",
    )
    ap.add_argument(
        "--lock-file",
        default=os.environ.get("HEALTHSCORE_BENCH_LOCK", ""),
        help="--e2e: take an flock on this file (a shared CPU lock, e.g. /work/notes/cpu.lock) around the "
        "tick and the measured incremental pass only, so the unmeasured set-up can run (niced) beside other "
        "jobs; the result says how long the lock was waited for (env HEALTHSCORE_BENCH_LOCK)",
    )
    args = ap.parse_args()
    if args.setup_sentiment == "neutral" and (not args.e2e or args.limits != "off"):
        ap.error(
            "--setup-sentiment neutral goes with --e2e --limits off (only the incremental pass is measured)"
        )
    if args.e2e and not args.smoke:
        if not args.database_url.startswith("postgres"):
            ap.error("--e2e needs --database-url postgresql://… (the workers share it)")
        from benchmarks._e2e import run as run_e2e

        result = run_e2e(args, _pg_database)
        result |= _provenance()
        print(json.dumps(result, indent=2))
        return 0
    if args.smoke:
        args.accounts, args.tickets, args.days, args.repeats, args.database_url = 60, 3, 35, 3, ""
    drop = None
    with tempfile.TemporaryDirectory(prefix="healthscore-bench-") as tmp:
        if args.database_url.startswith("postgres"):
            url, drop = _pg_database(args.database_url)
        else:
            url = f"sqlite:///{tmp}/bench.db"
        try:
            result = run(url, args.accounts, args.tickets, args.days, args.per_day, args.repeats)
        finally:
            if drop is not None:
                get_engine(url).dispose()
                drop()
    result["engine"] = "postgresql" if drop else "sqlite"
    result |= _provenance()
    print(json.dumps(result, indent=2))
    return 0


def _provenance() -> dict[str, Any]:
    commit = subprocess.run(  # noqa: S603 - a fixed git command
        [shutil.which("git") or "git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}".strip(),
        "commit": commit.stdout.strip(),
        "load_average_end": [round(x, 1) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    raise SystemExit(main())
