"""Audit 8: a delivery run is bounded, so one workspace's silent receivers cannot hold the workers.

The scheduler starts a delivery run every minute whether the last one ended or not, and a run sends one
delivery at a time. Before: a receiver that never answers cost every queued delivery its whole timeout in
the same run (~13-23 s each), so one workspace's 50 endpoints with a few hundred band changes queued kept a
run going for hours, a new run joined every minute, and the workers filled with delivery runs while every
tenant's passes waited. The transport is faked here (no real timeouts, no sleeps): `send` answers from a
table and moves a fake clock by what the attempt would have cost.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import T0
from webhooks.delivery import AttemptError, AttemptResult

SILENT = "https://93.184.216.34/silent"  # never answers: a timeout after the full 13 s
FAST = "https://93.184.216.35/fast"


class FakeTransport:
    """Stands in for webhooks.delivery.deliver: records the URLs and advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.urls: list[str] = []

    def clock(self) -> float:
        return self.now

    def deliver(self, url: str, *_args: Any, **_kwargs: Any) -> AttemptResult:
        self.urls.append(url)
        if "silent" in url:
            self.now += 13.05
            return AttemptResult(
                status=None, latency_ms=13050, response_excerpt="", ok=False, error=AttemptError.TIMEOUT
            )
        self.now += 0.05
        return AttemptResult(status=204, latency_ms=50, response_excerpt="", ok=True, error=None)


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    fake = FakeTransport()
    monkeypatch.setattr(delivery, "deliver", fake.deliver)
    monkeypatch.setattr(delivery, "_monotonic", fake.clock, raising=False)
    return fake


def _endpoint(s: Any, settings: Any, tenant: int, url: str, events: int, tag: str) -> int:
    ep = b.endpoint(s, Vault(settings), tenant, url, ["whsec_" + "A" * 43])
    for n in range(events):
        b.event(
            s, tenant, [ep], msg_id=f"msg_{tag}_{n}", due=T0 - timedelta(minutes=10) + timedelta(seconds=n)
        )
    return ep


def test_a_silent_endpoint_gets_one_attempt_per_run(
    db_url: str, tmp_path: Path, transport: FakeTransport
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        slow, fast = b.tenant(s, "slowco"), b.tenant(s, "fastco")
        silent = _endpoint(s, settings, slow, SILENT, 5, "slow")
        _endpoint(s, settings, fast, FAST, 1, "fast")
        # the other tenant's event is newer: before, it waited behind every one of the silent endpoint's
        s.execute(
            m.WebhookDelivery.__table__.update()
            .where(m.WebhookDelivery.tenant_id == fast)
            .values(next_attempt_at=T0 - timedelta(minutes=1))
        )
    report = delivery.deliver_due(settings, now=T0)
    assert transport.urls == [SILENT, FAST]  # before: five timeouts (65 s) before the other tenant's
    assert (report.attempted, report.delivered, report.failed, report.endpoints_skipped) == (2, 1, 1, 1)
    with b.session(db_url) as s:
        waiting = s.scalars(
            select(m.WebhookDelivery).where(
                m.WebhookDelivery.endpoint_id == silent, m.WebhookDelivery.attempts == 0
            )
        ).all()
        assert len(waiting) == 4
        assert all(d.status == "pending" and d.claimed_at is None for d in waiting)
    # the next run tries the endpoint again (once), as its deliveries are still due
    delivery.deliver_due(settings, now=T0 + timedelta(minutes=1))
    assert transport.urls == [SILENT, FAST, SILENT]


def test_a_run_stops_claiming_after_its_budget(db_url: str, tmp_path: Path, transport: FakeTransport) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s, "slowco")
        for n in range(6):
            _endpoint(s, settings, t, f"{SILENT}/{n}", 1, f"e{n}")
    report = delivery.deliver_due(settings, t, now=T0)
    # 13.05 s each: claims at 0, 13, 26 and 39 s; at 52 s the 50 s budget is spent
    assert len(transport.urls) == 4
    assert report.out_of_time
    with b.session(db_url) as s:
        left = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.attempts == 0)).all()
        assert len(left) == 2
        assert all(d.status == "pending" for d in left)
    delivery.deliver_due(settings, t, now=T0 + timedelta(minutes=1))
    assert len(transport.urls) == 8  # the next run goes on (the first four are due again too)
