"""A vendor that refuses connections on the pass's first call stops that installation's sync at once
(one stream reported "unreachable" with the URL and what to check), instead of every stream spending its
own retries; the tenant's other installations go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.installs.vault import Vault
from connector.pipeline import sync
from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.errors import UnreachableError
from tests.connector import builders as b


class FakeAdapter:
    def __init__(self, vendor: str, down: bool) -> None:
        self.vendor, self.down, self.api_calls = vendor, down, 0
        self.streams = frozenset({Stream.ACCOUNTS, Stream.CONTACTS, Stream.TICKETS})
        self.reads: list[Stream] = []
        self.closed = False

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        self.reads.append(stream)
        if self.down:
            raise UnreachableError(
                self.vendor, "unreachable at https://acme.example.test (connection refused)"
            )
        yield Page(stream=stream, records=[], cursor=Cursor(token="done"))

    def close(self) -> None:
        self.closed = True


def test_an_unreachable_vendor_stops_its_installation_after_one_stream(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.installation(s, Vault(settings), t, "zendesk")
        b.installation(s, Vault(settings), t, "hubspot")
    made: dict[str, FakeAdapter] = {}

    def adapter_for(_settings: Any, inst: Any, **_: Any) -> FakeAdapter:
        made[inst.vendor] = FakeAdapter(inst.vendor, down=inst.vendor == "hubspot")
        return made[inst.vendor]

    monkeypatch.setattr(sync, "adapter_for", adapter_for)
    reports = {r.vendor: r for r in sync.sync_tenant(settings, t)}
    down = reports["hubspot"]
    assert made["hubspot"].reads == [Stream.ACCOUNTS]  # the other streams were not tried
    assert down.status == "unreachable"
    assert [(s.stream, s.status) for s in down.streams] == [("accounts", "unreachable")]
    assert "https://acme.example.test" in (down.streams[0].error or "")
    assert "firewall" in (down.streams[0].hint or "")
    assert reports["zendesk"].status == "ok"
    assert len(reports["zendesk"].streams) == 3
    assert all(a.closed for a in made.values())
