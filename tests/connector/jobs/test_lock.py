"""The tenant lock on the local Redis: renewed while held, freed soon after its holder dies; several
schedulers enqueue one round of passes per interval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connector.config import load_settings
from connector.jobs import scheduler, tasks
from connector.jobs.lock import TenantLock, once_per_interval
from connector.store import migrate
from connector.store import repo as store
from connector.store.db import get_engine, transaction

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def client() -> Any:
    import redis

    c = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        c.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(exc).__name__}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")
    for key in c.scan_iter(match="healthscore:*"):
        c.delete(key)
    return c


def test_a_held_lock_outlives_its_ttl_while_the_heartbeat_runs(client: Any) -> None:
    """The old lock expired after a fixed 300 s; this one lives as long as its holder (TTL 0.6 s here,
    held for 2 s: more than three TTLs)."""
    holder = TenantLock(client, 7, ttl_s=0.6)
    rival = TenantLock(client, 7, ttl_s=0.6)
    assert holder.acquire()
    with holder:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            assert not rival.acquire()
            time.sleep(0.1)
        assert not holder.lost.is_set()
    assert rival.acquire()  # released on exit
    rival.release()


def test_the_same_owner_reclaims_and_another_owner_is_refused(client: Any) -> None:
    a = TenantLock(client, 8, ttl_s=5, owner="pass-a")
    assert a.acquire()
    assert a.acquire()
    assert not TenantLock(client, 8, ttl_s=5, owner="pass-b").acquire()
    assert TenantLock(client, 8, ttl_s=5, owner="pass-b").release() is False  # not b's to free
    assert a.holder() == "pass-a"
    a.release()


def test_a_killed_holder_frees_the_tenant_within_one_ttl(client: Any, tmp_path: Path) -> None:
    script = tmp_path / "holder.py"
    script.write_text(
        "import sys, time, redis\n"
        "from connector.jobs.lock import TenantLock\n"
        f"lock = TenantLock(redis.Redis.from_url({REDIS_URL!r}), 9, ttl_s=1.0, owner='dying')\n"
        "assert lock.acquire()\n"
        "lock.start_heartbeat()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        time.sleep(1.5)  # beyond one TTL: still held, the heartbeat renews it
        rival = TenantLock(client, 9, ttl_s=1.0)
        assert not rival.acquire()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        killed = time.monotonic()
        while not rival.acquire():
            assert time.monotonic() - killed < 1.5, "the dead holder's lock did not expire"
            time.sleep(0.05)
        rival.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_once_per_interval_lets_one_caller_through(client: Any) -> None:
    assert once_per_interval(client, "t", 1.0)
    assert not once_per_interval(client, "t", 1.0)
    time.sleep(1.0)
    assert once_per_interval(client, "t", 1.0)  # the next interval


def test_two_schedulers_enqueue_one_pass_per_tenant_per_interval(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'sched.db'}"
    migrate.upgrade(url)
    with transaction(url) as s:
        for slug in ("acme", "globex"):
            store.ensure_tenant(s, slug, slug.title())
    settings = load_settings(
        {"database_url": url, "instance_path": str(tmp_path / "i"), "broker_url": REDIS_URL}, environ={}
    )
    tasks.configure(settings)
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_tenant, "delay", lambda tid: sent.append(tid))
    try:
        first = scheduler.enqueue_passes(settings)  # scheduler A fires
        second = scheduler.enqueue_passes(settings)  # scheduler B fires in the same interval
        assert (first, second) == (2, 0)
        assert len(sent) == 2
    finally:
        get_engine(url).dispose()
        tasks.configure(load_settings({"celery_always_eager": True}, environ={}))
