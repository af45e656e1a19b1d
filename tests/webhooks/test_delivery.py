"""Retry schedule and disable rule (pure, table-driven) and real deliveries to a loopback receiver."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.webhooks.receiver import RECEIVER_SECRET, Receiver
from webhooks.delivery import (
    USER_AGENT,
    AttemptError,
    AttemptResult,
    RetrySchedule,
    deliver,
    should_disable,
)
from webhooks.errors import DeliveryError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
OLD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type":"account.band_changed","data":{"name":"Acme"}}'


class FixedRng:
    """Always returns the same draw: 0.0 = -jitter, 0.5 = no jitter, ~1.0 = +jitter."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


# ---------------------------------------------------------------- schedule (pure)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (1, timedelta(seconds=5)),
        (2, timedelta(minutes=5)),
        (3, timedelta(minutes=30)),
        (4, timedelta(hours=2)),
        (5, timedelta(hours=5)),
        (6, timedelta(hours=10)),
        (7, timedelta(hours=10)),
        (8, None),
        (50, None),
    ],
)
def test_default_schedule_without_jitter(attempt: int, expected: timedelta | None) -> None:
    got = RetrySchedule().next_attempt_at(attempt, T0, FixedRng(0.5))
    assert got == (None if expected is None else T0 + expected)


@pytest.mark.parametrize(
    ("draw", "factor"),
    [(0.0, 0.8), (0.25, 0.9), (0.5, 1.0), (0.75, 1.1), (0.999999, 1.2)],
    ids=["min", "low", "mid", "high", "max"],
)
def test_jitter_is_plus_minus_twenty_percent(draw: float, factor: float) -> None:
    got = RetrySchedule().next_attempt_at(4, T0, FixedRng(draw))
    assert got is not None
    assert (got - T0).total_seconds() == pytest.approx(7200 * factor, rel=1e-5)


def test_seeded_rng_stays_inside_the_band_over_the_whole_schedule() -> None:
    schedule = RetrySchedule()
    rng = random.Random(42)
    for attempt, base in enumerate(schedule.delays, start=1):
        got = schedule.next_attempt_at(attempt, T0, rng)
        assert got is not None
        assert 0.8 * base <= got - T0 <= 1.2 * base


def test_schedule_spans_about_a_day() -> None:
    schedule = RetrySchedule()
    assert schedule.max_attempts == 8
    assert timedelta(hours=20) <= sum(schedule.delays, timedelta()) <= timedelta(hours=30)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 5), (1.0, 5), (120.0, 120), (10**9, 36000)],
    ids=["absent", "shorter-than-schedule", "longer", "capped"],
)
def test_retry_after_is_honoured_and_capped(retry_after: float | None, expected: float) -> None:
    got = RetrySchedule().next_attempt_at(1, T0, FixedRng(0.5), retry_after=retry_after)
    assert got == T0 + timedelta(seconds=expected)


def test_schedule_validation() -> None:
    with pytest.raises(ValueError, match="jitter"):
        RetrySchedule(jitter=1.5)
    with pytest.raises(ValueError, match="positive"):
        RetrySchedule(delays=(timedelta(0),))
    with pytest.raises(ValueError, match="starts at 1"):
        RetrySchedule().next_attempt_at(0, T0, FixedRng(0.5))


@pytest.mark.parametrize(
    ("failures", "first_failure_after", "now_after", "last_status", "expected"),
    [
        (0, None, timedelta(0), None, False),
        (8, timedelta(0), timedelta(hours=23), None, False),
        (8, timedelta(0), timedelta(hours=24), None, True),
        (7, timedelta(0), timedelta(days=3), None, False),
        (500, timedelta(0), timedelta(minutes=30), None, False),
        (1, timedelta(0), timedelta(0), 410, True),
    ],
    ids=["healthy", "not-yet-a-day", "a-day-of-failures", "too-few-failures", "burst-outage", "gone"],
)
def test_should_disable(
    failures: int,
    first_failure_after: timedelta | None,
    now_after: timedelta,
    last_status: int | None,
    expected: bool,
) -> None:
    first = None if first_failure_after is None else T0 + first_failure_after
    assert should_disable(failures, first, T0 + now_after, last_status=last_status) is expected


