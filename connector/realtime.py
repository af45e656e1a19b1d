"""Inbound vendor events → targeted refresh: incremental re-sync of that vendor (cheap: the cursor is
recent), link, sentiment of changed tickets, re-score, write-back of what changed, webhook events."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from connector import models as m
from connector import pipeline
from connector.config import Settings
from connector.db import transaction
from connector.store import utcnow

logger = logging.getLogger(__name__)


def refresh(settings: Settings, tenant_id: int, vendor: str, event_ids: list[int]) -> dict[str, Any]:
    report = {
        "sync": pipeline.sync(settings, tenant_id, vendor=vendor),
        "link": pipeline.link(settings, tenant_id),
        "sentiment": pipeline._STEP_FUNCS["sentiment"](settings, tenant_id),
        "score": pipeline.score(settings, tenant_id),
        "write_back": pipeline.write_back(settings, tenant_id),
        "events": pipeline.events(settings, tenant_id),
    }
    with transaction(settings.sqlalchemy_url) as session:
        session.execute(
            update(m.InboundEvent)
            .where(m.InboundEvent.tenant_id == tenant_id, m.InboundEvent.id.in_(event_ids))
            .values(status="done", processed_at=utcnow())
        )
    return report
