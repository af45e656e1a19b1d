"""The emit step against a real loopback receiver that verifies with the `standardwebhooks` package.

Time is injected (`now=`) and retries are driven by moving it, so nothing sleeps. Signing always uses the
wall clock (receivers check the timestamp against theirs), which is why the receiver accepts every
attempt however far the injected `now` has moved.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from connector.config import Settings
from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import T0
from tests.webhooks.receiver import RECEIVER_SECRET, Receiver
from webhooks.delivery import RetrySchedule
from webhooks.events import encode_payload


class Midpoint:
    """An rng whose jitter factor is exactly 1 (random() = 0.5): delays are the schedule's own."""

    def random(self) -> float:
        return 0.5


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with b.running(Receiver()) as rec:
        yield rec


def _setup(db_url: str, tmp_path: Path, url: str, slug: str = "acme") -> tuple[Settings, int, int]:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s, slug)
        ep = b.endpoint(s, Vault(settings), t, url, [RECEIVER_SECRET])
    return settings, t, ep


def _delivery(db_url: str, event_msg_id: str = "msg_1") -> m.WebhookDelivery:
    with b.session(db_url) as s:
        return s.scalars(
            select(m.WebhookDelivery)
            .join(m.WebhookEvent, m.WebhookEvent.id == m.WebhookDelivery.event_id)
            .where(m.WebhookEvent.msg_id == event_msg_id)
        ).one()


def _attempts(db_url: str) -> list[m.WebhookAttempt]:
    with b.session(db_url) as s:
        return list(s.scalars(select(m.WebhookAttempt).order_by(m.WebhookAttempt.id)))


def test_a_due_delivery_reaches_the_receiver_signed(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/hook")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
        b.event(s, t, [ep], msg_id="msg_later", due=T0 + timedelta(minutes=1))
        payload = s.scalars(select(m.WebhookEvent.payload).where(m.WebhookEvent.msg_id == "msg_1")).one()
    report = delivery.deliver_due(settings, t, now=T0)
    assert (report.attempted, report.delivered, report.failed) == (1, 1, 0)
    [hit] = receiver.hits
    assert hit.accepted, hit.error
    assert hit.headers["webhook-id"] == "msg_1"
    assert hit.body == encode_payload(payload)
    d = _delivery(db_url)
    assert (d.status, d.attempts, d.last_status_code, d.next_attempt_at, d.claimed_at) == (
        "delivered", 1, 204, None, None,
    )  # fmt: skip
    [attempt] = _attempts(db_url)
    assert (attempt.status_code, attempt.attempted_at, attempt.error) == (204, T0, None)
    assert attempt.latency_ms is not None
    assert attempt.latency_ms >= 0
    assert _delivery(db_url, "msg_later").status == "pending"  # not due yet


def test_failures_retry_on_schedule_with_the_same_id_then_die_and_disable(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """A receiver that always answers 500: every retry lands when RetrySchedule says, carries the same
    webhook-id, and after the last one the delivery is dead and the endpoint disabled (admin told)."""
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/fail")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
    schedule, rng, expected_rng = RetrySchedule(), random.Random(42), random.Random(42)
    now, times = T0, [T0]
    for attempt in range(1, schedule.max_attempts + 1):
        # One tick before it is due nothing happens.
        early = delivery.deliver_due(settings, t, now=now - timedelta(seconds=1), rng=rng, schedule=schedule)
        assert early.attempted == 0
        report = delivery.deliver_due(settings, t, now=now, rng=rng, schedule=schedule)
        assert (report.attempted, report.failed) == (1, 1)
        d = _delivery(db_url)
        assert (d.attempts, d.last_status_code) == (attempt, 500)
        nxt = schedule.next_attempt_at(attempt, now, expected_rng)
        if nxt is None:
            assert (d.status, d.next_attempt_at, report.dead) == ("dead", None, 1)
            break
        assert (d.status, d.next_attempt_at) == ("pending", nxt)
        now = nxt
        times.append(now)
    assert len(receiver.hits) == schedule.max_attempts
    assert {h.headers["webhook-id"] for h in receiver.hits} == {"msg_1"}
    assert all(h.accepted for h in receiver.hits)
    attempts = _attempts(db_url)
    assert [a.attempted_at for a in attempts] == times
    assert {(a.status_code, a.response_excerpt, a.error) for a in attempts} == {(500, "boom", "http_error")}
    # 8 failures over ~27 h (more than the 24 h rule) disabled the endpoint; the audit log says so.
    with b.session(db_url) as s:
        endpoint = s.get(m.WebhookEndpoint, ep)
        assert endpoint is not None
        assert not endpoint.enabled
        assert "8 failed attempts" in (endpoint.disabled_reason or "")
        audit = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "webhook.endpoint_disabled")
        ).one()
        assert (audit.tenant_id, audit.target) == (t, f"{receiver.base_url}/fail")
    assert report.endpoints_disabled == 1


