"""Security audit 11 (medium, delivery stopped for every workspace): what a receiver answers is stored, and
any workspace's admin can point an endpoint at a server of their own. A redirect's Location went into the
delivery's last_error as sent: a NUL byte in it (http.client takes any byte but CR/LF in a header) made
PostgreSQL refuse the row ('text fields cannot contain NUL'), the exception left deliver_due and stopped the
delivery run for every workspace at that delivery, and again after each claim timeout. The Location shown
is now an inert excerpt like the body's (no control or bidi characters, no markup, 200 characters)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import T0
from webhooks.delivery import deliver

ANSWER = (
    b"HTTP/1.1 302 Found\r\nLocation: https://next.example/a\x00b\x1b[2J\xe2\x80\xae<img src=x>\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


@pytest.fixture
def hostile() -> Iterator[str]:
    """A receiver that answers every request with ANSWER (raw bytes); yields its hook URL."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(ANSWER)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(timeout=5)
        srv.close()


def test_a_redirects_location_is_kept_inert(hostile: str) -> None:
    from datetime import UTC, datetime

    from tests.webhooks.receiver import RECEIVER_SECRET

    result = deliver(
        hostile, [RECEIVER_SECRET], "msg_1", b"{}", session=requests.Session(), now=datetime.now(UTC),
        allow_private=True,
    )  # fmt: skip
    assert result.status == 302
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in result.detail)
    assert "<" not in result.detail
    assert result.detail.startswith("HTTP 302 to https://next.example/a")


def test_a_hostile_location_does_not_stop_the_delivery_run(db_url: str, tmp_path: Path, hostile: str) -> None:
    """On PostgreSQL the NUL stopped the run: the other workspace's delivery after it was never sent."""
    settings = b.settings_for(db_url, tmp_path)
    with b.session(db_url) as s:
        evil = b.tenant(s, "evil")
        ep = b.endpoint(s, Vault(settings), evil, hostile, ["whsec_" + "A" * 44])
        b.event(s, evil, [ep], msg_id="msg_hostile")
        other = b.tenant(s, "other")
        ep2 = b.endpoint(s, Vault(settings), other, hostile.replace("/hook", "/other"), ["whsec_" + "B" * 44])
        b.event(s, other, [ep2], msg_id="msg_other", due=T0 + timedelta(seconds=1))
    report = delivery.deliver_due(settings, now=T0 + timedelta(seconds=2))
    assert report.attempted == 2
    with b.session(db_url) as s:
        rows = list(s.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)))
        assert [(d.status, d.attempts) for d in rows] == [("pending", 1), ("pending", 1)]
        assert all("\x00" not in (d.last_error or "") for d in rows)
