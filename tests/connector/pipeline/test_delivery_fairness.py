"""Fairness between workspaces in a delivery run (security audit 11, open item B).

Only endpoints that gave no answer were skipped for the rest of a run; an endpoint answering slowly (a 500
after 9 s) was not, so one workspace with many such endpoints filled every 50 s run and another workspace's
due delivery waited run after run. Now an endpoint is skipped for the rest of a run after any failed attempt,
and a workspace whose attempts used its share of the run (`webhook_workspace_share_seconds`, 10 s) while
other workspaces have deliveries due waits for them; its remaining deliveries stay due (nothing lost). The
transport and the clock are faked: no real sleeps.
"""

from __future__ import annotations

import dataclasses
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

SLOW = "https://93.184.216.34/slow"  # answers 500 after 9 s
FAST = "https://93.184.216.35/fast"
SECRET = "whsec_" + "A" * 43


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.urls: list[str] = []

    def __call__(self) -> float:
        return self.now

    def deliver(self, url: str, *_a: Any, **_k: Any) -> AttemptResult:
        self.urls.append(url)
        if url.startswith(SLOW):
            self.now += 9.0
            return AttemptResult(
                status=500, latency_ms=9000, response_excerpt="", ok=False, error=AttemptError.HTTP_ERROR,
                detail="HTTP 500",
            )  # fmt: skip
        self.now += 0.05
        return AttemptResult(status=204, latency_ms=50, response_excerpt="", ok=True, error=None)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(delivery, "deliver", fake.deliver)
    monkeypatch.setattr(delivery, "_monotonic", fake)
    return fake


def test_a_fast_workspace_is_served_in_the_first_run(db_url: str, tmp_path: Path, clock: Clock) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        slow_t, fast_t = b.tenant(s, "slowco"), b.tenant(s, "fastco")
        for n in range(10):
            ep = b.endpoint(s, Vault(settings), slow_t, f"{SLOW}/{n}", [SECRET])
            for k in range(3):
                b.event(
                    s, slow_t, [ep], msg_id=f"msg_s{n}_{k}", due=T0 - timedelta(minutes=30, seconds=-k - n)
                )
        fast = b.endpoint(s, Vault(settings), fast_t, FAST, [SECRET])
        b.event(s, fast_t, [fast], msg_id="msg_fast", due=T0 - timedelta(minutes=1))
    report = delivery.deliver_due(settings, now=T0)
    # slow: /0 at 0 s, /1 at 9 s (18 s used: over its 10 s share), then the fast one, then slow goes on
    assert clock.urls[:3] == [f"{SLOW}/0", f"{SLOW}/1", FAST]  # before: FAST never within the 50 s run
    assert report.delivered == 1
    assert report.workspaces_deferred == 1
    # every slow endpoint failed at most once in the run (skipped after a failed attempt)
    slow_urls = [u for u in clock.urls if u != FAST]
    assert len(slow_urls) == len(set(slow_urls))
    with b.session(db_url) as s:
        left = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.attempts == 0)).all()
        assert left
        assert all(d.status == "pending" and d.claimed_at is None for d in left)


def test_a_failed_attempt_skips_its_endpoint_for_the_rest_of_the_run(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s, "slowco")
        ep = b.endpoint(s, Vault(settings), t, f"{SLOW}/0", [SECRET])
        for k in range(4):
            b.event(s, t, [ep], msg_id=f"msg_{k}", due=T0 - timedelta(minutes=10, seconds=-k))
    report = delivery.deliver_due(settings, now=T0)
    assert clock.urls == [f"{SLOW}/0"]  # before: four 9 s attempts in a row
    assert report.endpoints_skipped == 1
    with b.session(db_url) as s:
        waiting = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.attempts == 0)).all()
        assert len(waiting) == 3
        assert all(d.status == "pending" for d in waiting)


def test_the_share_applies_only_while_other_workspaces_are_due(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Alone, a workspace may use the whole run; the shares are settings."""
    settings = dataclasses.replace(
        b.settings_for(db_url, tmp_path), webhook_run_budget_seconds=30, webhook_workspace_share_seconds=5
    )
    with b.session(db_url) as s:
        t = b.tenant(s, "slowco")
        for n in range(6):
            ep = b.endpoint(s, Vault(settings), t, f"{SLOW}/{n}", [SECRET])
            b.event(s, t, [ep], msg_id=f"msg_{n}", due=T0 - timedelta(minutes=10, seconds=-n))
    report = delivery.deliver_due(settings, now=T0)
    assert len(clock.urls) == 4  # claims at 0, 9, 18 and 27 s; at 36 s the 30 s budget is spent
    assert report.out_of_time
    assert report.workspaces_deferred == 0


def test_the_budgets_are_settings_read_from_the_environment(tmp_path: Path) -> None:
    from connector.config import ConfigError, load_settings

    env = {
        "HEALTHSCORE_INSTANCE_PATH": str(tmp_path),
        "HEALTHSCORE_WEBHOOK_RUN_BUDGET_SECONDS": "40",
        "HEALTHSCORE_WEBHOOK_WORKSPACE_SHARE_SECONDS": "5",
    }
    s = load_settings({}, environ=env)
    assert (s.webhook_run_budget_seconds, s.webhook_workspace_share_seconds) == (40, 5)
    with pytest.raises(ConfigError, match="webhook_workspace_share_seconds: must be ≥ 1"):
        load_settings({}, environ={**env, "HEALTHSCORE_WEBHOOK_WORKSPACE_SHARE_SECONDS": "0"})
