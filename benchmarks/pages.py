"""Pages at size (issue 17): portfolio, account and support pages on a 10k-account tenant with 90 days of
score history as the scheduler leaves it (full resolution for 30 days, then one snapshot per account per
day: connector.store.repo.compact_snapshots), on PostgreSQL.

The store is built directly with bulk inserts through the product's models (a full pipeline run at this
size takes hours on this machine), shaped like a synced book: CRM accounts (segments, plans, owners, ARR,
renewals) each with a linked Zendesk organization, tickets over the 90 days with statuses, priorities,
groups and sentiment, CSAT/NPS answers, renewal deals, and snapshots whose dimensions, drivers and
metrics carry the default model's names. `--passes-per-day` sets the full-resolution part (the default
scheduler runs every 15 minutes = 96; the figure used is printed).

Pages are requested through the Flask app (routing, login, queries, templates), signed in as the
tenant's admin, `--repeats` times each; baseline (same run): GET /healthz.

    python benchmarks/pages.py [--accounts 10000] [--passes-per-day 4] [--explain]
    python benchmarks/pages.py --smoke
    python benchmarks/pages.py --keep pages10k   # build once into database pages10k, keep it; later runs
                                                 # with the same --keep reuse it (new migrations applied)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.pool import NullPool

from benchmarks.pipeline import _pg_database, _provenance
from connector import create_app
from connector.installs import users as auth
from connector.store import migrate
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from scoring.config import load_default_model

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PASSWORD = "bench-pages-Password-1"  # noqa: S105 - a throwaway database's user
SEGMENTS = ("enterprise", "mid-market", "smb")
GROUPS = ("Billing", "Technical", "Onboarding", "Escalations", None)
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


def _chunks(rows: list[dict[str, Any]], n: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]


def _put(url: str, table: Any, rows: list[dict[str, Any]], ids: bool = False) -> list[int]:
    """Bulk insert (executemany); the new ids only when asked (RETURNING costs)."""
    out: list[int] = []
    for chunk in _chunks(rows):
        with transaction(url) as s:
            if ids:
                out += list(s.scalars(insert(table).returning(table.id), chunk))
            else:
                s.execute(insert(table), chunk)
    return out


def build(url: str, accounts: int, tickets: int, days: int, per_day: int, seed: int) -> dict[str, Any]:
    """The tenant's store; returns its ids and row counts."""
    rng = random.Random(seed)
    model = load_default_model()
    dims = [d.name for d in model.dimensions]
    metrics = [s.name for s in model.metrics]
    with transaction(url) as s:
        tenant = store.ensure_tenant(s, "bench", "Bench Corp", primary_crm="salesforce")
        tid = tenant.id
        tenant.clock_now = NOW
        admin = auth.create_user(s, tid, "admin@bench.test", "admin", password=PASSWORD)
        uid = admin.id
    crm = [
        {"tenant_id": tid, "vendor": "salesforce", "external_id": f"001B{i:011d}", "name": f"Customer {i} Ltd",
         "domains": [f"customer{i}.test"], "segment": rng.choice(SEGMENTS), "plan": rng.choice(("pro", "team", "enterprise")),
         "owner": f"Rep {i % 40}", "owner_email": f"rep{i % 40}@bench.test", "arr": rng.randint(5, 500) * 1000,
         "renewal_date": (NOW + timedelta(days=rng.randint(-30, 365))).date(), "status": "active",
         "metrics": {"seats_purchased": 50, "seats_active": rng.randint(5, 50)}, "vendor_updated_at": NOW}
        for i in range(accounts)
    ]  # fmt: skip
    crm_ids = _put(url, m.Account, crm, ids=True)
    orgs = [
        {"tenant_id": tid, "vendor": "zendesk", "external_id": str(360_000_000 + i), "name": f"Customer {i}",
         "domains": [f"customer{i}.test"], "vendor_updated_at": NOW}
        for i in range(accounts)
    ]  # fmt: skip
    org_ids = _put(url, m.Account, orgs, ids=True)
    _put(url, m.AccountLink, [
        {"tenant_id": tid, "source_account_id": o, "crm_account_id": c, "method": "domain", "confidence": 0.9,
         "status": "auto", "reason": "unique e-mail domain", "updated_at": NOW}
        for o, c in zip(org_ids, crm_ids, strict=True)
    ])  # fmt: skip
    tk: list[dict[str, Any]] = []
    for i, cid in enumerate(crm_ids):
        for k in range(rng.randint(tickets // 2, tickets * 3 // 2)):
            created = NOW - timedelta(days=rng.uniform(0, days), hours=rng.uniform(0, 24))
            status = rng.choice(STATUSES)
            label = rng.choices(("negative", "neutral", "positive"), (2, 5, 3))[0]
            tk.append({
                "tenant_id": tid, "vendor": "zendesk", "external_id": f"{i}-{k}", "account_external_id": str(360_000_000 + i),
                "crm_account_id": cid, "link_method": "org:domain", "requester_email": f"user{k}@customer{i}.test",
                "number": f"{i * 100 + k}", "subject": f"Problem {k} with the export", "description": "It fails again.",
                "status": status, "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
                "escalated": rng.random() < 0.05, "reopens": rng.randint(0, 2) if rng.random() < 0.1 else 0,
                "group_name": rng.choice(GROUPS), "vendor_created_at": created,
                "solved_at": created + timedelta(hours=rng.uniform(1, 96)) if status in ("solved", "closed") else None,
                "first_reply_minutes": rng.uniform(5, 600), "full_resolution_minutes": rng.uniform(60, 6000),
                "vendor_updated_at": created, "sentiment_label": label,
                "sentiment_score": {"negative": -0.7, "neutral": 0.0, "positive": 0.6}[label],
                "sentiment_confidence": 0.8, "sentiment_excerpt": "It fails again.", "sentiment_hash": f"h{i}-{k}",
            })  # fmt: skip
    _put(url, m.Ticket, tk)
    _put(url, m.SurveyResponse, [
        {"tenant_id": tid, "vendor": "zendesk", "external_id": f"s{i}-{k}", "kind": kind,
         "score": float(rng.randint(1, 5) if kind == "csat" else rng.randint(0, 10)),
         "account_external_id": str(360_000_000 + i), "comment": "", "responded_at": NOW - timedelta(days=rng.uniform(0, days)),
         "vendor_updated_at": NOW}
        for i in range(accounts) for k, kind in enumerate(("csat", "csat", "nps"))
    ])  # fmt: skip
    _put(url, m.Deal, [
        {"tenant_id": tid, "vendor": "salesforce", "external_id": f"006B{i:011d}", "account_external_id": f"001B{i:011d}",
         "name": f"Renewal {i}", "kind": "renewal", "amount": rng.randint(5, 500) * 1000, "stage": "Negotiation/Review",
         "close_date": (NOW + timedelta(days=rng.randint(1, 365))).date(), "vendor_updated_at": NOW}
        for i in range(accounts)
    ])  # fmt: skip
    snaps = _history(url, tid, crm_ids, dims, metrics, days, per_day, rng)
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":  # what autovacuum leaves: statistics and the visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"tenant": tid, "user": uid, "accounts": crm_ids, "tickets": len(tk), "snapshots": snaps}


def _history(url: str, tid: int, ids: list[int], dims: list[str], metrics: list[str], days: int, per_day: int,
             rng: random.Random) -> int:  # fmt: skip
    """Snapshots as compaction leaves them: `per_day` a day for the last 30 days, one a day before."""
    stamps = [NOW - timedelta(days=d) for d in range(days, 30, -1)]
    stamps += [NOW - timedelta(days=30) + timedelta(hours=24 * k / per_day) for k in range(30 * per_day + 1)]
    base = {a: rng.uniform(20, 95) for a in ids}
    n = 0
    latest: dict[int, dict[str, Any]] = {}  # account id -> its current_scores row
    for at in stamps:
        rows = []
        for a in ids:
            score = max(0.0, min(100.0, base[a] + rng.gauss(0, 2)))
            band = "red" if score < 40 else "yellow" if score < 70 else "green"
            rows.append({
                "tenant_id": tid, "account_id": a, "as_of": at, "score": round(score, 1), "band": band,
                "band_since": NOW - timedelta(days=40), "segment": "default",
                "dimensions": {d: round(rng.uniform(0, 100), 1) for d in dims},
                "drivers": [{"metric": mt, "dimension": dims[0], "direction": "down", "impact": -3.2, "value": 0.4,
                             "text": f"{mt} is low"} for mt in metrics[:3]],
                "metrics": {mt: round(rng.uniform(0, 1), 3) for mt in metrics}, "confidence": 0.8,
                "trend_30d": round(rng.gauss(0, 5), 1), "sentiment_30d": round(rng.uniform(-1, 1), 2),
                "recommended_action": "Call the customer", "model_version": "default-2026.12.1",
            })  # fmt: skip
        for chunk in _chunks(rows):
            with transaction(url) as s:
                if at != stamps[-1]:  # only the newest snapshots' ids are needed (current_scores)
                    s.execute(insert(m.ScoreSnapshot), chunk)
                    continue
                copied = [getattr(m.ScoreSnapshot, name) for name in m.CURRENT_COPIED]
                for sid, a, *values in s.execute(
                    insert(m.ScoreSnapshot).returning(
                        m.ScoreSnapshot.id, m.ScoreSnapshot.account_id, *copied
                    ),
                    chunk,
                ):
                    latest[a] = {"account_id": a, "tenant_id": tid, "snapshot_id": sid, "as_of": at,
                                 **dict(zip(m.CURRENT_COPIED, values, strict=True))}  # fmt: skip
        n += len(rows)
    with transaction(url) as s:  # bulk inserts bypass the flush hook: point current_scores once
        m.upsert_current(s.connection(), list(latest.values()))
    return n


class Statements:
    """Every SQL statement a page ran and how long it took (for --explain)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, Any]] = []

    def before(self, conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool) -> None:
        conn.info["t0"] = time.perf_counter()

    def after(self, conn: Any, _cursor: Any, statement: str, params: Any, context: Any, _many: bool) -> None:
        self.seen.append((time.perf_counter() - conn.info.pop("t0", time.perf_counter()), statement, params))


def _pct(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure(
    url: str, tmp: str, world: dict[str, Any], repeats: int, seed: int, explain: bool
) -> dict[str, list[float]]:
    overrides = {"env": "test", "instance_path": tmp, "database_url": url}
    app = create_app(overrides)
    client = app.test_client()
    with transaction(url) as s:  # a signed-in session, as /login leaves it (login is not measured)
        sid = auth.start_session(s, s.get(m.User, world["user"]))
    with client.session_transaction() as sess:
        sess["uid"], sess["tid"], sess["sid"] = world["user"], world["tenant"], sid
    rng = random.Random(seed + 1)
    pages: dict[str, Any] = {
        "GET /healthz (baseline)": lambda: "/healthz",
        "portfolio (first page)": lambda: "/",
        "portfolio (red, by ARR)": lambda: "/?band=red&sort=-arr",
        "portfolio (search)": lambda: f"/?q=Customer+{rng.randint(0, len(world['accounts']) - 1)}",
        "account page": lambda: f"/accounts/{rng.choice(world['accounts'])}",
        "support page": lambda: "/support",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    stmts = Statements()
    engine = get_engine(url)
    if explain:
        event.listen(engine, "before_cursor_execute", stmts.before)
        event.listen(engine, "after_cursor_execute", stmts.after)
    for path in pages.values():
        client.get(path())  # warm: templates compiled, pool filled
    for _ in range(repeats):
        for name, path in pages.items():
            t0 = time.perf_counter()
            resp = client.get(path())
            times[name].append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise SystemExit(f"{name}: HTTP {resp.status_code}")
    if explain:
        event.remove(engine, "before_cursor_execute", stmts.before)
        event.remove(engine, "after_cursor_execute", stmts.after)
        _explain(engine, stmts)
    return times


def _explain(engine: Any, stmts: Statements) -> None:
    worst: dict[str, tuple[float, Any]] = {}
    for dt, sql, params in stmts.seen:
        if sql.lstrip().upper().startswith("SELECT") and dt > worst.get(sql, (0.0, None))[0]:
            worst[sql] = (dt, params)
    for sql, (dt, params) in sorted(worst.items(), key=lambda kv: -kv[1][0])[:6]:
        print(f"\n--- {dt * 1000:.1f} ms: {' '.join(sql.split())[:400]}")
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                for (line,) in cur.fetchall()[:25]:
                    print("   ", line)
            raw.rollback()


def _kept_database(admin_url: str, name: str, size: list[int]) -> tuple[str, Any, dict[str, Any] | None]:
    """(url, drop, world) for a kept store: world is None when NAME must be (re)built for this size.

    The world (ids, counts, the size it was built for) is kept in a one-row table of that database, so a
    store is only reused for the same --accounts/--tickets/--days/--passes-per-day/--seed."""
    if not name.replace("_", "").isalnum():
        raise SystemExit("--keep takes a plain database name (letters, digits, _)")
    admin = create_engine(
        (admin_url.rsplit("/", 1)[0] + "/postgres").replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    world: dict[str, Any] | None = None
    if exists:
        probe = create_engine(url, poolclass=NullPool)
        with probe.connect() as c:
            has = c.execute(text("SELECT to_regclass('bench_pages_world')")).scalar()
            row = c.execute(text("SELECT world FROM bench_pages_world")).first() if has else None
        probe.dispose()
        saved = json.loads(row[0]) if row else None
        world = saved["world"] if saved and saved.get("size") == size else None
    if world is None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
    return url, lambda: None, world


def _remember(url: str, size: list[int], world: dict[str, Any]) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text("CREATE TABLE bench_pages_world (world text NOT NULL)"))
        conn.execute(
            text("INSERT INTO bench_pages_world VALUES (:w)"),
            {"w": json.dumps({"size": size, "world": world})},
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--tickets", type=int, default=20, help="tickets per account (on average)")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--passes-per-day", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statements")
    ap.add_argument("--smoke", action="store_true", help="seconds: 150 accounts, 40 days")
    ap.add_argument(
        "--keep",
        metavar="NAME",
        help="build into database NAME and keep it; a later run with the same NAME (and size) reuses it",
    )
    args = ap.parse_args()
    if args.smoke:
        args.accounts, args.tickets, args.days, args.passes_per_day, args.repeats = 150, 6, 40, 2, 3
    logging.basicConfig(level=logging.WARNING)
    size = [args.accounts, args.tickets, args.days, args.passes_per_day, args.seed]
    url, drop, kept = _kept_database(args.database_url, args.keep, size) if args.keep else (
        *_pg_database(args.database_url), None)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="healthscore-pages-") as tmp:
            migrate.upgrade(url)
            t0 = time.perf_counter()
            if kept is not None:
                world = kept
                with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("ANALYZE"))  # a new migration's indexes/tables get statistics
            else:
                world = build(url, args.accounts, args.tickets, args.days, args.passes_per_day, args.seed)
                if args.keep:
                    _remember(url, size, world)
            built = time.perf_counter() - t0
            load0 = os.getloadavg()
            times = measure(url, tmp, world, args.repeats, args.seed, args.explain)
            load1 = os.getloadavg()
    finally:
        get_engine(url).dispose()
        drop()
    how = f"store reused from database {args.keep}" if kept is not None else f"store built in {built:.0f} s"
    print(f"pages at size: {args.accounts} accounts, {world['tickets']} tickets, {world['snapshots']} snapshots "
          f"({args.days} days: {args.passes_per_day}/day for 30 days, then daily), PostgreSQL; "
          f"{how}; {args.repeats} loads each")  # fmt: skip
    base = statistics.median(times["GET /healthz (baseline)"])
    print(f"{'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p50/baseline':>14}")
    for name, values in times.items():
        v = sorted(x * 1000 for x in values)
        print(
            f"{name:<28}{_pct(v, 50):>9.1f}{_pct(v, 95):>9.1f}{v[-1]:>9.1f}{_pct(v, 50) / (base * 1000):>14.1f}"
        )
    prov = _provenance()
    print(f"target: p95 ≤ 300 ms. machine {prov['machine']}, commit {prov['commit']}, "
          f"load average {load0[0]:.1f} → {load1[0]:.1f} during the page loads")  # fmt: skip


if __name__ == "__main__":
    main()