def test_exhausted_schedule_implies_disable() -> None:
    """One event failing every attempt (no jitter) ends past the disable threshold."""
    schedule = RetrySchedule(jitter=0)
    now, attempt = T0, 1
    while (nxt := schedule.next_attempt_at(attempt, now, FixedRng(0.5))) is not None:
        now, attempt = nxt, attempt + 1
    assert attempt == schedule.max_attempts
    assert should_disable(attempt, T0, now)


# ---------------------------------------------------------------- deliver (real HTTP on loopback)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # a proxy from the environment must not intercept loopback tests
        yield s


def _deliver(
    url: str, session: requests.Session, secrets: Sequence[str] = (RECEIVER_SECRET,), **kwargs: Any
) -> AttemptResult:
    options: dict[str, Any] = {"allow_private": True, **kwargs}
    return deliver(
        url,
        list(secrets),
        "msg_01HK153X000000000000000000",
        BODY,
        session=session,
        now=datetime.now(UTC),  # the receiver's package checks the wall clock (±5 min)
        **options,
    )


def test_delivery_is_accepted_by_standardwebhooks(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/hook", session)
    assert result.ok
    assert result.status == 204
    assert result.error is None
    (hit,) = receiver.hits
    assert hit.accepted, hit.error
    assert hit.body == BODY
    assert hit.headers["webhook-id"] == "msg_01HK153X000000000000000000"
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["user-agent"] == USER_AGENT


def test_rotation_receiver_with_only_the_new_secret_accepts(
    receiver: Receiver, session: requests.Session
) -> None:
    result = _deliver(receiver.base_url + "/hook", session, secrets=(OLD_SECRET, RECEIVER_SECRET))
    assert result.ok
    assert len(receiver.hits[0].headers["webhook-signature"].split()) == 2
    assert receiver.hits[0].accepted


def test_receiver_with_other_secret_rejects(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/hook", session, secrets=(OLD_SECRET,))
    assert not result.ok
    assert result.status == 401
    assert result.error == AttemptError.HTTP_ERROR
    assert not receiver.hits[0].accepted


def test_retries_reuse_the_id_with_a_fresh_timestamp(receiver: Receiver, session: requests.Session) -> None:
    now = datetime.now(UTC)
    for offset in (0, 2):
        deliver(
            receiver.base_url + "/hook",
            [RECEIVER_SECRET],
            "msg_same",
            BODY,
            session=session,
            now=now + timedelta(seconds=offset),
            allow_private=True,
        )
    ids = {h.headers["webhook-id"] for h in receiver.hits}
    stamps = [int(h.headers["webhook-timestamp"]) for h in receiver.hits]
    assert ids == {"msg_same"}
    assert stamps[1] - stamps[0] == 2
    assert all(h.accepted for h in receiver.hits)


def test_redirect_is_not_followed(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/redirect", session)
    assert not result.ok
    assert result.status == 302
    assert result.error == AttemptError.REDIRECT_NOT_FOLLOWED
    assert "/hook" in result.detail
    assert receiver.paths() == ["/redirect"]


def test_response_is_truncated(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/big", session, max_response_bytes=100)
    assert result.ok
    assert result.response_excerpt == "x" * 100


def test_timeout_is_a_failed_attempt(receiver: Receiver, session: requests.Session) -> None:
    """The handler holds the response (≤ 2 s, released at teardown); our read timeout is 0.2 s."""
    result = _deliver(receiver.base_url + "/slow", session, timeout=(0.5, 0.2))
    assert not result.ok
    assert result.status is None
    assert result.error == AttemptError.TIMEOUT


def test_gone_and_throttle(receiver: Receiver, session: requests.Session) -> None:
    gone = _deliver(receiver.base_url + "/gone", session)
    assert gone.gone
    assert should_disable(1, T0, T0, last_status=gone.status)
    throttled = _deliver(receiver.base_url + "/throttle", session)
    assert throttled.status == 429
    assert throttled.retry_after == 120
    assert throttled.response_excerpt == "slow down"


def test_server_error_is_a_failure(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/fail", session)
    assert (result.ok, result.status, result.error) == (False, 500, AttemptError.HTTP_ERROR)


def test_loopback_is_refused_by_default_and_nothing_is_sent(
    receiver: Receiver, session: requests.Session
) -> None:
    result = _deliver(receiver.base_url + "/hook", session, allow_private=False)
    assert result.error == AttemptError.UNSAFE_TARGET
    assert "blocked_address" in result.detail
    assert receiver.hits == []


def test_connection_goes_to_the_vetted_address(receiver: Receiver, session: requests.Session) -> None:
    """The hostname never reaches DNS: we resolve it (fake) once and connect to that IP with its Host."""
    port = receiver.base_url.rsplit(":", 1)[1]
    lookups: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    result = _deliver(f"http://hooks.invalid:{port}/hook", session, resolver=resolver)
    assert result.ok
    assert lookups == ["hooks.invalid"]
    assert receiver.hits[0].headers["host"] == f"hooks.invalid:{port}"


def test_unpinned_mode_uses_the_session(receiver: Receiver, session: requests.Session) -> None:
    result = _deliver(receiver.base_url + "/hook", session, pin_address=False)
    assert result.ok
    assert receiver.hits[0].accepted


def test_connection_refused_is_a_failed_attempt(session: requests.Session) -> None:
    import socket

    with socket.socket() as sock:  # bind then close: a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _deliver(f"http://127.0.0.1:{port}/hook", session)
    assert (result.ok, result.error) == (False, AttemptError.CONNECTION_ERROR)


def test_secrets_never_reach_the_logs(
    receiver: Receiver, session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="webhooks")  # whatever an earlier in-process command set it to
    _deliver(receiver.base_url + "/hook", session)
    _deliver(receiver.base_url + "/fail", session)
    signature = receiver.hits[0].headers["webhook-signature"]
    assert RECEIVER_SECRET not in caplog.text
    assert RECEIVER_SECRET.removeprefix("whsec_") not in caplog.text
    assert signature.split(",", 1)[1] not in caplog.text
    assert "msg_01HK153X000000000000000000" in caplog.text  # the id is what operators correlate on


@pytest.mark.parametrize("secrets", [[], ["whsec_***"]], ids=["none", "unusable"])
def test_bad_secrets_are_a_configuration_error(secrets: list[str], session: requests.Session) -> None:
    with pytest.raises(DeliveryError) as info:
        _deliver("https://hooks.example.com/", session, secrets=secrets)
    assert info.value.reason in {"no_secrets", "bad_secret"}


def test_bad_event_id_and_naive_clock_are_configuration_errors(session: requests.Session) -> None:
    with pytest.raises(DeliveryError, match="bad_msg_id"):
        deliver("https://hooks.example.com/", [RECEIVER_SECRET], "msg.1", BODY, session=session, now=T0)
    naive = datetime(2024, 1, 1)  # noqa: DTZ001
    with pytest.raises(DeliveryError, match="naive_now"):
        deliver("https://hooks.example.com/", [RECEIVER_SECRET], "msg_1", BODY, session=session, now=naive)


@pytest.mark.parametrize(
    ("host", "ok"), [("hooks.test", True), ("other.test", False)], ids=["cert-matches", "mismatch"]
)
def test_https_pinning_keeps_sni_and_certificate_checks(
    tls_receiver: tuple[Receiver, str], session: requests.Session, host: str, ok: bool
) -> None:
    """We connect to the vetted 127.0.0.1 but TLS still verifies the URL's hostname against the cert."""
    receiver, bundle = tls_receiver
    session.verify = bundle
    port = receiver.base_url.rsplit(":", 1)[1]
    result = _deliver(f"https://{host}:{port}/hook", session, resolver=lambda _h, _p: ["127.0.0.1"])
    assert result.ok is ok
    if ok:
        assert receiver.hits[0].accepted
        assert receiver.hits[0].headers["host"] == f"hooks.test:{port}"
    else:
        assert result.error == AttemptError.TLS_ERROR
        assert receiver.hits == []
