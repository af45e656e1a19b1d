"""Asking for a tenant's write-back from the web app (a play turned on): in the app's own refresh thread
without workers, as a Celery task through Redis with them, and never an error when the broker is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.config import Settings, load_settings
from connector.jobs import nudge, tasks
from connector.pipeline import run as pipeline
from connector.realtime import refresh
from connector.store import migrate
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from tests.connector.jobs.test_tasks import REDIS_URL, _redis_or_skip


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    url = f"sqlite:///{tmp_path / 'nudge.db'}"
    return load_settings({"database_url": url, "instance_path": str(tmp_path / "inst"), **extra}, environ={})


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'nudge.db'}"
    migrate.upgrade(url)
    with transaction(url) as s:
        tid = store.ensure_tenant(s, "acme", "Acme", primary_crm="salesforce").id
    yield tid
    get_engine(url).dispose()
    tasks.configure(load_settings({"celery_always_eager": True}, environ={}))  # leave no broker behind


def _record_write_backs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def write_back(settings: Settings, tenant_id: int, **_: Any) -> dict[str, Any]:
        calls.append(tenant_id)
        return {}

    monkeypatch.setattr(pipeline, "write_back", write_back)
    return calls


def test_without_workers_the_app_thread_writes_back(
    tmp_path: Path, tenant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_write_backs(monkeypatch)
    assert nudge.request_write_back(_settings(tmp_path, celery_always_eager=True), tenant) is True
    assert refresh.wait_idle(10)
    assert calls == [tenant]


def test_a_plain_refresh_does_not_write_back(
    tmp_path: Path, tenant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_write_backs(monkeypatch)
    refresh.request_refresh(_settings(tmp_path, celery_always_eager=True), tenant)
    assert refresh.wait_idle(10)
    assert calls == []


def test_broker_down_is_not_an_error(tmp_path: Path, tenant: int, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on port 1: the request still succeeds; the outbox keeps the rows for the next pass."""
    settings = _settings(tmp_path, broker_url="redis://127.0.0.1:1/0", celery_always_eager=False)
    started = time.monotonic()
    assert nudge.request_write_back(settings, tenant) is False
    assert time.monotonic() - started < 15  # bounded (~6 s here): a web request waits on this
    assert "next pass sends it" in caplog.text


@pytest.mark.slow
def test_a_worker_takes_the_write_back_task(
    tmp_path: Path, tenant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dispatch (not eager) → Redis → a worker thread runs the write-back under the tenant lock."""
    _redis_or_skip()
    import redis
    from celery.contrib.testing.worker import start_worker

    calls = _record_write_backs(monkeypatch)
    settings = _settings(tmp_path, broker_url=REDIS_URL, celery_always_eager=False)
    app = tasks.configure(settings)
    redis.Redis.from_url(REDIS_URL).delete(tasks.QUEUE)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[tasks.QUEUE], shutdown_timeout=10):
        assert nudge.request_write_back(settings, tenant) is True
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.1)
    assert calls == [tenant]
    lock = tasks._tenant_lock(tenant)
    assert lock is not None
    assert lock.acquire()  # released after the task
    lock.release()
