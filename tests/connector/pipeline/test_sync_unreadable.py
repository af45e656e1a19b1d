"""Security (audit 4): records an adapter skipped as unreadable (a required id or timestamp missing or
unparsable) are counted where the sync reports: the stream's report (and so the run report), the sync log
line and the set-up's message; the stream stays 'ok', its good records and cursor are committed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.installs import onboarding
from connector.installs.vault import Vault
from connector.pipeline import sync
from connector.store import repo as store
from integrations.base import Page, Stream
from integrations.cursors import Cursor
from integrations.records import AccountRecord
from tests.connector import builders as b

STAMP = datetime(2026, 3, 1, tzinfo=UTC)


class SkippingAdapter:
    vendor, api_calls, streams = "zendesk", 0, frozenset({Stream.ACCOUNTS})

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        good = AccountRecord(vendor="zendesk", external_id="7", name="Acme", updated_at=STAMP)
        yield Page(stream=stream, records=[good], cursor=Cursor(watermark=STAMP), unreadable=2)
        yield Page(stream=stream, records=[], cursor=Cursor(watermark=STAMP), unreadable=1)

    def close(self) -> None:
        return None


def test_unreadable_records_are_counted_in_the_sync_report(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst_id = b.installation(s, Vault(settings), t, "zendesk").id
    monkeypatch.setattr(sync, "adapter_for", lambda *_a, **_k: SkippingAdapter())
    with caplog.at_level(logging.INFO, logger="connector.pipeline.sync"):
        [report] = sync.sync_tenant(settings, t)
    stream = report.streams[0]
    assert (stream.status, stream.upserted, stream.unreadable) == ("ok", 1, 3)
    assert report.as_dict()["streams"][0]["unreadable"] == 3  # what the run report stores
    assert "stream accounts: 3 unreadable records skipped" in caplog.text
    assert "3 unreadable records skipped" in caplog.text.split("synced zendesk")[1]
    with b.session(db_url) as s:
        assert store.get_cursor(s, t, inst_id, "accounts") == Cursor(watermark=STAMP)


def test_the_set_up_message_says_how_many_records_were_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.pipeline import run as pipeline

    def fake_sync(*_a: Any, **_k: Any) -> dict[str, Any]:
        return {"installations": [{"vendor": "zendesk", "status": "ok", "streams": [
            {"stream": "accounts", "status": "ok", "upserted": 40, "unreadable": 2},
            {"stream": "tickets", "status": "ok", "upserted": 60, "unreadable": 0},
        ]}]}  # fmt: skip

    monkeypatch.setattr(pipeline, "sync", fake_sync)
    result = onboarding._sync(None, 1, "zendesk")  # type: ignore[arg-type]
    assert result["state"] == "done"
    assert result["message"] == "100 records read; 2 unreadable records skipped (see the worker log)"
