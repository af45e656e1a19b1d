"""The vendors' documented API limits, enforced by the sandboxes when asked (`sandbox serve --rate-limits
real`; off by default so tests and the demo never wait on them).

Each limit is a rolling window kept as a log of the admitted requests' times (a monotonic wall clock: a
rate limit is about real seconds, not the simulated book clock):

- HubSpot: 100 requests per rolling 10 s (TEN_SECONDLY_ROLLING, Free/Starter apps) and 250,000 a day
  (DAILY); a refused request gets 429 with HubSpot's error body and X-HubSpot-RateLimit-* headers
  (HubSpot does not promise Retry-After, so none is sent).
- Zendesk: 700 requests per rolling minute (Enterprise plan); 429 + Retry-After (whole seconds until a
  slot frees).
- Salesforce: the org's daily API request limit over a rolling 24 h (schema.DAILY_API_LIMIT, a Developer
  Edition org's 15,000); 403 REQUEST_LIMIT_EXCEEDED, as Salesforce answers once the limit is spent.

A refused request is not counted against the windows (it did no work). Only API calls count: the OAuth
token endpoints are outside these limits. Tests may build a `RateLimits` with tighter windows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Window = tuple[int, float]  # (requests, seconds)

HUBSPOT_DAILY = 250_000
SALESFORCE_DAILY = 15_000  # = salesforce.schema.DAILY_API_LIMIT (a test pins them equal; no import circle)


def limits_for(mode: str) -> RateLimits:
    """The limits of a mode: "real" (the vendors' documented limits) or "off" (none)."""
    if mode == "off":
        return RateLimits()
    if mode == "real":
        return RateLimits(real_windows())
    raise ValueError(f"rate limits must be 'real' or 'off', not {mode!r}")


def real_windows(salesforce_daily: int = SALESFORCE_DAILY) -> dict[str, tuple[Window, ...]]:
    """The documented limits per vendor, shortest window first."""
    return {
        "hubspot": ((100, 10.0), (HUBSPOT_DAILY, 86_400.0)),
        "zendesk": ((700, 60.0),),
        "salesforce": ((salesforce_daily, 86_400.0),),
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: the window it would overflow and when a slot frees (seconds)."""

    window: Window
    retry_after: float


class RateLimits:
    """Rolling-window admission per vendor; thread-safe (the vendor servers are threaded)."""

    def __init__(
        self,
        windows: Mapping[str, Sequence[Window]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._windows = {v: tuple(ws) for v, ws in (windows or {}).items()}
        self._log: dict[str, deque[float]] = {v: deque() for v in self._windows}
        self._clock = clock
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {v: 0 for v in self._windows}

    @property
    def enabled(self) -> bool:
        return any(self._windows.values())

    def admit(self, vendor: str) -> Refusal | None:
        """Record one request of `vendor` and return None, or refuse it (nothing recorded)."""
        windows = self._windows.get(vendor)
        if not windows:
            return None
        with self._lock:
            now = self._clock()
            log = self._log[vendor]
            longest = max(seconds for _, seconds in windows)
            while log and log[0] <= now - longest:
                log.popleft()
            for cap, seconds in windows:
                in_window = _count_since(log, now - seconds)
                if in_window >= cap:
                    # The request that frees a slot is the cap-th newest one; it leaves at its time + window.
                    oldest_that_counts = log[len(log) - cap]
                    self.refused[vendor] += 1
                    return Refusal((cap, seconds), max(0.001, oldest_that_counts + seconds - now))
            log.append(now)
            return None

    def remaining(self, vendor: str) -> int | None:
        """Requests left in the vendor's shortest window (rate-limit headers); None without limits."""
        windows = self._windows.get(vendor)
        if not windows:
            return None
        cap, seconds = windows[0]
        with self._lock:
            return max(0, cap - _count_since(self._log[vendor], self._clock() - seconds))

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                v: {"windows": [list(w) for w in ws], "refused": self.refused.get(v, 0)}
                for v, ws in self._windows.items()
            }


def _count_since(log: deque[float], since: float) -> int:
    """How many logged times are after `since` (the log is sorted: bisect on the deque's index)."""
    lo, hi = 0, len(log)
    while lo < hi:
        mid = (lo + hi) // 2
        if log[mid] <= since:
            lo = mid + 1
        else:
            hi = mid
    return len(log) - lo
