"""Security audit 11 (medium, availability): Zendesk refresh tokens are single use (since 2025 a refresh grant
deletes the old access AND refresh token), so two processes holding the same stored pair race: the first
refresh rotates it, and the other one's stale refresh token is then refused (invalid_grant), which read as
'Reconnect Zendesk': the stream stopped, the installation was marked as needing a reconnect and its
write-back was skipped until a later pass, although the installation's stored pair was valid all along.
Processes that hold one installation's tokens at once: a worker's pass and the web process's set-up run
('Sync now', a reconnect's first sync), the CLI, a realtime refresh in single-process mode.

The client now reads the installation's stored tokens (Connection.load_tokens) before it spends its own
refresh token, and again when the grant is refused: a pair another process rotated in the meantime is
adopted instead of failing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from integrations.base import Stream
from integrations.errors import ReauthRequiredError
from integrations.oauth import TokenSet
from integrations.registry import Connection
from integrations.sandbox.context import Fault
from integrations.zendesk.adapter import ZendeskAdapter
from tests.integrations.zendesk.factory import Sandbox

EXPORT = "GET /api/v2/incremental/tickets/cursor.json"
TOKEN = "POST /oauth/tokens"


@dataclass
class Store:
    """The installation row both processes read from and write to (tokens_enc, decrypted)."""

    tokens: TokenSet
    saves: list[TokenSet] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def save(self, tokens: TokenSet) -> None:
        self.saves.append(tokens)
        self.tokens = tokens

    def load(self) -> TokenSet:
        return self.tokens


@pytest.fixture
def store(sandbox: Sandbox) -> Store:
    return Store(TokenSet(access_token=sandbox.token, refresh_token=sandbox.refresh_token))


@pytest.fixture
def process(sandbox: Sandbox, store: Store) -> Iterator[Any]:
    made: list[ZendeskAdapter] = []

    def make(*, loads: bool = True) -> ZendeskAdapter:
        """An adapter as a process builds it: with the pair stored when it started."""
        conn = Connection(
            vendor="zendesk",
            base_url=sandbox.base_url,
            token_url=f"{sandbox.base_url}/oauth/tokens",
            client_id=sandbox.state.oauth.client_id,
            client_secret=sandbox.state.oauth.client_secret,
            tokens=store.tokens,
            save_tokens=store.save,
            load_tokens=store.load if loads else None,
            ca_file=sandbox.tls.ca_file,
            sleep=store.sleeps.append,
            clock=lambda: sandbox.ctx.book.now,
            timeout=10.0,
        )
        adapter = ZendeskAdapter(conn)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


def _ticket_ids(adapter: ZendeskAdapter) -> list[str]:
    return [r.external_id for page in adapter.read(Stream.TICKETS, None) for r in page.records]


def test_a_pair_rotated_by_another_process_is_adopted_not_a_reconnect(
    sandbox: Sandbox, store: Store, process: Any
) -> None:
    worker, web = process(), process()  # both started with the same stored pair
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="expired_token"))
    assert len(_ticket_ids(worker)) == 5  # the worker's 401 rotates the pair and stores it
    assert len(store.saves) == 1
    # The web process's access token was deleted with the old pair: its 401 needs a refresh, and its own
    # refresh token is spent. It takes the stored pair instead of failing.
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="expired_token"))
    assert len(_ticket_ids(web)) == 5
    assert sandbox.ctx.counters.get("zendesk", TOKEN) == 1  # no second grant with a spent token
    assert web._client.tokens == store.tokens


def test_a_grant_lost_to_another_process_at_the_same_moment_adopts_the_winners_pair(
    sandbox: Sandbox, store: Store, process: Any
) -> None:
    """Both read the store before either saved: the loser's grant is refused, and the winner's pair, stored
    a moment later, is read after the refusal."""
    worker, web = process(), process()
    stale = store.tokens
    worker._client.refresh()  # the winner
    winner = store.tokens
    store.tokens = stale  # ... not stored yet when the loser looks
    reads = iter([stale, winner])
    web._client._conn = _with_load(web._client._conn, lambda: next(reads, winner))
    web._client.refresh()  # refused by Zendesk, then the winner's pair is read
    assert web._client.tokens == winner
    assert sandbox.ctx.counters.get("zendesk", TOKEN) == 2


def test_without_a_stored_pair_to_take_a_refused_grant_still_needs_a_reconnect(
    sandbox: Sandbox, store: Store, process: Any
) -> None:
    sandbox.ctx.faults.script("zendesk", EXPORT, Fault(kind="expired_token"))
    sandbox.ctx.faults.script("zendesk", TOKEN, Fault(kind="revoked_refresh"))
    with pytest.raises(ReauthRequiredError):
        _ticket_ids(process())
    assert store.saves == []


def _with_load(conn: Connection, load: Any) -> Connection:
    return replace(conn, load_tokens=load)
