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
from connector.jobs import passes, warmup  # noqa: F401 - warmup: the worker_process_init handler
from connector.jobs.lock import TenantLock

logger = logging.getLogger(__name__)

QUEUE = "healthscore"

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
    # A new pool process warms up (connector/jobs/warmup.py: three SDKs and the sentiment model) before it
    # tells the parent it is alive; the default 4 s wait would take a slow start on a busy host for a dead one.
    worker_proc_alive_timeout=60.0,
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
        # A message whose worker died unacked comes back after this long; parts are bounded and a
        # duplicate of a live part waits on its heartbeat lock, so this can be far below an hour.
        broker_transport_options={"visibility_timeout": settings.worker_redelivery_seconds},
    )
    return celery


def configured(settings: Settings) -> Celery:
    """The app configured for `settings`, configuring it only when they changed (callers on a request path
    ask once per request; reconfiguring drops the broker pools)."""
    return celery if _settings is settings else configure(settings)


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


def _redis() -> Any:
    """A client on the broker's Redis (locks and pass state live there); None in eager mode."""
    if celery.conf.task_always_eager or not str(celery.conf.broker_url or "").startswith("redis"):
        return None
    import redis

    return redis.Redis.from_url(celery.conf.broker_url)


def _tenant_lock(tenant_id: int) -> TenantLock | None:
    """One pass or refresh per tenant across workers: two would race on the tenant's cursors, snapshots
    and write-back outbox, and for Zendesk on its single-use rotating refresh token. The lock lives
    `tenant_lock_seconds` and is renewed by a heartbeat while held, so a long pass keeps it and a dead
    worker's lock frees itself within that time. Eager mode runs in the caller's process: no lock."""
    client = _redis()
    if client is None:
        return None
    return TenantLock(client, tenant_id, _current().tenant_lock_seconds)


@celery.task(name="healthscore.run_tenant", bind=True, max_retries=60)  # type: ignore[untyped-decorator]
def run_tenant(self: Any, tenant_id: int) -> dict[str, Any]:
    """A whole pass for one tenant (what the scheduler enqueues). On a broker it is split into parts
    that any worker runs (connector.jobs.passes); a tenant whose pass is still running is skipped (that
    pass covers this interval). Eager mode runs the one-process pass."""
    from connector.pipeline import run as pipeline

    client = _redis()
    if client is None:
        return pipeline.run_tenant(_current(), tenant_id)
    return passes.start(_current(), client, tenant_id, _enqueue_part, _current().tenant_lock_seconds)


# Redis priorities (kombu: 0 is served first, then 3, 6, 9). Sentiment parts are CPU work that can run
# any time; every other part goes first: a sync chain then picks up its next stream at once instead of
# waiting behind sentiment chunks, so a vendor budget is spent at the rate it refills (a stalled chain
# can never catch up on a per-10-s budget), and scores and write-backs are not held up by sentiment.
PRIORITY_SENTIMENT = 6


def _enqueue_part(pass_id: str, stage: int, chain: int, index: int, countdown: float) -> None:
    name = passes.STAGES[stage] if stage < len(passes.STAGES) else ""
    priority = PRIORITY_SENTIMENT if name.startswith("sentiment") else 0
    pass_part.apply_async((pass_id, stage, chain, index), countdown=countdown or None, priority=priority)


@celery.task(name="healthscore.pass_part", bind=True, max_retries=None)  # type: ignore[untyped-decorator]
def pass_part(self: Any, pass_id: str, stage: int, chain: int, index: int) -> dict[str, Any]:
    """One idempotent part of a split pass; enqueues what follows it."""
    client = _redis()
    settings = _current()
    out = passes.run_part(
        settings, client, pass_id, stage, chain, index, _enqueue_part, settings.tenant_lock_seconds
    )
    if out.status == "throttled":  # the vendor budget refills in wait_s: let other tenants go first
        raise self.retry(countdown=out.wait_s)
    if out.status == "busy":  # a duplicate delivery while the first is alive: check back later
        raise self.retry(countdown=max(1.0, settings.tenant_lock_seconds / 2))
    return {"status": out.status, "result": out.result}


@celery.task(name="healthscore.refresh_accounts", bind=True, max_retries=60)  # type: ignore[untyped-decorator]
def refresh_accounts(self: Any, tenant_id: int) -> dict[str, Any]:
    """Near-real-time path for inbound vendor webhooks: one refresh for every queued event of the
    tenant; a task finding nothing queued (an earlier one took its events) returns at once."""
    from connector.realtime import inbound
    from connector.realtime import refresh as realtime

    def work() -> dict[str, Any]:
        inbound.clear_queued(_redis(), tenant_id)  # we hold the tenant: later events need a new task
        return realtime.refresh_pending(_current(), tenant_id)

    return _locked(self, tenant_id, work)


@celery.task(name="healthscore.write_back", bind=True, max_retries=60, ignore_result=True)  # type: ignore[untyped-decorator]
def write_back(self: Any, tenant_id: int) -> dict[str, Any]:
    """Send the tenant's pending outbox rows now (score fields, then play tasks), e.g. the tasks a play
    queued when it was turned on, instead of leaving them for the next scheduled pass."""
    from connector.pipeline import run as pipeline

    return _locked(self, tenant_id, lambda: pipeline.write_back(_current(), tenant_id))


def _locked(task: Any, tenant_id: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    lock = _tenant_lock(tenant_id)
    if lock is None:
        return work()
    if not lock.acquire():
        # Another worker is busy with this tenant: come back shortly (our events stay queued).
        # Backoff capped at 30 s: a whole pass can hold the tenant for a minute or more.
        raise task.retry(countdown=min(2**task.request.retries, 30))
    with lock:  # heartbeat while working, released after
        return work()


@celery.task(name="healthscore.deliver_webhooks")  # type: ignore[untyped-decorator]
def deliver_webhooks() -> dict[str, Any]:
    """Deliver due outbound webhook attempts for every tenant."""
    from dataclasses import asdict

    from connector.pipeline import delivery

    return asdict(delivery.deliver_due(_current()))
