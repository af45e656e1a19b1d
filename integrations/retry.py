"""One retry policy for every vendor call: a pure decision table plus one loop (clock and sleep injected).

The rules (vendor-sync.md §3): honour Retry-After; jittered exponential backoff on 5xx and timeouts;
401 → refresh the access token once and retry, a second 401 → ReauthRequiredError; a connection refused
(or a host name not found) before the vendor answered anything in this pass → UnreachableError at once
(`Reach`); everything else is raised at once for the caller to handle (quota, permissions, rejected rows,
malformed pages).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from integrations.errors import (
    BudgetExhaustedError,
    IntegrationError,
    RateLimitError,
    ReauthRequiredError,
    TokenExpiredError,
    TransientError,
    UnreachableError,
    unreachable_cause,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
Action = Literal["retry", "refresh", "raise"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_retry_after: float = 120.0  # a longer Retry-After is not slept through: the run re-enqueues instead


@dataclass(slots=True)
class Reach:
    """Whether the vendor at `url` has answered yet: one per adapter, i.e. per installation and pass.

    Until it has, a refused connection means the vendor is down or the URL is wrong, and four backoff waits
    per stream only delay the report (~35 s per tenant): `call_with_retry` raises UnreachableError at once.
    Once it has answered, a refusal is a restart mid-pass and is retried like any transient error."""

    url: str
    answered: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay: float = 0.0


def decide(
    error: IntegrationError,
    attempt: int,
    refreshed: bool,
    policy: RetryPolicy = RetryPolicy(),
    rng: random.Random | None = None,
) -> Decision:
    """What to do after `error` on the `attempt`-th try (1-based). Pure apart from the injected rng."""
    if isinstance(error, TokenExpiredError):
        return Decision("raise") if refreshed else Decision("refresh")
    if not isinstance(error, TransientError) or attempt >= policy.max_attempts:
        return Decision("raise")
    if isinstance(error, UnreachableError):  # nobody listens: backoff within the pass does not help
        return Decision("raise")
    if isinstance(error, BudgetExhaustedError):  # our own budget: re-queue, never sleep in a worker
        return Decision("raise")
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return Decision("raise")
        if error.retry_after >= 0:
            return Decision("retry", error.retry_after)
        # "Retry-After: nan" / "-1" parse as floats that no sleep accepts (ValueError): back off instead.
    backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    jitter = (rng or random.Random()).uniform(0.5, 1.0)  # "equal jitter": never zero, never above backoff
    return Decision("retry", backoff * jitter)


def call_with_retry(
    fn: Callable[[], T],
    *,
    vendor: str,
    refresh: Callable[[], None] | None,
    sleep: Callable[[float], None],
    policy: RetryPolicy = RetryPolicy(),
    rng: random.Random | None = None,
    reach: Reach | None = None,
) -> T:
    """Call `fn` under the policy. `refresh` renews the access token (raises ReauthRequiredError if it can't).
    `reach`: the adapter's record of whether the vendor has answered in this pass (see Reach).

    Raises:
        IntegrationError: the last error when retries are exhausted or the error is not retryable;
        ReauthRequiredError when the token is still refused after one refresh;
        UnreachableError when no connection could be opened before the vendor ever answered.
    """
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            result = fn()
        except IntegrationError as exc:
            if reach is not None:
                _unreachable_at_once(exc, vendor, reach)
            decision = decide(exc, attempt, refreshed, policy, rng)
            if decision.action == "refresh":
                if refresh is None:
                    raise ReauthRequiredError(vendor, "access token refused and no refresh token") from exc
                refresh()
                refreshed = True
                continue
            if decision.action == "raise":
                if isinstance(exc, TokenExpiredError):
                    raise ReauthRequiredError(vendor, "access token refused right after a refresh") from exc
                raise
            logger.info(
                "retrying %s call in %.2fs (attempt %d): %s",
                vendor,
                decision.delay,
                attempt,
                type(exc).__name__,
                extra={"vendor": vendor},
            )
            sleep(decision.delay)
        else:
            if reach is not None:
                reach.answered = True
            return result


def _unreachable_at_once(exc: IntegrationError, vendor: str, reach: Reach) -> None:
    """Raise UnreachableError for a refused connection before any answer; note an answer (an HTTP error is
    one) otherwise."""
    if isinstance(exc, UnreachableError):
        raise exc
    cause = unreachable_cause(exc)
    if cause is None:
        if not isinstance(exc, TransientError):  # 4xx-class: the vendor answered (5xx, timeouts: unknown)
            reach.answered = True
        return
    if not reach.answered:
        raise UnreachableError(vendor, f"unreachable at {reach.url} ({cause})") from exc
