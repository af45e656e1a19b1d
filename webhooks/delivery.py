"""Outbound delivery: the retry schedule and disable rule (pure) and one signed POST attempt (I/O).

Delivery norms follow Standard Webhooks and Svix (docs.svix.com/retries): only 2xx is success, a 3xx is a
failure and is never followed, 410 Gone means "disable this endpoint", Retry-After is honoured, attempts
spread over about a day with jitter. The outbox (connector/pipeline/outbox.py) stores the event id and body once
and calls `deliver` per attempt, so every retry carries the same ``webhook-id`` and a fresh timestamp.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

import requests

from webhooks.errors import DeliveryError, UnsafeTargetError
from webhooks.signing import decode_secret, sign_headers
from webhooks.ssrf import Resolver, check_url, resolve_host
from webhooks.transport import AttemptAdapter, PinnedAdapter, clean_excerpt, read_excerpt, send

logger = logging.getLogger(__name__)

USER_AGENT = "healthscore-webhooks/1"
DEFAULT_TIMEOUT = (3.05, 10.0)
# Delays between attempts (Svix's published schedule): 8 attempts over ~27.6 h before giving up.
DEFAULT_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DEFAULT_DISABLE_AFTER = timedelta(hours=24)
STATUS_GONE = 410
LOCATION_CHARS = 200  # of a redirect's Location kept with the attempt


class Rng(Protocol):
    """The part of `random.Random` the schedule needs (inject a seeded one in tests)."""

    def random(self) -> float: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySchedule:
    """Exponential-ish backoff with ±``jitter`` spread; attempt 1 is immediate."""

    delays: tuple[timedelta, ...] = DEFAULT_DELAYS
    jitter: float = 0.2
    # A hostile Retry-After must not park an event for days.
    max_retry_after: timedelta = timedelta(hours=10)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.jitter < 1:
            problems.append("jitter must be in [0, 1)")
        if any(d <= timedelta(0) for d in self.delays):
            problems.append("every delay must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def max_attempts(self) -> int:
        """Total attempts including the first, immediate one."""
        return len(self.delays) + 1

    def next_attempt_at(
        self, attempt: int, now: datetime, rng: Rng, *, retry_after: float | None = None
    ) -> datetime | None:
        """When to make the attempt after failed attempt number ``attempt`` (1-based); None = give up."""
        if attempt < 1:
            raise ValueError("attempt counts failed attempts and starts at 1")
        if attempt > len(self.delays):
            return None
        factor = 1 + self.jitter * (2 * rng.random() - 1)
        delay = self.delays[attempt - 1] * factor
        if retry_after is not None and retry_after > 0:
            # Capped before it becomes a timedelta: a receiver's "Retry-After: 100000000000000" (or 400
            # digits: inf) raised OverflowError there, which stopped the whole delivery pass.
            wait = min(retry_after, self.max_retry_after.total_seconds())
            delay = max(delay, timedelta(seconds=wait))
        return now + delay


def should_disable(
    consecutive_failures: int,
    first_failure_at: datetime | None,
    now: datetime,
    *,
    min_failures: int = len(DEFAULT_DELAYS) + 1,
    min_duration: timedelta = DEFAULT_DISABLE_AFTER,
    last_status: int | None = None,
) -> bool:
    """True when an endpoint should be disabled (and its owner told).

    410 Gone disables at once (Standard Webhooks). Otherwise both must hold: at least ``min_failures``
    failures in a row (by default one event's whole schedule) and the streak has lasted ``min_duration``,
    so a short outage with many queued events does not disable a healthy receiver.
    """
    if last_status == STATUS_GONE:
        return True
    if first_failure_at is None or consecutive_failures < min_failures:
        return False
    return now - first_failure_at >= min_duration


class AttemptError(StrEnum):
    """Why one attempt failed (stored with the attempt; never contains secrets)."""

    UNSAFE_TARGET = "unsafe_target"
    REDIRECT_NOT_FOLLOWED = "redirect_not_followed"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    TLS_ERROR = "tls_error"
    REQUEST_ERROR = "request_error"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptResult:
    """The outcome of one POST; ``ok`` is True only for a 2xx."""

    status: int | None
    latency_ms: int
    response_excerpt: str
    ok: bool
    error: AttemptError | None
    detail: str = ""
    retry_after: float | None = None  # seconds, from the receiver's Retry-After header

    @property
    def gone(self) -> bool:
        """The receiver answered 410: disable the endpoint now."""
        return self.status == STATUS_GONE


_DELAY_SECONDS = re.compile(r"[0-9]+")


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a receiver's Retry-After (delay-seconds or an HTTP date), None when unreadable.

    The receiver is anyone's server: str.isdigit() accepts '²' (one Latin-1 header byte), which float()
    refuses, and an HTTP date in the year 99999999999 overflows. Either raised out of `deliver` and stopped
    the delivery run for every workspace (audit 11), so only ASCII digits count as seconds and nothing the
    date parser raises leaves here."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
        return max((when - now).total_seconds(), 0.0) if when.tzinfo else None
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _classify(exc: requests.RequestException) -> AttemptError:
    if isinstance(exc, requests.Timeout):
        return AttemptError.TIMEOUT
    if isinstance(exc, requests.exceptions.SSLError):
        return AttemptError.TLS_ERROR
    if isinstance(exc, requests.ConnectionError):
        return AttemptError.CONNECTION_ERROR
    return AttemptError.REQUEST_ERROR


def _check_inputs(secrets: Sequence[str], msg_id: str, now: datetime) -> None:
    if not secrets or isinstance(secrets, str):
        raise DeliveryError("no_secrets", "pass a non-empty list of whsec_ secrets")
    try:
        for secret in secrets:
            decode_secret(secret)
    except ValueError as exc:
        raise DeliveryError("bad_secret", str(exc)) from exc
    if not msg_id or "." in msg_id:
        raise DeliveryError("bad_msg_id", "the event id must be non-empty and contain no '.'")
    if now.tzinfo is None:
        raise DeliveryError("naive_now", "now must be timezone-aware")


def deliver(
    endpoint_url: str,
    secrets: Sequence[str],
    msg_id: str,
    body: bytes,
    *,
    session: requests.Session,
    now: datetime,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    require_https: bool = False,
    max_response_bytes: int = 4096,
    resolver: Resolver = resolve_host,
    pin_address: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> AttemptResult:
    """Sign and POST ``body`` once; network and HTTP failures come back as a failed `AttemptResult`.

    The SSRF guard runs right before the send. With ``pin_address`` (default) the connection goes to the
    vetted IP; set it False only when an egress proxy on the session (its ``proxies`` or the environment's)
    does the vetting. Either way the status line and headers must arrive within connect + read timeout
    and the body excerpt within one more read timeout, so a dripping receiver cannot hold the worker.

    Raises:
        DeliveryError: no/unusable secrets, a bad event id or a naive ``now`` (our bug, not the receiver's).
    """
    _check_inputs(secrets, msg_id, now)
    started = clock()

    def elapsed() -> int:
        return max(int((clock() - started) * 1000), 0)

    try:
        target = check_url(
            endpoint_url, allow_private=allow_private, require_https=require_https, resolver=resolver
        )
    except UnsafeTargetError as exc:
        logger.warning("webhook %s refused: %s", msg_id, exc.reason)
        return AttemptResult(
            status=None, latency_ms=elapsed(), response_excerpt="", ok=False,
            error=AttemptError.UNSAFE_TARGET, detail=str(exc),
        )  # fmt: skip
    headers = {
        **sign_headers(msg_id, int(now.timestamp()), body, secrets),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    adapter = PinnedAdapter(target) if pin_address else AttemptAdapter()
    try:
        response = send(session, adapter, target, headers, body, timeout)
        with response:
            excerpt = read_excerpt(response, max_response_bytes, deadline=clock() + timeout[1], clock=clock)
            status = response.status_code
            location = response.headers.get("Location", "")
            retry_after = _parse_retry_after(response.headers.get("Retry-After"), now)
    except requests.RequestException as exc:
        error = _classify(exc)
        logger.info("webhook %s attempt failed: %s", msg_id, error)
        return AttemptResult(
            status=None, latency_ms=elapsed(), response_excerpt="", ok=False,
            error=error, detail=type(exc).__name__,
        )  # fmt: skip
    finally:
        adapter.close()  # one pool per attempt: a pinned connection is never reused for another address
    logger.info("webhook %s attempt: status=%s", msg_id, status)
    return _from_status(status, elapsed(), excerpt, location, retry_after)


def _from_status(
    status: int, latency_ms: int, excerpt: str, location: str, retry_after: float | None
) -> AttemptResult:
    ok = 200 <= status < 300
    failure: AttemptError | None = None
    detail = ""
    if 300 <= status < 400:
        # The receiver's Location is stored (last_error) and shown: inert like the body's excerpt. As sent, a
        # NUL in it made PostgreSQL refuse the row and stopped the delivery run for every workspace (audit 11).
        failure = AttemptError.REDIRECT_NOT_FOLLOWED
        detail = f"HTTP {status} to {clean_excerpt(location, LOCATION_CHARS)}"
    elif not ok:
        failure, detail = AttemptError.HTTP_ERROR, f"HTTP {status}"
    return AttemptResult(
        status=status, latency_ms=latency_ms, response_excerpt=excerpt, ok=ok,
        error=failure, detail=detail, retry_after=None if ok else retry_after,
    )  # fmt: skip
