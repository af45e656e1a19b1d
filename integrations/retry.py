"""One retry policy for every vendor call: a pure decision table plus one loop (clock and sleep injected).

The rules (vendor-sync.md §3): honour Retry-After; jittered exponential backoff on 5xx and timeouts;
401 → refresh the access token once and retry, a second 401 → ReauthRequiredError; everything else is
raised at once for the caller to handle (quota, permissions, rejected rows, malformed pages).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from integrations.errors import (
    BudgetExhaustedError,
    IntegrationError,
    RateLimitError,
    ReauthRequiredError,
    TokenExpiredError,
    TransientError,
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
) -> T:
    """Call `fn` under the policy. `refresh` renews the access token (raises ReauthRequiredError if it can't).

    Raises:
        IntegrationError: the last error when retries are exhausted or the error is not retryable;
        ReauthRequiredError when the token is still refused after one refresh.
    """
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except IntegrationError as exc:
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
