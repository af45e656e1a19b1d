"""Security audit 11 (medium, availability): with refresh-token rotation on (a Connected App / External
Client App setting), a Salesforce refresh grant revokes the refresh token it used, as Zendesk's always do
(tests/integrations/zendesk/test_token_race.py). Two processes holding one installation's pair raced: the
second one's stale refresh token was refused (invalid_grant) and read as 'Reconnect Salesforce', although
the pair the first one stored was valid. The adapter now reads the stored tokens (Connection.load_tokens)
before spending its own refresh token and again after a refused grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from integrations.base import Stream
from integrations.errors import ReauthRequiredError
from integrations.oauth import TokenSet
from integrations.sandbox.context import Fault
from tests.integrations.salesforce.conftest import AdapterFactory
from tests.integrations.salesforce.test_adapter import QUERY_ALL, TOKEN, ids


@dataclass
class Store:
    tokens: TokenSet
    saves: list[TokenSet] = field(default_factory=list)

    def save(self, tokens: TokenSet) -> None:
        self.saves.append(tokens)
        self.tokens = tokens

    def load(self) -> TokenSet:
        return self.tokens


@pytest.fixture
def store(sfbox: Any) -> Store:
    sfbox.state.extra["rotate_refresh"] = True
    return Store(
        TokenSet(
            access_token=sfbox.access_token,
            refresh_token=sfbox.refresh_token,
            instance_url=sfbox.base_url,
            scope="api refresh_token",
        )
    )


def test_a_pair_rotated_by_another_process_is_adopted_not_a_reconnect(
    make_adapter: AdapterFactory, sfbox: Any, store: Store
) -> None:
    worker = make_adapter(tokens=store.tokens, save_tokens=store.save, load_tokens=store.load)
    web = make_adapter(tokens=store.tokens, save_tokens=store.save, load_tokens=store.load)
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"))
    assert len(ids(list(worker.read(Stream.ACCOUNTS, None)))) == 6  # rotates and stores the pair
    sfbox.ctx.faults.script("salesforce", QUERY_ALL, Fault("expired_token"))
    assert len(ids(list(web.read(Stream.ACCOUNTS, None)))) == 6
    assert sfbox.ctx.counters.get("salesforce", TOKEN) == 1  # no grant with the revoked token
    assert web.tokens == store.tokens


def test_a_revoked_token_with_nothing_newer_stored_still_needs_a_reconnect(
    make_adapter: AdapterFactory, sfbox: Any, store: Store
) -> None:
    session = sfbox.session()
    session.post(f"{sfbox.base_url}/services/oauth2/revoke", data={"token": sfbox.refresh_token})
    adapter = make_adapter(tokens=store.tokens, save_tokens=store.save, load_tokens=store.load)
    with pytest.raises(ReauthRequiredError):
        list(adapter.read(Stream.ACCOUNTS, None))
    assert store.saves == []
