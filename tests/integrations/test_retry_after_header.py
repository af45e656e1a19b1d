"""Security (audit 4): HubSpot and Zendesk read Retry-After with float(), so a vendor (or a proxy on the
way) answering 429 with `Retry-After: nan` or `-1` made the retry loop call sleep(nan) / sleep(-1):
time.sleep raises ValueError, which is not an IntegrationError and escaped the adapter call. Such a wait
is ignored and the normal jittered backoff applies."""

from __future__ import annotations

import math
import random

import pytest

from integrations.errors import RateLimitError
from integrations.retry import RetryPolicy, call_with_retry, decide


def strict_sleep(seconds: float) -> None:
    """What time.sleep accepts."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"sleep({seconds})")


@pytest.mark.parametrize("header", ["nan", "-1", "-inf"])
def test_a_retry_after_no_sleep_accepts_backs_off_instead(header: str) -> None:
    error = RateLimitError("hubspot", "rate limited", retry_after=float(header))
    decision = decide(error, 1, False, RetryPolicy(), random.Random(0))
    assert decision.action == "retry"
    assert 0 < decision.delay <= RetryPolicy().base_delay
    calls = iter([error])

    def fn() -> str:
        for exc in calls:
            raise exc
        return "ok"

    assert call_with_retry(fn, vendor="hubspot", refresh=None, sleep=strict_sleep) == "ok"


def test_a_real_retry_after_is_still_honoured() -> None:
    error = RateLimitError("zendesk", "rate limited", retry_after=7.0)
    assert decide(error, 1, False, RetryPolicy()).delay == 7.0
    assert (
        decide(RateLimitError("zendesk", "x", retry_after=600.0), 1, False, RetryPolicy()).action == "raise"
    )
