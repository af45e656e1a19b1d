"""Security (audit 4): a receiver's Retry-After is capped before it becomes a timedelta. A 503 with
`Retry-After: 100000000000000` (or 400 nines, which float() makes inf) raised OverflowError in
RetrySchedule.next_attempt_at, inside connector.pipeline.delivery._attempt: the pass over every tenant's
due deliveries stopped there, and the delivery, still claimed and never counted, came back after the claim
timeout to do it again (never dead, never disabled)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from webhooks.delivery import RetrySchedule, _parse_retry_after

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize("header", ["100000000000000", "9" * 400, "86400000000000"])
def test_a_huge_retry_after_waits_the_cap(header: str) -> None:
    retry_after = _parse_retry_after(header, NOW)
    schedule = RetrySchedule()
    got = schedule.next_attempt_at(1, NOW, random.Random(0), retry_after=retry_after)
    assert got == NOW + schedule.max_retry_after


def test_a_small_retry_after_still_counts() -> None:
    got = RetrySchedule(jitter=0).next_attempt_at(1, NOW, random.Random(0), retry_after=120)
    assert got == NOW + timedelta(seconds=120)
