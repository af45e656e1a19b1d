"""The score step alone (issue 17): wall and CPU per account of `score_tenant` on a store left as an
incremental pass finds it, with a same-run baseline from another commit and a check that both write the
same rows.

    # once: the sandbox book through a first pass and a 1-day tick's sync, link and sentiment (kept)
    flock /work/notes/cpu.lock python benchmarks/score_step.py --build \
        --database-url postgresql://postgres@127.0.0.1:5432/hs_scorestep --accounts 2000
    # then, any number of times: the score step of each tenant, rolled back after each repeat
    python benchmarks/score_step.py --database-url postgresql://postgres@127.0.0.1:5432/hs_scorestep \
        --baseline HEAD~3 [--repeats 3] [--profile 25] [--sql 15]
    python benchmarks/score_step.py --smoke     # seconds, SQLite: builds 20 accounts and measures

Set-up sentiment is a stand-in (a label and score from a hash of the text, under the shipped model's
version), so the build costs the sync's CPU, not hours of the transformer; the score step's work per
account (tickets, surveys, deals read and metrics computed) is what a real book's is.

Each measured repeat runs the score step in a transaction that is rolled back, so every repeat (and the
baseline) scores the same store. The baseline runs in a subprocess on a `git worktree` of `--baseline`
(the store's schema is the current one). The rows a repeat wrote (snapshots, current scores, events and
their deliveries, outbox rows; ids and wall-clock stamps left out) are hashed: "same rows" compares them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script: put the tree to import first (a baseline worktree in the subprocess), never benchmarks/
# (whose scoring.py would shadow the package).
sys.path[0] = os.environ.get("SCORE_STEP_TREE") or str(ROOT)


def _settings(url: str, instance: str) -> Any:
    from connector.config import load_settings

    return load_settings(
        {"database_url": url, "instance_path": instance, "webhooks_allow_private_targets": True},
        environ={},
    )


class _HashedSentiment:
    """A stand-in classifier: a stable label and score from the text's hash (cheap, varied)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def classify_many(self, texts: Any) -> list[Any]:
        from nlp.sentiment import Sentiment

        out = []
        for text in texts:
            h = int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:4], "big")
            score = round((h % 2001) / 1000 - 1.0, 3)
            label = "negative" if score < -0.3 else "positive" if score > 0.3 else "neutral"
            out.append(Sentiment(label=label, score=score, confidence=0.8, excerpt=""))
        return out


def _create_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    base, name = url.rsplit("/", 1)
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))


def _url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def build(url: str, accounts: int, instance: str, seed: int = 0) -> dict[str, Any]:
    """First pass (sentiment by the stand-in), a 1-day tick, then that pass's sync, link and sentiment:
    the store the incremental pass's score step reads."""
    from connector.demo.emulator import record_world, start_embedded
    from connector.demo.run import prepare
    from connector.installs.provision import ensure_all
    from connector.pipeline import run as pipeline
    from connector.pipeline import sentiment as sentiment_step
    from connector.store import migrate
    from connector.store import repo as store
    from connector.store.db import transaction

    if url.startswith("postgresql"):
        _create_database(url)
    settings = _settings(_url(url), instance)
    migrate.upgrade(settings.sqlalchemy_url)
    real = sentiment_step.load_model(settings.sentiment_model_path, settings.instance_path)
    stand_in = _HashedSentiment(str(getattr(real, "version", None) or getattr(real, "name", "model")))
    original = sentiment_step.load_model
    sentiment_step.load_model = lambda *a, **k: stand_in  # type: ignore[assignment]
    sandbox = start_embedded(seed=seed, accounts=accounts)
    t0 = time.perf_counter()
    try:
        creds = sandbox.credentials()
        # A receiver that is never called (the events step is not run): band changes queue events.
        info = prepare(settings, creds, "http://127.0.0.1:9/hooks")
        ids = []
        for slug in info["tenants"]:
            with transaction(settings.sqlalchemy_url) as s:
                ids.append(store.tenants(s, slug)[0].id)
            ensure_all(settings, ids[-1])
        first = ("sync", "link", "sentiment", "score", "write_back")
        for tid in ids:
            pipeline.run_tenant(settings, tid, first)
        sandbox.tick(1)
        record_world(settings.sqlalchemy_url, str(creds["admin"]))
        for tid in ids:
            pipeline.run_tenant(settings, tid, ("sync", "link", "sentiment"))
    finally:
        sentiment_step.load_model = original  # type: ignore[assignment]
        sandbox.stop()
    return {"built_s": round(time.perf_counter() - t0, 1), "tenants": ids}


# ---- one tree's measurement (also the baseline subprocess) ----------------------------------------


