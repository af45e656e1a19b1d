"""PostgreSQL and Redis restarted mid-pass (issue 12, suite 8), both the local servers.

PostgreSQL: the scenario of suites 1 and 4 runs on a throwaway PostgreSQL database; in its first phase, right
after a sync page was upserted (its transaction not yet committed), the server goes away: in the short mode
every connection of that database is terminated (`pg_terminate_backend`, what a restart does to clients),
in the full mode the server is really restarted. The pass must fail cleanly (a reported step error, no hang,
no traceback out of the pass) or resume, and the scenario then settles to the very vendor field values and
events of the fault-free run: nothing was half-written (a page and its cursor commit together or not at all).

Redis (full mode): a real Celery worker process runs a split pass while Redis is shut down without saving
and started again: the pass state and queue are gone, so that pass cannot finish, but the same worker
process reconnects by itself and runs the next pass to the end; no PostgreSQL row was left half-written.

Every restart brings the service back in a `finally` and waits until it answers (others share them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from connector.store import repo
from connector.store.db import get_engine
from tests.reliability import figures
from tests.reliability.scenario import baseline, run_scenario
from tests.reliability.world import VENDORS, World

PG_ADMIN_URL = os.environ.get("HEALTHSCORE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS_RESTART", "redis://127.0.0.1:6379/12")
CUT_AT_PAGE = 3  # the n-th page upserted in the first phase


def _answers_pg(url: str) -> bool:
    engine = create_engine(url, pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def wait_until(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not answer within {seconds:.0f} s"
        time.sleep(0.5)


def restart_postgres() -> None:
    """Restart the local cluster; always waits until it answers again."""
    try:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        wait_until(lambda: _answers_pg(PG_ADMIN_URL), "PostgreSQL")


def _answers_redis() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def restart_redis() -> None:
    """`shutdown nosave` then start it as CI does; always starts it again and waits until it answers."""
    try:
        subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True, timeout=30, check=False)
        wait_until(lambda: not _answers_redis(), "Redis shutting down", 30)
    finally:
        if not _answers_redis():
            subprocess.run(
                [
                    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                    "--logfile", "/var/log/redis/ci.log",
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )  # fmt: skip
        wait_until(_answers_redis, "Redis")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test (dropped after it)."""
    name = f"healthscore_rel_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable under CI: {exc}")
        pytest.skip("PostgreSQL unreachable (start it: see scripts/ensure-services.sh)")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        wait_until(lambda: _answers_pg(PG_ADMIN_URL), "PostgreSQL")
        admin.dispose()  # its pooled connection may predate a restart
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _terminate(db: str) -> Callable[[], None]:
    def cut() -> None:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": db},
                )
                # pg_terminate_backend only signals: wait until the backends are gone, as after a restart
                gone = text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                )
                wait_until(lambda: conn.execute(gone, {"db": db}).scalar() == 0, "backends ending", 30)
        finally:
            admin.dispose()

    return cut


