"""Fixtures: a served Salesforce sandbox over a hand-built Book, and adapters bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integrations.oauth import TokenSet
from integrations.registry import Connection
from integrations.salesforce.adapter import SalesforceAdapter
from tests.integrations.salesforce.factory import SalesforceSandbox, make_book, served


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[SalesforceSandbox]:
    with served(make_book(6)) as sb:
        yield sb


@pytest.fixture
def sfbox(_shared_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    """The 6-customer book on a running server, reset for each test."""
    return _shared_sandbox.reset(make_book(6))


class Recorder:
    """Injected sleep and save_tokens: what the adapter asked for, without waiting."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.saved: list[TokenSet] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def save(self, tokens: TokenSet) -> None:
        self.saved.append(tokens)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


AdapterFactory = Callable[..., SalesforceAdapter]


@pytest.fixture
def make_adapter(sfbox: SalesforceSandbox, recorder: Recorder) -> Iterator[AdapterFactory]:
    made: list[SalesforceAdapter] = []

    def build(sb: SalesforceSandbox | None = None, **overrides: Any) -> SalesforceAdapter:
        sb = sb or sfbox
        vs = sb.state
        fields: dict[str, Any] = {
            "vendor": "salesforce",
            "base_url": sb.base_url,
            "token_url": f"{sb.base_url}/services/oauth2/token",
            "client_id": vs.oauth.client_id,
            "client_secret": vs.oauth.client_secret,
            "tokens": TokenSet(
                access_token=sb.access_token,
                refresh_token=sb.refresh_token,
                instance_url=sb.base_url,
                scope="api refresh_token",
            ),
            "save_tokens": recorder.save,
            "ca_file": sb.ca_file,
            "sleep": recorder.sleep,
            "clock": lambda: sb.ctx.book.now,
            "timeout": 10.0,
        }
        fields.update(overrides)
        adapter = SalesforceAdapter(Connection(**fields))
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()