def _digest(session: Any, tenant_id: int, before: dict[str, int]) -> dict[str, str]:
    """Hashes of the rows this repeat added, per table, without ids or wall-clock stamps."""
    from sqlalchemy import select

    from connector.store import models as m

    def h(rows: list[Any]) -> str:
        return hashlib.sha256(json.dumps(sorted(rows), default=str).encode()).hexdigest()[:16]

    snaps = [
        [s.account_id, s.as_of, s.score, s.band, s.band_since, s.segment, s.dimensions, s.drivers,
         s.metrics, s.confidence, s.trend_30d, s.sentiment_30d, s.recommended_action, s.model_version]
        for s in session.scalars(
            select(m.ScoreSnapshot).where(
                m.ScoreSnapshot.tenant_id == tenant_id, m.ScoreSnapshot.id > before["snap"]
            )
        )
    ]  # fmt: skip
    current = [
        [c.account_id, c.as_of, c.score, c.band, c.trend_30d, c.confidence]
        for c in session.scalars(select(m.CurrentScore).where(m.CurrentScore.tenant_id == tenant_id))
    ]
    events = []
    for e in session.scalars(
        select(m.WebhookEvent).where(
            m.WebhookEvent.tenant_id == tenant_id, m.WebhookEvent.id > before["event"]
        )
    ):
        payload = {k: v for k, v in e.payload.items() if k not in {"timestamp", "id"}}
        deliveries = session.scalars(
            select(m.WebhookDelivery.endpoint_id).where(m.WebhookDelivery.event_id == e.id)
        ).all()
        events.append(
            [e.type, e.account_id, json.dumps(payload, sort_keys=True, default=str), sorted(deliveries)]
        )
    outbox = [
        [
            o.installation_id,
            o.external_id,
            o.kind,
            o.status,
            json.dumps(o.values, sort_keys=True, default=str),
        ]
        for o in session.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.tenant_id == tenant_id))
    ]
    return {
        "snapshots": f"{len(snaps)}:{h(snaps)}",
        "current_scores": f"{len(current)}:{h(current)}",
        "events": f"{len(events)}:{h(events)}",
        "outbox": f"{len(outbox)}:{h(outbox)}",
    }


