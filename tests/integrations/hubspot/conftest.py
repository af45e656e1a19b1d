"""Fixtures: a hand-built Book served by the HubSpot sandbox over TLS, and an adapter bound to it.

The adapter's clock is the sandbox clock and its sleep records instead of sleeping, so tests can move time
(token expiry) and assert Retry-After waits without real sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from integrations.hubspot.adapter import HubSpotAdapter
from integrations.oauth import TokenSet
from integrations.registry import Connection
from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Book
from tests.integrations.hubspot.book_factory import Served, make_book, reset, serve


@dataclass
class Harness:
    """A served sandbox plus what the adapter's Connection recorded."""

    served: Served
    sleeps: list[float] = field(default_factory=list)
    saved: list[TokenSet] = field(default_factory=list)

    @property
    def ctx(self) -> hs.SandboxContext:
        return self.served.ctx

    def calls(self, pattern: str = "*") -> int:
        return self.ctx.counters.get(hs.VENDOR, pattern)

    def names(self) -> int:
        """Name lookups (owners, pipeline stages): one each per adapter at most, when a page needs names."""
        return self.calls("GET /crm/v3/owners*") + self.calls("GET /crm/v3/pipelines/*")

    def connection(self, *, tokens: TokenSet | None = None, **overrides: object) -> Connection:
        state = self.served.state
        if tokens is None:
            now = self.ctx.now
            body = hs.issue_tokens(state, now, hs.DEFAULT_SCOPES)
            tokens = TokenSet(
                access_token=body["access_token"],
                refresh_token=body["refresh_token"],
                expires_at=now + timedelta(seconds=body["expires_in"]),
            )
        values: dict[str, object] = {
            "vendor": "hubspot",
            "base_url": self.served.base_url,
            "token_url": f"{self.served.base_url}/oauth/v1/token",
            "client_id": state.oauth.client_id,
            "client_secret": state.oauth.client_secret,
            "tokens": tokens,
            "save_tokens": self.saved.append,
            "ca_file": self.served.ca_file,
            "sleep": self.sleeps.append,
            "clock": lambda: self.ctx.now,
            "timeout": 10.0,
        }
        values.update(overrides)
        return Connection(**values)  # type: ignore[arg-type]

    def adapter(self, **overrides: object) -> HubSpotAdapter:
        return HubSpotAdapter(self.connection(**overrides))

    def advance(self, delta: timedelta) -> datetime:
        self.ctx.book.now += delta
        return self.ctx.book.now


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Served]:
    """One served sandbox per test module (stopping a server costs its 0.5 s poll interval)."""
    with serve(make_book()) as served:
        yield served


@pytest.fixture
def make_harness(shared_sandbox: Served) -> Callable[[Book], Harness]:
    """The module's sandbox reset to a given book, fresh vendor state, no faults, zero counters."""

    def start(book: Book) -> Harness:
        return Harness(reset(shared_sandbox, book))

    return start


@pytest.fixture
def harness(make_harness: Callable[[Book], Harness]) -> Harness:
    return make_harness(make_book())
