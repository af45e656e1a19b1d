"""APScheduler: enqueue a pass per tenant every N minutes and webhook delivery every minute. It only
enqueues (Celery does the work). Several schedulers may run (one per machine, for availability): a
marker in Redis lets the first one of each interval enqueue and the others skip that interval."""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler

from connector.config import Settings
from connector.jobs.lock import once_per_interval
from connector.jobs.tasks import _redis, configure, deliver_webhooks, run_tenant
from connector.store import repo as store
from connector.store.db import transaction

logger = logging.getLogger(__name__)


def enqueue_passes(settings: Settings) -> int:
    """Enqueue one whole pass per tenant; returns how many were enqueued (0 when another scheduler
    already enqueued this interval's passes)."""
    client = _redis()
    if client is not None and not once_per_interval(client, "passes", settings.sync_interval_minutes * 60):
        logger.info("another scheduler enqueued this interval's passes")
        return 0
    with transaction(settings.sqlalchemy_url) as session:
        ids = [t.id for t in store.tenants(session)]
    for tid in ids:
        run_tenant.delay(tid)
    logger.info("enqueued %d tenant passes", len(ids))
    return len(ids)


def deliver_once() -> None:
    """Webhook delivery, enqueued once a minute whichever scheduler fires first."""
    client = _redis()
    if client is None or once_per_interval(client, "webhooks", 60):
        deliver_webhooks.delay()


def build(settings: Settings) -> BlockingScheduler:
    """The scheduler with its two jobs; coalesce + max_instances=1 so a scheduler that was asleep (or a
    slow enqueue) fires a missed job once, not once per missed interval."""
    configure(settings)
    sched = BlockingScheduler(timezone="UTC")
    sched.add_job(
        enqueue_passes,
        "interval",
        minutes=settings.sync_interval_minutes,
        args=[settings],
        id="passes",
        coalesce=True,
        max_instances=1,
    )
    sched.add_job(deliver_once, "interval", minutes=1, id="webhooks", coalesce=True, max_instances=1)
    return sched
