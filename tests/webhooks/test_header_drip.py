"""Security (audit 4): requests' read timeout bounds each socket read, so a receiver that sends its status
line and headers a byte at a time (each byte within the timeout) held a delivery worker for as long as it
liked: 100 header lines of 64 KiB at one byte per read timeout is months. The status and headers must now
arrive within connect + read timeout, else the attempt is a timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from webhooks.delivery import AttemptError, deliver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DRIP_S = 8.0  # how long the receiver drips before it gives up (the test would otherwise hang)


@pytest.fixture
def dripping() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            until = time.monotonic() + DRIP_S
            while time.monotonic() < until and not stop.is_set():
                try:
                    conn.sendall(b"x")
                except OSError:
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(timeout=DRIP_S + 1)
    srv.close()


def test_headers_dripped_a_byte_at_a_time_are_a_timeout(dripping: int) -> None:
    started = time.monotonic()
    result = deliver(
        f"http://127.0.0.1:{dripping}/hook",
        [SECRET],
        "msg_drip",
        b"{}",
        session=requests.Session(),
        now=datetime.now(UTC),
        timeout=(0.5, 0.5),
        allow_private=True,
    )
    assert time.monotonic() - started < 3.0
    assert not result.ok
    assert result.error is AttemptError.TIMEOUT
