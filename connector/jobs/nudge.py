"""Ask for a tenant's write-back now, from the web app: on workers when there is a broker, else in the
app's own per-tenant refresh thread (the embedded demo). Never raises: what is queued stays in the outbox
and the next scheduled pass sends it, so a broker that is down costs a delay, not the admin's request."""

from __future__ import annotations

import logging

from connector.config import Settings

logger = logging.getLogger(__name__)


def request_write_back(settings: Settings, tenant_id: int) -> bool:
    """True when a write-back was started or queued; False when it waits for the next pass."""
    try:
        if settings.celery_always_eager:
            from connector.realtime import refresh

            refresh.request_refresh(settings, tenant_id, write_back=True)
            return True
        from connector.jobs import tasks

        tasks.configured(settings)
        # No publish retries: a web request is waiting, and the outbox keeps the rows for the next pass anyway.
        tasks.write_back.apply_async((tenant_id,), retry=False)
        return True
    except Exception:  # the broker is down or misconfigured: the outbox keeps the rows
        logger.warning(
            "write-back not queued; the next pass sends it", extra={"tenant": tenant_id}, exc_info=True
        )
        return False
