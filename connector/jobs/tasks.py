"""Celery (on Redis) around the pipeline: thin tasks, all logic stays in connector.pipeline.run / realtime.

The Celery app is created without settings and configured by `configure(settings)` from whoever starts
it (worker command, scheduler, web app), so importing this module has no side effects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery

from connector.config import Settings, load_settings

logger = logging.getLogger(__name__)

QUEUE = "healthscore"
REFRESH_LOCK_SECONDS = 300  # longer than any targeted refresh; a dead worker's lock expires on its own

celery = Celery("healthscore")
celery.conf.update(
    task_acks_late=True,  # a worker that dies mid-task leaves the message for another worker
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    result_expires=3600,
)
_settings: Settings | None = None


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the settings' broker (eager when `celery_always_eager`)."""
    global _settings
    _settings = settings
    if celery.conf.broker_url not in (None, settings.broker_url):
        _drop_connections()
    celery.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.broker_url,
        task_always_eager=settings.celery_always_eager,
        task_eager_propagates=True,
    )
    return celery


def _drop_connections() -> None:
    """Forget pooled broker connections and the result backend made for the previous broker URL (Celery
    caches both on first use; reconfiguring in one process, as tests and the CLI do, must not reuse them)."""
    from kombu import pools

    # kombu keeps pools in a process-wide registry: close and forget them there too
    pools.reset()  # type: ignore[no-untyped-call]
    celery._pool = None
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    celery._backend_cache = None
    celery._local.__dict__.pop("backend", None)


def _current() -> Settings:
    return _settings or load_settings()


def _tenant_lock(tenant_id: int) -> Any:
    """One pass or refresh per tenant across workers: two would race on the tenant's cursors, snapshots
    and write-back outbox, and for Zendesk on its single-use rotating refresh token. Eager mode runs in
    the caller's process and needs no broker lock (None)."""
    if celery.conf.task_always_eager or not str(celery.conf.broker_url or "").startswith("redis"):
        return None
    import redis

    client = redis.Redis.from_url(celery.conf.broker_url)
    return client.lock(f"healthscore:tenant:{tenant_id}", timeout=REFRESH_LOCK_SECONDS)


@celery.task(name="healthscore.run_tenant", bind=True, max_retries=60)  # type: ignore[untyped-decorator]
def run_tenant(self: Any, tenant_id: int) -> dict[str, Any]:
    """A whole pass for one tenant (what the scheduler enqueues)."""
    from connector.pipeline import run as pipeline

    return _locked(self, tenant_id, lambda: pipeline.run_tenant(_current(), tenant_id))


@celery.task(name="healthscore.refresh_accounts", bind=True, max_retries=60)  # type: ignore[untyped-decorator]
def refresh_accounts(self: Any, tenant_id: int) -> dict[str, Any]:
    """Near-real-time path for inbound vendor webhooks: one refresh for every queued event of the
    tenant; a task finding nothing queued (an earlier one took its events) returns at once."""
    from connector.realtime import refresh as realtime

    return _locked(self, tenant_id, lambda: realtime.refresh_pending(_current(), tenant_id))


def _locked(task: Any, tenant_id: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    lock = _tenant_lock(tenant_id)
    if lock is not None and not lock.acquire(blocking=False):
        # Another worker is busy with this tenant: come back shortly (our events stay queued).
        # Backoff capped at 30 s: a whole pass can hold the tenant for a minute or more.
        raise task.retry(countdown=min(2**task.request.retries, 30))
    try:
        return work()
    finally:
        if lock is not None:
            _release(lock)


def _release(lock: Any) -> None:
    from redis.exceptions import LockError

    try:
        lock.release()
    except LockError:  # expired meanwhile: nothing left to release
        logger.warning("refresh lock had expired before release")


@celery.task(name="healthscore.deliver_webhooks")  # type: ignore[untyped-decorator]
def deliver_webhooks() -> dict[str, Any]:
    """Deliver due outbound webhook attempts for every tenant."""
    from dataclasses import asdict

    from connector.pipeline import delivery

    return asdict(delivery.deliver_due(_current()))