def _scenario_with_cut(
    sandbox: Any, url: str, cut: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The scenario on `url`; `cut` runs right after the CUT_AT_PAGE-th page of phase 1 was upserted."""
    seen: dict[str, Any] = {"pages": 0, "cut": False, "errors": []}
    real = repo.upsert_records

    def upsert(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        seen["pages"] += bool(args[2])  # a page with records: its rows are written, not yet committed
        if seen["pages"] == CUT_AT_PAGE and not seen["cut"]:
            seen["cut"] = True
            cut()  # the page's transaction is open, not committed: its commit now meets a dead server
        return result

    def before(world: World, phase: int) -> None:
        if phase == 1:
            monkeypatch.setattr(repo, "upsert_records", upsert)
        else:
            monkeypatch.setattr(repo, "upsert_records", real)

    hit = run_scenario(sandbox, before_phase=before, database_url=url)
    hit["cut"] = seen["cut"]
    return hit


def _check(base: dict[str, Any], hit: dict[str, Any]) -> None:
    assert hit["cut"], "the server was never cut mid-pass"
    assert hit["passes"] > base["passes"], "the cut pass settled as if nothing happened"
    assert hit["clean"], hit["last"]
    for vendor in VENDORS:
        assert hit["crm"][vendor] == base["crm"][vendor], vendor
    assert hit["events"] == base["events"]
    assert len(set(hit["ids"])) == len(hit["ids"])


def test_db_connections_dropped_mid_pass(
    rel_sandbox: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = baseline(rel_sandbox)
    hit = _scenario_with_cut(rel_sandbox, pg_url, _terminate(pg_url.rsplit("/", 1)[1]), monkeypatch)
    _check(base, hit)
    figures.record("restarts", postgres_connections_dropped_runs=1, passes_after_drop=hit["passes"])


@pytest.mark.reliability
def test_postgres_restarted_mid_pass(rel_sandbox: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base = baseline(rel_sandbox)
    started = time.perf_counter()
    hit = _scenario_with_cut(rel_sandbox, pg_url, restart_postgres, monkeypatch)
    _check(base, hit)
    figures.record(
        "restarts",
        postgres_restarts=1,
        passes_after_restart=hit["passes"],
        postgres_scenario_seconds=round(time.perf_counter() - started, 1),
    )


@pytest.mark.reliability
def test_redis_restarted_mid_split_pass_the_worker_reconnects(
    rel_sandbox: Any, pg_url: str, tmp_path: Path
) -> None:
    import redis
    from sqlalchemy import select

    from connector.config import load_settings
    from connector.jobs import tasks
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.jobs.test_split_pass import SLOW_WORKER
    from tests.reliability.world import build_world, pending_work

    if not _answers_redis():
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    world = build_world(rel_sandbox, database_url=pg_url)
    tid = world.tenants["northwind"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    env |= {
        "HEALTHSCORE_DATABASE_URL": pg_url,
        "HEALTHSCORE_BROKER_URL": REDIS_URL,
        "HEALTHSCORE_INSTANCE_PATH": world.settings.instance_path,
        "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "HEALTHSCORE_TENANT_LOCK_SECONDS": "5",
        "HEALTHSCORE_WORKER_REDELIVERY_SECONDS": "10",
        "SLOW_LINK_S": "4",  # the link part takes 4 s: Redis goes away while it runs
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, str(SLOW_WORKER)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    tasks.configure(load_settings({"broker_url": REDIS_URL, "database_url": pg_url}, environ={}))

    def run_status(pass_id: str) -> str:
        with transaction(pg_url) as s:
            run = s.scalar(select(m.Run).where(m.Run.run_id == pass_id))
            return run.status if run is not None else "missing"

    try:
        first = tasks.run_tenant.delay(tid).get(timeout=120)["pass_id"]
        deadline = time.monotonic() + 180
        while not client.exists(f"healthscore:pass:{first}:running:1:0:0"):  # the link part runs
            assert time.monotonic() < deadline, f"the link part never started: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        restart_redis()
        assert worker.poll() is None, f"the worker died with Redis: {log.read_text()[-2000:]}"
        # The pass state went with Redis: the first pass cannot finish, but the worker takes the next one.
        tasks.configure(load_settings({"broker_url": REDIS_URL, "database_url": pg_url}, environ={}))
        second = None
        while second is None:
            assert time.monotonic() < deadline + 120, f"no pass after the restart: {log.read_text()[-3000:]}"
            try:
                second = tasks.run_tenant.delay(tid).get(timeout=60).get("pass_id")
            except redis.RedisError:
                time.sleep(1)
        while run_status(second) == "running":
            assert time.monotonic() < deadline + 300, f"second pass never finished: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        assert run_status(second) == "ok"
        assert worker.poll() is None  # the same process, reconnected by itself
        assert pending_work(world.settings) == {"writeback": 0, "deliveries": 0}
        figures.record("restarts", redis_restarts=1, worker_reconnected=True, first_pass=run_status(first))
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        tasks.configure(load_settings({"celery_always_eager": True}, environ={}))
        if _answers_redis():
            client.flushdb()
        world.close()
