"""The scheduler only enqueues: one pass per tenant, webhook delivery every minute, missed runs coalesced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.config import Settings, load_settings
from connector.jobs import scheduler, tasks
from connector.pipeline import run as pipeline
from connector.store import migrate
from connector.store import repo as store
from connector.store.db import get_engine, transaction


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'sched.db'}"
    migrate.upgrade(url)
    yield load_settings(
        {
            "database_url": url,
            "instance_path": str(tmp_path / "inst"),
            "celery_always_eager": True,
            "sync_interval_minutes": 7,
        },
        environ={},
    )
    get_engine(url).dispose()


def test_enqueue_passes_enqueues_one_pass_per_tenant(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(settings.sqlalchemy_url) as s:
        ids = [store.ensure_tenant(s, slug, slug.title()).id for slug in ("acme", "globex", "initech")]
    ran: list[int] = []
    monkeypatch.setattr(pipeline, "run_tenant", lambda _s, tid: ran.append(tid) or {"status": "ok"})
    tasks.configure(settings)  # eager: each enqueued task runs at once, in order

    assert scheduler.enqueue_passes(settings) == 3
    assert sorted(ran) == sorted(ids)


def test_enqueue_passes_with_no_tenant_enqueues_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setattr(pipeline, "run_tenant", lambda _s, tid: ran.append(tid) or {})
    tasks.configure(settings)
    assert scheduler.enqueue_passes(settings) == 0
    assert ran == []


def test_jobs_are_coalesced_single_instance_on_the_configured_intervals(settings: Settings) -> None:
    sched = scheduler.build(settings)
    jobs = {job.id: job for job in sched.get_jobs()}
    assert set(jobs) == {"passes", "webhooks"}
    assert jobs["passes"].trigger.interval.total_seconds() == 7 * 60
    assert jobs["webhooks"].trigger.interval.total_seconds() == 60
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert jobs["passes"].func is scheduler.enqueue_passes
    assert jobs["webhooks"].func is scheduler.deliver_once
