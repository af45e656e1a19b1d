"""The one interface between healthscore and the vendor emulators' control API (`/_sandbox/*`).

Only the demo, the commands and the benchmarks use it. Product code reads what it records (the tenant's
simulated clock, the book's ground truth) from the store, so pages and commands work once the emulator is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.clock import set_tenant_clock
from connector.store import models as m
from connector.store.db import transaction
from connector.store.truth import record_truth

logger = logging.getLogger(__name__)

TIMEOUT = 30.0
TICK_TIMEOUT = 600.0  # a long tick on a 10,000-account book takes a while


class EmulatorUnavailableError(RuntimeError):
    """The emulator's control API did not answer (it is not running, or not at that address)."""


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running emulator set, addressed by its control API URL (`admin` in its credentials)."""

    admin_url: str
    ca_file: str | None = None

    def _get(self, path: str, timeout: float = TIMEOUT) -> Any:
        try:
            resp = requests.get(
                f"{self.admin_url.rstrip('/')}{path}", timeout=timeout, verify=self.ca_file or True
            )
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise EmulatorUnavailableError(
                f"the emulator at {self.admin_url} did not answer ({type(exc).__name__})"
            ) from exc
        return resp.json()

    def _post(self, path: str, body: dict[str, Any], timeout: float = TIMEOUT) -> Any:
        try:
            resp = requests.post(
                f"{self.admin_url.rstrip('/')}{path}", json=body, timeout=timeout, verify=self.ca_file or True
            )
        except requests.RequestException as exc:
            raise EmulatorUnavailableError(
                f"the emulator at {self.admin_url} did not answer ({type(exc).__name__})"
            ) from exc
        return resp

    def credentials(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/_sandbox/credentials")
        return data

    def clock(self) -> datetime:
        return datetime.fromisoformat(self._get("/_sandbox/clock")["now"]).astimezone(UTC)

    def truth(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/_sandbox/truth", timeout=120.0)
        return data

    def tick(self, days: int) -> requests.Response:
        """Advance the simulated world; the caller reads status and body (a refusal says why)."""
        return self._post("/_sandbox/tick", {"days": days}, timeout=TICK_TIMEOUT)

    def webhook_config(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/_sandbox/webhooks")["config"]
        return data

    def subscribe(self, vendor: str, url: str, secret: str | None) -> None:
        resp = self._post("/_sandbox/webhooks", {"vendor": vendor, "url": url, "secret": secret})
        resp.raise_for_status()


def tenants_on(session: Session, admin_url: str | None = None) -> list[tuple[int, str, str | None]]:
    """(tenant id, control URL, CA file) of every tenant installed against an emulator (optionally one)."""
    out: dict[int, tuple[int, str, str | None]] = {}
    for inst in session.scalars(select(m.Installation)):
        url = (inst.settings or {}).get("sandbox_admin")
        if url and (admin_url is None or str(url).rstrip("/") == admin_url.rstrip("/")):
            out.setdefault(inst.tenant_id, (inst.tenant_id, str(url), inst.ca_file))
    return list(out.values())


def record_world(sqlalchemy_url: str, admin_url: str | None = None, *, truth: bool = True) -> int:
    """Store the emulator's clock (and ground truth) on every tenant installed against it; returns how many
    tenants were updated. Call after each tick so product code's "now" follows the simulated world."""
    with transaction(sqlalchemy_url) as session:
        targets = tenants_on(session, admin_url)
    cache: dict[str, tuple[datetime, dict[str, Any] | None]] = {}
    for _, url, ca in targets:
        if url not in cache:
            emu = Emulator(url, ca)
            cache[url] = (emu.clock(), emu.truth() if truth else None)
    with transaction(sqlalchemy_url) as session:
        for tid, url, _ in targets:
            now, data = cache[url]
            set_tenant_clock(session, tid, now)
            if data is not None:
                record_truth(session, tid, data, recorded_at=now)
    logger.info("recorded the emulator's clock on %d tenants", len(targets))
    return len(targets)


def start_embedded(
    *,
    seed: int = 0,
    accounts: int = 500,
    now: datetime | None = None,
    ports: dict[str, int] | None = None,
    tls: bool = True,
    rate_limits: str = "off",
    cache_reads: bool = False,
) -> Any:
    """Start the three vendor emulators and their control API in this process (the embedded default).
    `rate_limits="real"` makes them enforce the vendors' documented API limits. `cache_reads` keeps the
    emulators' read caches between requests (for `sandbox serve` and the demo; code that edits the book in
    place, e.g. benchmarks/freshness.py, leaves it off).

    Returns the running `SandboxSet` (`credentials()`, `tick(days)`, `stop()`); `now` starts the simulated
    world at that moment instead of the seed's default."""
    from integrations.sandbox.runner import SandboxSet
    from integrations.sandbox.seed import generate_book

    book = generate_book(seed=seed, accounts=accounts, now=now) if now is not None else None
    return SandboxSet.start(
        seed=seed,
        accounts=accounts,
        ports=ports,
        tls=tls,
        book=book,
        rate_limits=rate_limits,
        cache_reads=cache_reads,
    )
