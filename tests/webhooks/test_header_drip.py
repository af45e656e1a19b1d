"""Security (audit 4): requests' read timeout bounds each socket read, so a receiver that sends its status
line and headers a byte at a time (each byte within the timeout) held a delivery worker for as long as it
liked: 100 header lines of 64 KiB at one byte per read timeout is months. The status and headers must now
arrive within connect + read timeout, else the attempt is a timeout, on the pinned path and on the unpinned
one (``pin_address=False``, used behind an egress proxy), whose proxies still apply."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from webhooks.delivery import AttemptError, AttemptResult, deliver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DRIP_S = 8.0  # how long the receiver drips before it gives up (the test would otherwise hang)


class Peer:
    """A raw loopback peer for one connection: it keeps the request's first line and answers ``reply``,
    then (when ``drip``) sends one byte of an endless header every 0.1 s."""

    def __init__(self, reply: bytes, *, drip: bool) -> None:
        self.reply, self.drip = reply, drip
        self.request_line = b""
        self.stop = threading.Event()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        with conn:
            self.request_line = conn.recv(65536).split(b"\r\n", 1)[0]
            conn.sendall(self.reply)
            until = time.monotonic() + DRIP_S
            while self.drip and time.monotonic() < until and not self.stop.is_set():
                try:
                    conn.sendall(b"x")
                except OSError:
                    return
                time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=DRIP_S + 1)
        self.srv.close()


@pytest.fixture
def dripping() -> Iterator[Peer]:
    peer = Peer(b"HTTP/1.1 200 OK\r\nX-Drip: ", drip=True)
    yield peer
    peer.close()


@pytest.fixture
def proxy() -> Iterator[Peer]:
    peer = Peer(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", drip=False)
    yield peer
    peer.close()


def _deliver(url: str, session: requests.Session, *, pin_address: bool) -> AttemptResult:
    return deliver(
        url,
        [SECRET],
        "msg_drip",
        b"{}",
        session=session,
        now=datetime.now(UTC),
        timeout=(0.5, 0.5),
        allow_private=True,
        pin_address=pin_address,
        resolver=lambda _host, _port: ["127.0.0.1"],
    )


@pytest.mark.parametrize("pin_address", [True, False], ids=["pinned", "unpinned"])
def test_headers_dripped_a_byte_at_a_time_are_a_timeout(dripping: Peer, pin_address: bool) -> None:
    started = time.monotonic()
    result = _deliver(f"http://127.0.0.1:{dripping.port}/hook", requests.Session(), pin_address=pin_address)
    assert time.monotonic() - started < 3.0
    assert not result.ok
    assert result.error is AttemptError.TIMEOUT


def test_unpinned_attempt_goes_through_the_sessions_proxy(proxy: Peer) -> None:
    """Behind an egress proxy the request still goes to the proxy (absolute URI), not to the host."""
    session = requests.Session()
    session.proxies = {"http": f"http://127.0.0.1:{proxy.port}"}
    result = _deliver("http://hooks.invalid:9/hook", session, pin_address=False)
    assert result.ok
    assert proxy.request_line == b"POST http://hooks.invalid:9/hook HTTP/1.1"


def test_proxy_dripping_its_headers_is_a_timeout(dripping: Peer) -> None:
    """The cut-off covers the proxy's connection too: the drip may come from the proxy or through it."""
    session = requests.Session()
    session.proxies = {"http": f"http://127.0.0.1:{dripping.port}"}
    started = time.monotonic()
    result = _deliver("http://hooks.invalid:9/hook", session, pin_address=False)
    assert time.monotonic() - started < 3.0
    assert result.error is AttemptError.TIMEOUT
