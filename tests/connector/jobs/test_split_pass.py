"""A pass split into parts on real Celery workers (subprocesses) over PostgreSQL and Redis, against the
vendor sandboxes: a worker killed in the middle of a pass → the other worker finishes it, and the end
state equals a clean one-process pass of the same book."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.config import Settings, load_settings
from connector.demo.run import Receiver, prepare
from connector.installs.provision import ensure_all
from connector.jobs import tasks
from connector.pipeline import run as pipeline
from connector.store import migrate
from connector.store import models as m
from connector.store.db import get_engine, transaction
from connector.store.repo import tenants

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")
SLOW_WORKER = Path(__file__).with_name("slow_worker.py")


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(exc).__name__}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    return client


def _world(url: str, sandbox: Any, inst: Path) -> Settings:
    settings = load_settings(
        {"database_url": url, "instance_path": str(inst), "webhooks_allow_private_targets": True}, environ={}
    )
    receiver = Receiver().start()
    try:
        info = prepare(settings, sandbox.credentials(), receiver.url)
        for slug in info["tenants"]:
            ensure_all(settings, _tid(settings, slug))
    finally:
        receiver.stop()
    return settings


def _tid(settings: Settings, slug: str) -> int:
    with transaction(settings.sqlalchemy_url) as s:
        return tenants(s, slug)[0].id


def _state(settings: Settings) -> dict[str, Any]:
    """What a pass leaves behind, by vendor ids (row ids differ between databases)."""
    with transaction(settings.sqlalchemy_url) as s:
        ext = {a.id: (a.vendor, a.external_id) for a in s.scalars(select(m.Account))}
        scores = {
            ext[acc]: (round(score, 3), band)
            for acc, score, band in s.execute(
                select(m.ScoreSnapshot.account_id, m.ScoreSnapshot.score, m.ScoreSnapshot.band).join(
                    m.CurrentScore, m.CurrentScore.snapshot_id == m.ScoreSnapshot.id
                )
            )
        }
        tickets = {
            (t.vendor, t.external_id): (ext.get(t.crm_account_id or -1), t.link_method, t.sentiment_label)
            for t in s.scalars(select(m.Ticket))
        }
    return {"scores": scores, "tickets": tickets}


def _worker(env: dict[str, str], slow_link_s: float, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SLOW_WORKER)],
        env=env | {"SLOW_LINK_S": str(slow_link_s)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def workers_env(pg_database: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    migrate.upgrade(pg_database)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    env |= {
        "HEALTHSCORE_DATABASE_URL": pg_database,
        "HEALTHSCORE_BROKER_URL": REDIS_URL,
        "HEALTHSCORE_INSTANCE_PATH": str(tmp_path / "inst"),
        "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "HEALTHSCORE_TENANT_LOCK_SECONDS": "2",
        "HEALTHSCORE_WORKER_REDELIVERY_SECONDS": "8",
    }
    yield env
    from connector.store.models import Base

    with get_engine(pg_database).begin() as conn:
        from sqlalchemy import text

        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))


@pytest.mark.slow
def test_a_worker_killed_mid_pass_leaves_the_pass_to_the_other(
    workers_env: dict[str, str], sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _redis()
    client.flushdb()
    settings = _world(workers_env["HEALTHSCORE_DATABASE_URL"], sandbox, tmp_path / "inst")
    tid = _tid(settings, "northwind")
    dying = _worker(workers_env, 60, tmp_path / "dying.log")  # its link part hangs: killed there
    time.sleep(3)  # the dying worker is up first and takes the first parts
    survivor = _worker(workers_env, 0, tmp_path / "survivor.log")
    try:
        tasks.configure(
            load_settings({"broker_url": REDIS_URL, "database_url": settings.database_url}, environ={})
        )
        started = tasks.run_tenant.delay(tid).get(timeout=60)
        pass_id = started["pass_id"]
        assert tasks.run_tenant.delay(tid).get(timeout=60)["skipped"]  # one pass per tenant at a time
        deadline = time.monotonic() + 180
        link_key = f"healthscore:pass:{pass_id}:running:1:0:0"
        while not client.exists(link_key):  # wait for the link part to start (on either worker)
            assert time.monotonic() < deadline, "the link part never started"
            time.sleep(0.2)
        dying.send_signal(signal.SIGKILL)  # if the survivor had it, it just finishes it
        dying.wait(timeout=10)
        while True:
            with transaction(settings.sqlalchemy_url) as s:
                run = s.scalar(select(m.Run).where(m.Run.run_id == pass_id))
                assert run is not None
                if run.status != "running":
                    break
            assert time.monotonic() < deadline, (
                f"pass did not finish: {(tmp_path / 'survivor.log').read_text()[-3000:]}"
            )
            time.sleep(0.5)
        assert run.status == "ok", run.report
        assert set(run.report["steps"]) >= {"sync", "link", "sentiment", "score", "write_back", "events"}
        assert not client.exists(f"healthscore:tenant:{tid}")  # the finishing step let the tenant go
        distributed = _state(settings)
    finally:
        for proc in (dying, survivor):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        tasks.configure(load_settings({"celery_always_eager": True}, environ={}))

    sandbox.restore()  # the same book again, for a clean one-process pass on another database
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    migrate.upgrade(clean_url)
    clean = _world(clean_url, sandbox, tmp_path / "inst2")
    from connector.pipeline import sentiment
    from tests.connector.jobs.slow_worker import KeywordModel

    monkeypatch.setattr(sentiment, "load_model", lambda *_: KeywordModel())
    pipeline.run_tenant(clean, _tid(clean, "northwind"))
    expected = _state(clean)
    get_engine(clean_url).dispose()
    northwind = {k for k in expected["scores"]}
    assert {k: v for k, v in distributed["scores"].items() if k in northwind} == expected["scores"]
    assert expected["scores"]
    linked = {k: v for k, v in expected["tickets"].items() if v[1] is not None}
    assert {k: distributed["tickets"].get(k) for k in linked} == linked
