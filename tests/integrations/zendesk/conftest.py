"""Fixtures: a hand-built Book served by the Zendesk sandbox over TLS, and Connections/adapters bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from integrations.oauth import TokenSet
from integrations.registry import Connection
from integrations.sandbox.server import TLSMaterial
from integrations.zendesk.adapter import ZendeskAdapter
from tests.integrations.zendesk.factory import Sandbox, build_book, cleanup_tls, reset, served


@pytest.fixture(scope="session")
def tls() -> Iterator[TLSMaterial]:
    material = TLSMaterial.generate()
    yield material
    cleanup_tls(material)


@pytest.fixture(scope="module")
def server(tls: TLSMaterial) -> Iterator[Sandbox]:
    with served(build_book(), tls) as sb:
        yield sb


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    return reset(server, build_book(customers=3, tickets=5))


@dataclass
class Recorder:
    """Injected sleep and token saver: what the adapter asked for, without sleeping."""

    sleeps: list[float] = field(default_factory=list)
    saved: list[TokenSet] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def save(self, tokens: TokenSet) -> None:
        self.saved.append(tokens)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


MakeAdapter = Callable[..., ZendeskAdapter]


@pytest.fixture
def make_adapter(sandbox: Sandbox, recorder: Recorder) -> Iterator[MakeAdapter]:
    made: list[ZendeskAdapter] = []

    def make(
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        page_size: int | None = None,
        **kw: Any,
    ) -> ZendeskAdapter:
        tokens = TokenSet(
            access_token=access_token or sandbox.token,
            refresh_token=refresh_token if refresh_token is not None else sandbox.refresh_token,
        )
        conn = Connection(
            vendor="zendesk",
            base_url=sandbox.base_url,
            token_url=f"{sandbox.base_url}/oauth/tokens",
            client_id=sandbox.state.oauth.client_id,
            client_secret=sandbox.state.oauth.client_secret,
            tokens=tokens,
            save_tokens=recorder.save,
            ca_file=sandbox.tls.ca_file,
            settings=kw.pop("settings", {}),
            page_size=page_size,
            sleep=recorder.sleep,
            clock=lambda: sandbox.ctx.book.now,
            timeout=float(kw.pop("timeout", 10.0)),
        )
        adapter = ZendeskAdapter(conn, **kw)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
