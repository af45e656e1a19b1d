"""Whose "now": the wall clock for real vendors; the sandbox's simulated clock for sandbox installs.

A sandbox is a simulated world that `healthscore sandbox tick` moves forward in time; scoring windows
("tickets in the last 30 days") and sync cursors must follow that world's clock, or a tick of 30 days
would leave every window empty and every cursor clamped to the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy.orm import Session

from connector.store import repo as store


def wall_clock() -> datetime:
    return datetime.now(UTC)


def sandbox_clock(admin_url: str, ca_file: str | None = None, ttl: float = 2.0) -> Callable[[], datetime]:
    """The sandbox's clock, asked at most every `ttl` seconds (adapters read "now" on every vendor call; the
    sandbox clock only moves on a tick, so a reading a second old is as good as a fresh one)."""
    cached: list[tuple[float, datetime]] = []

    def now() -> datetime:
        if cached and time.monotonic() - cached[0][0] < ttl:
            return cached[0][1]
        resp = requests.get(f"{admin_url.rstrip('/')}/_sandbox/clock", timeout=10, verify=ca_file or True)
        resp.raise_for_status()
        value = datetime.fromisoformat(resp.json()["now"]).astimezone(UTC)
        cached[:] = [(time.monotonic(), value)]
        return value

    return now


def clock_for(settings: Mapping[str, Any], ca_file: str | None = None) -> Callable[[], datetime]:
    """The clock of one installation (its settings say whether it is a sandbox)."""
    admin = settings.get("sandbox_admin")
    return sandbox_clock(str(admin), ca_file) if admin else wall_clock


def tenant_now(session: Session, tenant_id: int) -> datetime:
    """The tenant's "now": its sandbox's clock if it is installed against one, else the wall clock."""
    for inst in store.installations(session, tenant_id):
        if (inst.settings or {}).get("sandbox_admin"):
            return clock_for(inst.settings, inst.ca_file)()
    return wall_clock()