def test_a_short_outage_does_not_disable(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    """Many queued events failing within minutes is not a long failure streak."""
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/fail")
    with b.session(db_url) as s:
        for i in range(10):
            b.event(s, t, [ep], msg_id=f"msg_{i}")
    # one failed attempt per endpoint per run (the rest wait for the next run): ten runs within seconds
    reports = [delivery.deliver_due(settings, t, now=T0, rng=Midpoint()) for _ in range(10)]
    assert [(r.attempted, r.failed, r.endpoints_disabled) for r in reports] == [(1, 1, 0)] * 10
    with b.session(db_url) as s:
        endpoint = s.get(m.WebhookEndpoint, ep)
        assert endpoint is not None
        assert endpoint.enabled


def test_410_gone_disables_at_once_and_later_deliveries_are_not_sent(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/gone")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
        b.event(s, t, [ep], msg_id="msg_2", due=T0 + timedelta(hours=1))
    assert delivery.deliver_due(settings, t, now=T0, rng=Midpoint()).endpoints_disabled == 1
    delivery.deliver_due(settings, t, now=T0 + timedelta(hours=1), rng=Midpoint())
    assert len(receiver.hits) == 1
    assert (_delivery(db_url, "msg_2").status, _delivery(db_url, "msg_2").last_error) == (
        "failed", "endpoint disabled or removed",
    )  # fmt: skip


def test_retry_after_is_honoured(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/throttle")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
    delivery.deliver_due(settings, t, now=T0, rng=Midpoint())
    assert _delivery(db_url).next_attempt_at == T0 + timedelta(seconds=120)  # not the 5 s first delay


def test_private_targets_refused_unless_allowed(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/hook")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
    strict = b.settings_for(db_url, tmp_path, *settings.token_keys, allow_private=False)
    delivery.deliver_due(strict, t, now=T0, rng=Midpoint())
    assert receiver.hits == []
    [attempt] = _attempts(db_url)
    assert (attempt.status_code, attempt.error) == (None, "unsafe_target")


class WorkerKilledError(BaseException):
    """The worker process died mid-send (raised from inside the HTTP call, never caught by delivery: an
    Exception is recorded as a failed attempt, tests/connector/pipeline/test_delivery_isolation.py)."""


class DyingSession(requests.Session):
    def prepare_request(self, *args: object, **kwargs: object) -> requests.PreparedRequest:
        raise WorkerKilledError


def test_a_crash_between_claim_and_result_is_reclaimed_after_the_timeout(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/hook")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
    with pytest.raises(WorkerKilledError):
        delivery.deliver_due(settings, t, now=T0, session=DyingSession())
    assert _delivery(db_url).status == "claimed"
    # Another worker right after the crash leaves it alone (it may still be in flight)...
    assert delivery.deliver_due(settings, t, now=T0 + delivery.CLAIM_TIMEOUT).attempted == 0
    # ...and takes it over once the claim is older than CLAIM_TIMEOUT.
    later = T0 + delivery.CLAIM_TIMEOUT + timedelta(seconds=1)
    assert delivery.deliver_due(settings, t, now=later).delivered == 1
    assert [h.headers["webhook-id"] for h in receiver.hits] == ["msg_1"]


def test_replay_one_event_and_a_time_range(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/hook")
    with b.session(db_url) as s:
        for i, created in enumerate([T0, T0 + timedelta(days=1), T0 + timedelta(days=2)]):
            b.event(s, t, [ep], msg_id=f"msg_{i}", created=created, due=created)
    delivery.deliver_due(settings, t, now=T0 + timedelta(days=3))
    assert len(receiver.hits) == 3
    assert delivery.replay(settings, t, event_msg_id="msg_1") == 1
    assert delivery.replay(settings, t, since=T0 + timedelta(hours=12), until=T0 + timedelta(days=3)) == 2
    report = delivery.deliver_due(settings, t, now=datetime.now(T0.tzinfo) + timedelta(seconds=1))
    assert report.delivered == 2  # msg_1 was asked for twice; it is one delivery, sent once
    assert [h.headers["webhook-id"] for h in receiver.hits[3:]] == ["msg_1", "msg_2"]
    assert all(h.accepted for h in receiver.hits)


def test_a_replayed_dead_delivery_gets_a_fresh_schedule(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Replay after fixing the receiver: one more failure must not make it dead straight away."""
    settings, t, ep = _setup(db_url, tmp_path, f"{receiver.base_url}/fail")
    with b.session(db_url) as s:
        b.event(s, t, [ep], msg_id="msg_1")
        s.execute(update(m.WebhookDelivery).values(status="dead", attempts=8, next_attempt_at=None))
    assert delivery.replay(settings, t, event_msg_id="msg_1") == 1
    delivery.deliver_due(settings, t, now=datetime.now(T0.tzinfo) + timedelta(seconds=1), rng=Midpoint())
    assert (_delivery(db_url).status, _delivery(db_url).attempts) == ("pending", 1)


def test_delivery_and_replay_are_tenant_scoped(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    settings, ta, ep_a = _setup(db_url, tmp_path, f"{receiver.base_url}/hook", "alpha")
    with b.session(db_url) as s:
        tb = b.tenant(s, "beta")
        ep_b = b.endpoint(s, Vault(settings), tb, f"{receiver.base_url}/hook", [RECEIVER_SECRET])
        b.event(s, ta, [ep_a], msg_id="msg_a")
        b.event(s, tb, [ep_b], msg_id="msg_b")
    assert delivery.deliver_due(settings, ta, now=T0).delivered == 1
    assert [h.headers["webhook-id"] for h in receiver.hits] == ["msg_a"]
    assert delivery.replay(settings, ta, event_msg_id="msg_b") == 0
    assert _delivery(db_url, "msg_b").status == "pending"


def test_an_endpoint_without_usable_secrets_fails_alone(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """A broken endpoint record (no secret) is our configuration bug: that delivery fails with the reason,
    the pass goes on with the others, nothing stays claimed."""
    settings, t, good = _setup(db_url, tmp_path, f"{receiver.base_url}/hook")
    with b.session(db_url) as s:
        broken = b.endpoint(s, Vault(settings), t, f"{receiver.base_url}/hook", [])
        b.event(s, t, [broken], msg_id="msg_broken")
        b.event(s, t, [good], msg_id="msg_good", due=T0 + timedelta(seconds=1))
    report = delivery.deliver_due(settings, t, now=T0 + timedelta(seconds=1))
    assert report.delivered == 1
    d = _delivery(db_url, "msg_broken")
    assert (d.status, d.claimed_at) == ("failed", None)
    assert "no_secrets" in (d.last_error or "")
