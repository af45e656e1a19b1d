"""A vendor that refuses connections (nothing listens, the host name does not resolve) fails the pass's first
call at once with one error naming the URL, instead of 4 backoff waits per stream (~35 s per tenant when the
emulator or the vendor was down). 5xx, 429 and timeouts keep their retries (tests/integrations/
test_contract.py), and so does a refusal once the vendor has answered in this pass (a restart mid-pass)."""

from __future__ import annotations

import random
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.exceptions

from integrations.base import Stream
from integrations.errors import (
    PermissionDeniedError,
    TransientError,
    UnreachableError,
    unreachable_cause,
)
from integrations.oauth import TokenSet
from integrations.registry import Connection, create_adapter
from integrations.retry import Reach, call_with_retry


def _dead_port() -> int:
    """A local port nothing listens on (bound, then closed: connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refused() -> requests.ConnectionError:
    """What requests raises for a refused connection (the same chain as a real one)."""
    try:
        requests.get(f"http://127.0.0.1:{_dead_port()}/", timeout=5)
    except requests.ConnectionError as exc:
        return exc
    raise AssertionError("something answered on the dead port")


def _transient_from(cause: BaseException) -> TransientError:
    try:
        raise TransientError("hubspot", f"transport error: {type(cause).__name__}") from cause
    except TransientError as exc:
        return exc


def test_the_cause_is_read_through_the_sdk_wrappers() -> None:
    assert unreachable_cause(_transient_from(_refused())) == "connection refused"
    resolve = urllib3.exceptions.NameResolutionError("api.example.invalid", None, socket.gaierror(-2, "x"))  # type: ignore[arg-type]
    assert unreachable_cause(_transient_from(resolve)) == "host name not found"
    # a connect timeout or a read timeout is no proof the vendor is gone: not unreachable (retried)
    timeout = urllib3.exceptions.ConnectTimeoutError(None, "connect timed out")
    assert unreachable_cause(_transient_from(timeout)) is None
    assert unreachable_cause(_transient_from(requests.ReadTimeout("read timed out"))) is None
    assert unreachable_cause(TransientError("zendesk", "HTTP 503")) is None


def test_a_refused_first_call_fails_at_once() -> None:
    sleeps: list[float] = []
    reach = Reach("https://api.example.test")
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise _transient_from(_refused())

    with pytest.raises(UnreachableError) as info:
        call_with_retry(refused, vendor="hubspot", refresh=None, sleep=sleeps.append, reach=reach)
    assert (calls, sleeps) == (1, [])
    assert "https://api.example.test" in str(info.value)
    assert "connection refused" in str(info.value)
    assert isinstance(info.value, TransientError)  # write-backs keep their rows queued, jobs re-enqueue


def test_a_refusal_after_an_answer_keeps_its_retries() -> None:
    sleeps: list[float] = []
    reach = Reach("https://api.example.test")
    assert call_with_retry(lambda: 1, vendor="hubspot", refresh=None, sleep=sleeps.append, reach=reach) == 1
    outcomes: list[BaseException | None] = [_transient_from(_refused()), _transient_from(_refused()), None]

    def restarting() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "ok"

    got = call_with_retry(
        restarting, vendor="hubspot", refresh=None, sleep=sleeps.append, reach=reach, rng=random.Random(1)
    )
    assert got == "ok"
    assert len(sleeps) == 2


def test_an_http_error_counts_as_an_answer() -> None:
    reach = Reach("https://api.example.test")

    def denied() -> None:
        raise PermissionDeniedError("hubspot", "HTTP 403")

    with pytest.raises(PermissionDeniedError):
        call_with_retry(denied, vendor="hubspot", refresh=None, sleep=lambda _s: None, reach=reach)
    assert reach.answered


def test_a_timeout_on_the_first_call_keeps_its_retries() -> None:
    sleeps: list[float] = []
    outcomes: list[BaseException | None] = [_transient_from(requests.ConnectTimeout("slow")), None]

    def slow_then_ok() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "ok"

    reach = Reach("https://api.example.test")
    assert (
        call_with_retry(slow_then_ok, vendor="zendesk", refresh=None, sleep=sleeps.append, reach=reach)
        == "ok"
    )
    assert len(sleeps) == 1


def _connection(vendor: str, *, expired: bool) -> Connection:
    base = f"https://127.0.0.1:{_dead_port()}"
    now = datetime(2026, 6, 1, tzinfo=UTC)
    return Connection(
        vendor=vendor,
        base_url=base,
        token_url=f"{base}/token",
        client_id="cid",
        client_secret="secret",
        tokens=TokenSet(
            access_token="at",
            refresh_token="rt",
            expires_at=now - timedelta(hours=1) if expired else None,
            instance_url=base if vendor == "salesforce" else None,
        ),
        save_tokens=lambda _t: None,
        timeout=5.0,
        sleep=SLEEPS.append,
        clock=lambda: now,
    )


SLEEPS: list[float] = []


def _first_read_error(conn: Connection) -> tuple[UnreachableError, Any]:
    """The UnreachableError the adapter's first read raises, and the (closed) adapter."""
    adapter = create_adapter(conn)
    try:
        with pytest.raises(UnreachableError) as info:
            list(adapter.read(Stream.ACCOUNTS, None))
    finally:
        adapter.close()
    return info.value, adapter


@pytest.mark.parametrize("expired", [False, True], ids=["read", "refresh-first"])
@pytest.mark.parametrize("vendor", ["hubspot", "salesforce", "zendesk"])
def test_each_adapter_fails_fast_when_nothing_listens(vendor: str, expired: bool) -> None:
    """The real SDKs against a closed port: one attempt, no backoff sleep, the URL in the message."""
    SLEEPS.clear()
    conn = _connection(vendor, expired=expired)
    error, _ = _first_read_error(conn)
    assert SLEEPS == []
    assert error.vendor == vendor
    assert conn.base_url in error.detail
    assert "connection refused" in error.detail


@pytest.mark.parametrize("expired", [False, True], ids=["read", "refresh-first"])
@pytest.mark.parametrize("vendor", ["hubspot", "salesforce", "zendesk"])
def test_each_adapter_names_a_ca_file_that_has_gone(vendor: str, expired: bool, tmp_path: Path) -> None:
    """The demo's installations trust the sandbox's CA file; once the sandbox stopped and took it away,
    requests/urllib3 failed before connecting with a bare OSError ('unexpected error: OSError'). Now the
    first call says which file is missing and what to do, at once and without sending anything."""
    SLEEPS.clear()
    gone = tmp_path / "sandbox-ca.pem"
    conn = replace(_connection(vendor, expired=expired), ca_file=str(gone))
    error, adapter = _first_read_error(conn)
    assert SLEEPS == []
    assert error.vendor == vendor
    assert str(gone) in error.detail
    assert "CA certificate file" in error.detail
    assert "start the sandbox again" in error.hint
    assert getattr(adapter, "api_calls", 0) == 0  # nothing was sent (nor charged to the budget)
