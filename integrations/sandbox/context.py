"""Shared state of a running sandbox set: the book, vendor-side state, faults, call counters, clock.

The three vendor WSGI apps (salesforce.py, hubspot.py, zendesk.py) and the control API (control.py) all
hold one `SandboxContext`. Vendor apps must:
- call `ctx.counters.record(vendor, key)` and then `ctx.faults.take(vendor, key)` once per request, where
  `key` is `"<METHOD> <url rule>"` (e.g. `"GET /services/data/v59.0/query/"`), and render a returned fault
  in their own vendor's wire format (429 + Retry-After, 5xx body, 401 expired token, ...);
- refuse an API call that `ctx.limits.admit(vendor)` refuses, in their vendor's wire format (limits.py);
- take `ctx.lock` while reading or changing the book or vendor state (servers are threaded);
- stamp modifications with `ctx.book.now` (the sandbox clock), never the wall clock.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from integrations.sandbox.book import Book
from integrations.sandbox.limits import RateLimits

FaultKind = Literal[
    "rate_limit",  # 429 with Retry-After (seconds in `retry_after`)
    "server_error",  # 500/502/503 (`status`)
    "slow",  # sleep `delay` seconds then answer normally
    "timeout",  # sleep `delay` seconds (longer than the client's timeout), then 504
    "expired_token",  # 401 as the vendor sends it for an expired access token
    "revoked_refresh",  # the token endpoint refuses the refresh token (invalid_grant)
    "reject_rows",  # batch writes: reject the rows whose ids are in `ids` (or every `every`-th row)
    "malformed_page",  # a 200 whose body is not the documented shape
    "quota",  # Salesforce REQUEST_LIMIT_EXCEEDED (403)
]


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    status: int = 500
    retry_after: float = 1.0
    delay: float = 0.0
    ids: tuple[str, ...] = ()
    every: int = 0
    message: str = ""


@dataclass(slots=True)
class _Rule:
    vendor: str
    pattern: str  # fnmatch pattern over "<METHOD> <url rule>"; "*" = every endpoint
    fault: Fault
    remaining: int | None  # scripted: fires this many times then disappears; None = rate-based
    rate: float = 1.0


class Faults:
    """Fault injection, settable per vendor and endpoint, as scripted sequences or as rates."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def script(self, vendor: str, pattern: str, fault: Fault, times: int = 1) -> None:
        """The next `times` matching calls get `fault` (queued after earlier scripts for the same calls)."""
        with self._lock:
            self._rules.append(_Rule(vendor, pattern, fault, remaining=times))

    def rate(self, vendor: str, pattern: str, fault: Fault, rate: float) -> None:
        """Each matching call gets `fault` with probability `rate` (0..1) until cleared."""
        with self._lock:
            self._rules.append(_Rule(vendor, pattern, fault, remaining=None, rate=rate))

    def clear(self, vendor: str | None = None) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if vendor is not None and r.vendor != vendor]

    def take(self, vendor: str, key: str) -> Fault | None:
        """The fault for this call, if any; consumes one use of a scripted fault."""
        with self._lock:
            for rule in self._rules:
                if rule.vendor != vendor or not fnmatch.fnmatchcase(key, rule.pattern):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule.fault
                if self._rng.random() < rule.rate:
                    return rule.fault
            return None

    def peek(self, vendor: str, key: str, kind: FaultKind) -> Fault | None:
        """A matching fault of `kind` without consuming it (for row-level faults read inside a handler)."""
        with self._lock:
            for rule in self._rules:
                if (
                    rule.vendor == vendor
                    and rule.fault.kind == kind
                    and fnmatch.fnmatchcase(key, rule.pattern)
                ):
                    return rule.fault
            return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "vendor": r.vendor,
                    "pattern": r.pattern,
                    "kind": r.fault.kind,
                    "remaining": r.remaining,
                    "rate": r.rate,
                }
                for r in self._rules
            ]


class Counters:
    """Exact counts of calls per vendor and `"<METHOD> <url rule>"`."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, vendor: str, key: str) -> None:
        with self._lock:
            self._counts[(vendor, key)] += 1

    def get(self, vendor: str, pattern: str = "*") -> int:
        with self._lock:
            return sum(
                n for (v, k), n in self._counts.items() if v == vendor and fnmatch.fnmatchcase(k, pattern)
            )

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (v, k), n in sorted(self._counts.items()):
                out.setdefault(v, {})[k] = n
            return out

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass(slots=True)
class OAuthClient:
    client_id: str
    client_secret: str
    access_ttl: timedelta  # HubSpot 30 min, Zendesk 2 h (with refresh), Salesforce ~2 h session


@dataclass(slots=True)
class VendorState:
    """What one vendor remembers besides the book: tokens, fields, values our product wrote."""

    vendor: str
    oauth: OAuthClient
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expiry (sandbox clock)
    refresh_tokens: set[str] = field(default_factory=set)
    auth_codes: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # code -> {redirect_uri, challenge, ...}
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # our fields, by vendor field name
    written: dict[str, dict[str, Any]] = field(default_factory=dict)  # record id -> field -> value we wrote
    webhook_url: str | None = None  # where the sandbox sends this vendor's signed webhooks
    webhook_secret: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


WebhookSink = Callable[[str, dict[str, Any]], None]  # (vendor, event) -> None; set by the server module


@dataclass(slots=True)
class SandboxContext:
    """Everything the vendor apps and the control API share."""

    book: Book
    vendors: dict[str, VendorState]
    faults: Faults
    counters: Counters = field(default_factory=Counters)
    lock: threading.RLock = field(default_factory=threading.RLock)
    base_urls: dict[str, str] = field(default_factory=dict)  # vendor -> https://127.0.0.1:PORT
    on_change: list[Callable[[str, list[str]], None]] = field(default_factory=list)  # (kind, keys) hooks
    limits: RateLimits = field(default_factory=RateLimits)  # the vendors' API limits; none by default
    # Read caches that trust the book to change only through ticks, restores and the vendor APIs (a served
    # sandbox); None (tests, which edit the book in place) re-checks the book on every request.
    read_cache: dict[Any, Any] | None = None
    read_epoch: int = 0  # bumped by edited(): the per-app caches that trust the book start again
    # With read caches: each app's index builds, run when a tick changed the book (SandboxSet.tick), so
    # the first vendor request after it does not build them over the whole book (issue 17).
    warmers: list[Callable[[], None]] = field(default_factory=list)

    def edited(self) -> None:
        """The book was edited in place (as an agent edits a ticket in the vendor's UI; a benchmark's
        trial): the served read caches are dropped, so the next read sees the edit."""
        self.read_epoch += 1
        if self.read_cache is not None:
            self.read_cache.clear()

    @property
    def now(self) -> datetime:
        return self.book.now
