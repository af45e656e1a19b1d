"""Security (audit 4): an exception other than IntegrationError out of one vendor's read (an answer its
mapping cannot read, a bug) escaped _sync_stream, stopped sync_tenant before the tenant's other
installations were read and left the installation unmarked, on every pass. It is now that stream's
failure, reported and logged, and the other vendors go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.installs.vault import Vault
from connector.pipeline import sync
from integrations.base import Page, Stream
from integrations.cursors import Cursor
from tests.connector import builders as b


class FakeAdapter:
    def __init__(self, vendor: str, broken: bool) -> None:
        self.vendor, self.broken, self.api_calls = vendor, broken, 0
        self.streams = frozenset({Stream.ACCOUNTS})
        self.closed = False

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        if self.broken:
            raise ValueError("Invalid isoformat string: 'soon'")
        yield Page(stream=stream, records=[], cursor=Cursor(token="done"))

    def close(self) -> None:
        self.closed = True


def test_one_vendors_unexpected_error_fails_its_stream_only(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.installation(s, Vault(settings), t, "zendesk")
        b.installation(s, Vault(settings), t, "hubspot")
    made: dict[str, FakeAdapter] = {}

    def adapter_for(_settings: Any, inst: Any, **_: Any) -> FakeAdapter:
        made[inst.vendor] = FakeAdapter(inst.vendor, broken=inst.vendor == "zendesk")
        return made[inst.vendor]

    monkeypatch.setattr(sync, "adapter_for", adapter_for)
    reports = {r.vendor: r for r in sync.sync_tenant(settings, t)}
    assert set(reports) == {"zendesk", "hubspot"}
    broken = reports["zendesk"].streams[0]
    assert (broken.status, reports["zendesk"].status) == ("failed", "partial")
    assert "ValueError" in (broken.error or "")
    assert broken.hint
    assert reports["hubspot"].streams[0].status == "ok"
    assert all(a.closed for a in made.values())
