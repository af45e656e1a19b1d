"""Budgets per API key, per client address, per workspace and per vendor installation (security audit,
finding B), and the 429 answers that go with them.

Flask-Limiter's decorators key a route before the view knows who is asking; these budgets are spent where
the identity is known: after the API key is resolved (api.py), after a backtest's model validates, after a
vendor webhook's signature verifies (inbound.py). They live in Flask-Limiter's storage (`limits`, fixed
windows): memory in one process, Redis in production, so every worker and machine spends one budget.
Each app has a storage of its own (the module-level Flask-Limiter instance keeps only the last app's).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

from connector.config import Settings
from connector.web.errors import error_page, problem, wants_json

logger = logging.getLogger(__name__)
EXTENSION = "healthscore.budgets"
KINDS = {
    "api": "api_rate_limit",
    "api_unauthenticated": "api_unauthenticated_rate_limit",
    "backtest": "backtest_rate_limit",
    "inbound": "inbound_rate_limit",
    "card": "card_rate_limit",
}
WARN_EVERY_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Breach:
    """A spent budget: which limit, and the whole seconds until its window resets (at least 1)."""

    limit: str
    retry_after: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """What is left of a budget, for the X-RateLimit-* headers: its tightest window (the fewest requests
    left; of equals, the one resetting last), as Flask-Limiter reports its own limits."""

    limit: int  # requests the window allows
    remaining: int
    reset: int  # when the window resets, epoch seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class Budgets:
    """The rate limits of one app over one storage; `spend` and `exhausted` answer None or a Breach."""

    def __init__(self, storage_uri: str, settings: Settings) -> None:
        self._strategy = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._limits: dict[str, list[RateLimitItem]] = {
            kind: parse_many(getattr(settings, name)) for kind, name in KINDS.items()
        }
        self._warned = 0.0

    def spend(self, kind: str, key: str) -> Breach | None:
        """Count one request against every window of `kind` for `key`; a Breach once one is spent."""
        return self._check(kind, key, spend=True)

    def exhausted(self, kind: str, key: str) -> Breach | None:
        """Like `spend`, without counting this request (for budgets only failures spend)."""
        return self._check(kind, key, spend=False)

    def quota(self, kind: str, key: str) -> Quota | None:
        """What is left of `kind`'s budget for `key` (None when the storage cannot say: fail open)."""
        found: list[Quota] = []
        try:
            for item in self._limits[kind]:
                stats = self._strategy.get_window_stats(item, "healthscore", kind, key)
                reset = math.ceil(stats.reset_time)
                found.append(Quota(limit=item.amount, remaining=max(0, stats.remaining), reset=reset))
        except (OSError, RedisError, StorageError) as exc:
            self._storage_down(exc)
            return None
        return min(found, key=lambda q: (q.remaining, -q.reset), default=None)

    def _check(self, kind: str, key: str, *, spend: bool) -> Breach | None:
        test = self._strategy.hit if spend else self._strategy.test
        try:
            for item in self._limits[kind]:
                if not test(item, "healthscore", kind, key):
                    reset = self._strategy.get_window_stats(item, "healthscore", kind, key).reset_time
                    return Breach(limit=str(item), retry_after=max(1, math.ceil(reset - time.time())))
        except (OSError, RedisError, StorageError) as exc:  # redis-py's errors are not OSErrors
            self._storage_down(exc)
        return None

    def _storage_down(self, exc: Exception) -> None:
        """Fail open: an unreachable storage must not turn every API call and webhook into an error;
        say so at most once a minute (at 1,000 webhooks/s a line per request would flood the log)."""
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            logger.warning("rate limits not enforced: storage unavailable (%s)", type(exc).__name__)


def budgets() -> Budgets:
    value: Budgets = current_app.extensions[EXTENSION]
    return value


def api_too_many(breach: Breach, whose: str, hint: str) -> Response:
    """The API's 429: a problem document with the limit, `retry_after` and a Retry-After header."""
    resp = problem(
        429,
        "too_many_requests",
        f"Too many requests {whose}: the limit is {breach.limit}.",
        f"Wait {breach.retry_after} s (Retry-After), then retry. {hint}",
        limit=breach.limit,
        retry_after=breach.retry_after,
    )
    resp.headers["Retry-After"] = str(breach.retry_after)
    return resp


def init_app(app: Flask) -> None:
    from connector.web.security import _storage_uri

    app.extensions[EXTENSION] = Budgets(
        app.config.get("RATELIMIT_STORAGE_URI") or _storage_uri(app), app.config["HEALTHSCORE"]
    )

    @app.errorhandler(RateLimitExceeded)
    def _limited(exc: RateLimitExceeded) -> Any:
        # The decorated limits (sign-in, the HubSpot card): say what happened in words, not "5 per 1 minute";
        # Flask-Limiter adds Retry-After after this handler.
        limit = str(exc.limit.limit)
        if wants_json() or request.path.startswith("/embed/"):
            return problem(
                429,
                "too_many_requests",
                f"Too many requests: the limit here is {limit}.",
                "Wait for the time in Retry-After, then try again.",
                limit=limit,
            )
        return error_page(429, f"The limit here is {limit}, and it is used up for now.")
