"""Bounded response reading (fake clock, no network)."""

from __future__ import annotations

import io
from collections.abc import Callable

import requests

from webhooks.transport import read_excerpt


def _response(payload: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.raw = io.BytesIO(payload)
    return response


def _ticking_clock(step: float) -> Callable[[], float]:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def test_stops_at_the_byte_limit() -> None:
    assert read_excerpt(_response(b"a" * 10_000), 10, deadline=1e9, clock=_ticking_clock(0)) == "a" * 10


def test_stops_at_the_deadline_even_if_bytes_keep_coming() -> None:
    """A receiver dripping bytes: each byte costs 1 s of fake time; the deadline is 5 s."""
    excerpt = read_excerpt(_response(b"b" * 4096), 4096, deadline=5, clock=_ticking_clock(1.0))
    assert excerpt == "b" * 5


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert read_excerpt(_response(b"ok \xff"), 100, deadline=1e9, clock=_ticking_clock(0)) == "ok \ufffd"


def test_receiver_answers_are_capped_and_inert() -> None:
    """Issue 12 item 10: a receiver's body is stored and shown to admins: no markup, no control or
    bidi characters, bounded length."""
    from webhooks.transport import EXCERPT_CHARS, clean_excerpt

    nasty = "<script>alert(1)</script><img src=x onerror=alert(2)>ok\x1b[31m red\x00\u202egnp.exe\r\nline2 <b"
    cleaned = clean_excerpt(nasty)
    for bad in ("<", ">", "\x1b", "\x00", "\u202e", "\r", "\n"):
        assert bad not in cleaned
    assert "ok" in cleaned
    assert "line2" in cleaned
    assert len(clean_excerpt("x" * 100_000)) == EXCERPT_CHARS
