"""Ground truth a simulated book supplied (read by link reports and backtests; real tenants have none).

The demo records it (connector/demo/emulator.py); product code only reads it here, so it never needs the
emulator running, and says "no ground truth recorded" when there is none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.store import models as m


def recorded_truth(session: Session, tenant_id: int) -> dict[str, Any] | None:
    row = session.get(m.RecordedTruth, tenant_id)
    return dict(row.payload) if row is not None else None


def record_truth(session: Session, tenant_id: int, payload: dict[str, Any], *, recorded_at: datetime) -> None:
    row = session.get(m.RecordedTruth, tenant_id)
    if row is None:
        session.add(m.RecordedTruth(tenant_id=tenant_id, recorded_at=recorded_at, payload=payload))
    else:
        row.payload, row.recorded_at = payload, recorded_at


def vendor_maps(truth: dict[str, Any], vendor: str) -> tuple[dict[str, str], dict[str, str]]:
    """(account/org id → customer key, ticket id → customer key) for one vendor."""
    section = truth.get("vendors", truth).get(vendor, {})
    return dict(section.get("accounts", {})), dict(section.get("tickets", {}))
