"""Celery (on Redis) around the pipeline: thin tasks, all logic stays in connector.pipeline.

The Celery app is created without settings and configured by `configure(settings)` from whoever starts
it (worker command, scheduler, web app), so importing this module has no side effects.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from connector.config import Settings, load_settings

logger = logging.getLogger(__name__)

celery = Celery("healthscore")
celery.conf.update(
    task_acks_late=True,  # a worker that dies mid-task leaves the message for another worker
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="healthscore",
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
)
_settings: Settings | None = None


def configure(settings: Settings) -> Celery:
    global _settings
    _settings = settings
    celery.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.broker_url,
        task_always_eager=settings.celery_always_eager,
        task_eager_propagates=True,
    )
    return celery


def _current() -> Settings:
    return _settings or load_settings()


@celery.task(name="healthscore.run_tenant")
def run_tenant(tenant_id: int) -> dict[str, Any]:
    """A whole pass for one tenant (what the scheduler enqueues)."""
    from connector import pipeline

    return pipeline.run_tenant(_current(), tenant_id)


@celery.task(name="healthscore.refresh_accounts", bind=True, max_retries=5)
def refresh_accounts(self: Any, tenant_id: int, vendor: str, event_ids: list[int]) -> dict[str, Any]:
    """Near-real-time path for inbound vendor webhooks: re-sync that vendor, re-score, write back, emit."""
    from connector import realtime

    return realtime.refresh(_current(), tenant_id, vendor, event_ids)


@celery.task(name="healthscore.deliver_webhooks")
def deliver_webhooks() -> dict[str, Any]:
    from dataclasses import asdict

    from connector import delivery

    return asdict(delivery.deliver_due(_current()))