def _max_ids(session: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from connector.store import models as m

    return {
        "snap": int(session.scalar(select(func.max(m.ScoreSnapshot.id))) or 0),
        "event": int(session.scalar(select(func.max(m.WebhookEvent.id))) or 0),
    }


class _SqlTimer:
    """Time every statement (SQLAlchemy cursor events): the top statements by total time."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.totals: dict[str, list[float]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        spent = time.perf_counter() - conn.info["t0"].pop()
        key = " ".join(statement.split())[:110]
        entry = self.totals.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += spent

    def top(self, n: int) -> list[tuple[str, int, float]]:
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1][1])[:n]
        return [(k, int(c), round(t, 3)) for k, (c, t) in rows]


def measure(url: str, repeats: int, profile: int = 0, sql: int = 0) -> dict[str, Any]:
    """Each tenant's score step `repeats` times, each in a transaction rolled back afterwards."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import select

    from connector.clock import tenant_now
    from connector.pipeline.score import score_tenant
    from connector.store import models as m
    from connector.store.db import get_engine, session_factory

    url = _url(url)
    engine = get_engine(url)
    timer = _SqlTimer(engine) if sql else None
    prof = cProfile.Profile() if profile else None
    out: dict[str, Any] = {"tenants": {}}
    with session_factory(url)() as s:
        tenants = list(s.scalars(select(m.Tenant.id).order_by(m.Tenant.id)))
    for tid in tenants:
        runs, digests = [], set()
        for _ in range(repeats):
            with session_factory(url)() as session:
                session.begin()
                as_of = tenant_now(session, tid)
                before = _max_ids(session)
                wall0, cpu0 = time.perf_counter(), time.process_time()
                if prof:
                    prof.enable()
                report = score_tenant(session, tid, as_of=as_of)
                session.flush()
                if prof:
                    prof.disable()
                runs.append((time.perf_counter() - wall0, time.process_time() - cpu0))
                digests.add(json.dumps(_digest(session, tid, before), sort_keys=True))
                session.rollback()
        out["tenants"][tid] = {
            "accounts": report.scored,
            "band_changes": report.band_changes,
            "events": report.events,
            "writes_queued": report.writes_queued,
            "wall_s": [round(w, 3) for w, _ in runs],
            "cpu_s": [round(c, 3) for _, c in runs],
            "digest": sorted(digests),
        }
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(profile)
        out["profile_cumulative"] = buf.getvalue()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(profile)
        out["profile_tottime"] = buf.getvalue()
    if timer:
        out["sql"] = timer.top(sql)
    engine.dispose()
    return out


def _in_tree(tree: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "SCORE_STEP_TREE": str(tree), "PYTHONPATH": str(tree)}
    proc = subprocess.run(  # noqa: S603 - this script, in another tree
        [sys.executable, str(Path(__file__).resolve()), "--worker", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"the run in {tree} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _git(*args: str, check: bool = True) -> str:
    out = subprocess.run(  # noqa: S603 - fixed git commands on this repository
        [shutil.which("git") or "git", "-C", str(ROOT), *args], capture_output=True, text=True, check=check
    )
    return out.stdout.strip()


def _rev(rev: str) -> str:
    return _git("rev-parse", "--short", rev)


def _table(results: dict[str, dict[str, Any]]) -> None:
    print(f"{'code':<22}{'tenant':>7}{'accounts':>9}{'wall s (min)':>14}{'CPU s (min)':>13}"
          f"{'CPU ms/acct':>13}{'wall ms/acct':>14}  same rows")  # fmt: skip
    first: dict[int, Any] = {}
    for name, res in results.items():
        for tid, t in res["tenants"].items():
            n = max(1, t["accounts"])
            wall, cpu = min(t["wall_s"]), min(t["cpu_s"])
            ref = first.setdefault(tid, t["digest"])
            same = "yes" if t["digest"] == ref and len(ref) == 1 else "NO"
            print(f"{name:<22}{tid:>7}{t['accounts']:>9}{wall:>14.2f}{cpu:>13.2f}"
                  f"{1000 * cpu / n:>13.2f}{1000 * wall / n:>14.2f}  {same}")  # fmt: skip
    if len(results) == 2:
        base, new = results.values()
        for tid in base["tenants"]:
            b, a = base["tenants"][tid], new["tenants"][tid]
            print(f"tenant {tid}: wall {min(b['wall_s']) / min(a['wall_s']):.2f}x faster, "
                  f"CPU {min(b['cpu_s']) / min(a['cpu_s']):.2f}x")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default="", help="PostgreSQL database (dropped and made by --build)")
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--build", action="store_true", help="build the store (see above), then measure")
    ap.add_argument("--instance", default=str(Path(tempfile.gettempdir()) / "hs-score-step-instance"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", default="", help="a git revision measured the same way first")
    ap.add_argument("--profile", type=int, default=0, help="print the top N functions (cProfile)")
    ap.add_argument("--sql", type=int, default=0, help="print the top N statements by total time")
    ap.add_argument("--smoke", action="store_true", help="20 accounts on SQLite: checks the script runs")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.database_url, args.repeats, args.profile, args.sql)))
        return 0
    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="healthscore-score-step-") as tmp:
        if args.smoke:
            args.database_url, args.accounts, args.build, args.repeats = f"sqlite:///{tmp}/s.db", 20, True, 1
            args.instance = tmp
        if not args.database_url:
            ap.error("--database-url is required (or --smoke)")
        if args.build:
            print(json.dumps(build(args.database_url, args.accounts, args.instance)), flush=True)
        worker = ["--database-url", args.database_url, "--repeats", str(args.repeats),
                  "--profile", str(args.profile), "--sql", str(args.sql)]  # fmt: skip
        results: dict[str, dict[str, Any]] = {}
        if args.baseline:
            rev = _rev(args.baseline)
            tree = Path(tmp) / f"base-{rev}"
            _git("worktree", "add", "--detach", str(tree), rev)
            try:
                results[f"baseline {rev}"] = _in_tree(tree, worker)
            finally:
                _git("worktree", "remove", "--force", str(tree), check=False)
        results["this tree"] = _in_tree(ROOT, worker)
    print(f"score step, {args.database_url.split('://')[0]}, load {os.getloadavg()[0]:.1f}, "
          f"commit {_git('rev-parse', '--short', 'HEAD', check=False) or '?'}{' + uncommitted changes' if _dirty() else ''}")  # fmt: skip
    _table(results)
    for name, res in results.items():
        for key in ("profile_cumulative", "profile_tottime"):
            if key in res:
                print(f"\n--- {name}: {key}\n{res[key]}")
        if "sql" in res:
            print(f"\n--- {name}: top statements (count, total s)")
            for stmt, count, total in res["sql"]:
                print(f"{total:>8.3f} {count:>6}  {stmt}")
    return 0


def _dirty() -> bool:
    return bool(_git("status", "--porcelain", "--", "connector", "scoring", check=False))


if __name__ == "__main__":
    sys.exit(main())
