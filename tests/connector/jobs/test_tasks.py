"""Celery tasks: eager in-process, and once through a real worker on the local Redis.

The refresh task claims the tenant's queued inbound events, so several tasks for one burst do the work
once; the real-worker test goes from `inbound.dispatch` (not eager) through Redis to a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.config import Settings, load_settings
from connector.jobs import tasks
from connector.pipeline import run as pipeline
from connector.pipeline import sentiment as sentiment_step
from connector.realtime import inbound
from connector.store import migrate
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from nlp.sentiment import Sentiment

REDIS_URL = os.environ.get("HEALTHSCORE_TEST_REDIS", "redis://127.0.0.1:6379/15")


class NeutralModel:
    version = "neutral-1"

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        return [Sentiment(label="neutral", score=0.0, confidence=0.5, excerpt="") for _ in texts]


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    return load_settings({"database_url": url, "instance_path": str(tmp_path / "inst"), **extra}, environ={})


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int]]:
    """A tenant with no vendor connected (every step has nothing to do) in a migrated SQLite file."""
    migrate.upgrade(f"sqlite:///{tmp_path / 'tasks.db'}")
    monkeypatch.setattr(sentiment_step, "load_model", lambda *_: NeutralModel())
    with transaction(f"sqlite:///{tmp_path / 'tasks.db'}") as s:
        tid = store.ensure_tenant(s, "acme", "Acme", primary_crm="salesforce").id
    yield tmp_path, tid
    get_engine(f"sqlite:///{tmp_path / 'tasks.db'}").dispose()
    tasks.configure(load_settings({"celery_always_eager": True}, environ={}))  # leave no broker behind


def _queue(settings: Settings, tid: int, n: int, vendor: str = "zendesk") -> None:
    events = tuple((f"evt-{vendor}-{i}", {"id": f"evt-{i}"}) for i in range(n))
    inbound.record(settings, inbound.Verified(tid, vendor, events, "sig"))


def _statuses(settings: Settings) -> dict[str, int]:
    with transaction(settings.sqlalchemy_url) as s:
        rows = s.execute(select(m.InboundEvent.status, func.count()).group_by(m.InboundEvent.status))
        return {status: int(n) for status, n in rows}


def test_eager_refresh_task_claims_every_queued_event_once(tenant: tuple[Path, int]) -> None:
    tmp, tid = tenant
    settings = _settings(tmp, celery_always_eager=True)
    tasks.configure(settings)
    _queue(settings, tid, 3)
    _queue(settings, tid, 2, vendor="hubspot")

    first = tasks.refresh_accounts.delay(tid).get()
    second = tasks.refresh_accounts.delay(tid).get()

    assert first["events"] == 5
    assert set(first["steps"]) == {"sync", "link", "sentiment", "score", "write_back", "events"}
    assert second == {"events": 0, "coalesced": True}  # the burst's second task finds nothing to do
    assert _statuses(settings) == {"done": 5}


def test_eager_pass_and_delivery_tasks_run_in_process(
    tenant: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp, tid = tenant
    settings = _settings(tmp, celery_always_eager=True)
    tasks.configure(settings)
    seen: list[int] = []
    monkeypatch.setattr(pipeline, "run_tenant", lambda _s, t: seen.append(t) or {"status": "ok"})
    assert tasks.run_tenant.delay(tid).get() == {"status": "ok"}
    assert seen == [tid]
    delivered = tasks.deliver_webhooks.delay().get()
    assert delivered["delivered"] == 0


def test_eager_mode_takes_no_broker_lock(tenant: tuple[Path, int]) -> None:
    tasks.configure(_settings(tenant[0], celery_always_eager=True))
    assert tasks._tenant_lock(tenant[1]) is None


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(exc).__name__}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable (start it: see scripts/ensure-services.sh)")


@pytest.mark.slow
def test_real_worker_on_redis_refreshes_a_dispatched_event(tenant: tuple[Path, int]) -> None:
    """Dispatch (not eager) → Redis → a worker thread → events done; the tenant lock lives in Redis."""
    _redis_or_skip()
    import redis
    from celery.contrib.testing.worker import start_worker

    tmp, tid = tenant
    settings = _settings(tmp, broker_url=REDIS_URL, celery_always_eager=False)
    app = tasks.configure(settings)
    redis.Redis.from_url(REDIS_URL).delete(tasks.QUEUE)  # nothing left over from an earlier run
    _queue(settings, tid, 2)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[tasks.QUEUE], shutdown_timeout=10):
        accepted = inbound.Accepted(tid, "zendesk", (1, 2), 0)
        inbound.dispatch(settings, accepted)  # fire and forget, as the web handler does
        result = tasks.refresh_accounts.delay(tid).get(timeout=30)  # a second task of the same burst
        assert _statuses(settings) == {"done": 2}
        assert result["events"] in (0, 2)  # whichever of the two ran first took both events
        lock = tasks._tenant_lock(tid)
        assert lock is not None
        assert lock.acquire()  # released after the tasks
        lock.release()


@pytest.mark.slow
def test_a_burst_enqueues_one_refresh_task_until_a_worker_takes_the_tenant(tenant: tuple[Path, int]) -> None:
    """Issue 17: 1,000 webhooks/s must not become 1,000 tasks each waiting on the tenant lock. While a
    refresh task is queued and not started, further events ride on it; once a worker holds the tenant
    (and took the events queued so far), the next event enqueues a new task."""
    _redis_or_skip()
    import time

    import redis
    from celery.contrib.testing.worker import start_worker

    tmp, tid = tenant
    settings = _settings(tmp, broker_url=REDIS_URL, celery_always_eager=False)
    app = tasks.configure(settings)
    client = redis.Redis.from_url(REDIS_URL)
    marker = inbound.QUEUED_KEY.format(tid)
    client.delete(tasks.QUEUE, marker)
    _queue(settings, tid, 20)
    for i in range(20):
        inbound.dispatch(settings, inbound.Accepted(tid, "zendesk", (i + 1,), 0))
    assert client.llen(tasks.QUEUE) == 1
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[tasks.QUEUE], shutdown_timeout=10):
        deadline = time.monotonic() + 30
        while _statuses(settings) != {"done": 20} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _statuses(settings) == {"done": 20}
        assert not client.exists(marker)  # the task cleared it when it took the tenant
    _queue(settings, tid, 1, vendor="hubspot")
    inbound.dispatch(settings, inbound.Accepted(tid, "hubspot", (21,), 0))
    assert client.llen(tasks.QUEUE) == 1  # a new task for the event that came after
    client.delete(tasks.QUEUE, marker)


def test_sentiment_parts_queue_behind_every_other_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis priorities (0 served first): a sync chain's next stream must not wait behind sentiment
    chunks, or its vendor budget goes unspent while the chain stalls."""
    from connector.jobs import passes, tasks

    sent: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(tasks.pass_part, "apply_async", lambda args, **kw: sent.append((args, kw)))
    for stage in range(len(passes.STAGES)):
        tasks._enqueue_part("p1", stage, 0, 0, 0.0)
    by_stage = {passes.STAGES[args[1]]: kw["priority"] for args, kw in sent}
    assert by_stage == {
        "sync": 0, "link": 0, "sentiment": tasks.PRIORITY_SENTIMENT, "score": 0, "write_back": 0,
        "history": 0, "sentiment_older": tasks.PRIORITY_SENTIMENT, "finish": 0,
    }  # fmt: skip
    assert tasks.PRIORITY_SENTIMENT > 0
