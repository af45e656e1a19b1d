"""Whose "now": the wall clock for real vendors; a stored clock for tenants whose vendors are a simulated world.

A sandbox is a simulated world that `healthscore sandbox tick` moves forward in time; scoring windows
("tickets in the last 30 days") and sync cursors must follow that world's clock, or a tick of 30 days
would leave every window empty and every cursor clamped to the wall clock. The demo package records the
simulated clock on the tenant (`tenants.clock_now`) after every tick, so product code reads it from the
store and never asks the emulator: commands and pages keep working after the emulator is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store import models as m


def wall_clock() -> datetime:
    return datetime.now(UTC)


def stored_now(session: Session, tenant_id: int) -> datetime | None:
    """The tenant's recorded simulated "now", or None when it runs on the wall clock."""
    value: datetime | None = session.scalar(select(m.Tenant.clock_now).where(m.Tenant.id == tenant_id))
    return value


def tenant_clock(session: Session, tenant_id: int) -> Callable[[], datetime]:
    """A clock for adapters and verifiers of one tenant (a simulated clock stands still between ticks)."""
    value = stored_now(session, tenant_id)
    if value is None:
        return wall_clock
    return lambda: value


def tenant_now(session: Session, tenant_id: int) -> datetime:
    """The tenant's "now": its recorded simulated clock if it has one, else the wall clock."""
    return tenant_clock(session, tenant_id)()


def set_tenant_clock(session: Session, tenant_id: int, now: datetime | None) -> None:
    """Record (or with None, clear) a tenant's simulated clock."""
    tenant = session.get(m.Tenant, tenant_id)
    if tenant is not None:
        tenant.clock_now = now
