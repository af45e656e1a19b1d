"""Audit 11: attacks on the outbound webhook path the earlier audits' tests did not cover. Each test failed
on the code before its fix."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from tests.webhooks.receiver import RECEIVER_SECRET, Receiver
from webhooks.delivery import AttemptError, deliver
from webhooks.errors import UnsafeTargetError
from webhooks.ssrf import check_url

PUBLIC_V4 = "93.184.215.14"

# ---------------------------------------------------------------- finding: internationalised host names


class Table:
    """A DNS table that records the names it was asked for (unknown names fail like NXDOMAIN)."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table, self.calls = table, []  # type: tuple[dict[str, Sequence[str]], list[str]]

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError("NXDOMAIN")
        return self.table[host]


def test_an_internationalised_host_is_vetted_and_sent_as_its_a_label() -> None:
    """An admin may type an IDN webhook URL (https://例え.jp/hook). The guard kept the Unicode name, so the
    pinned request's Host header carried it: http.client encodes headers as Latin-1, and a name outside
    Latin-1 raised UnicodeEncodeError out of `deliver` (not a RequestException), which stopped the whole
    delivery run, for every workspace, at that delivery on every run; a Latin-1 name (exämple.com) went
    out as raw bytes no server reads as that host. The host is now its IDNA A-label everywhere."""
    dns = Table({"xn--r8jz45g.jp": [PUBLIC_V4]})
    target = check_url("https://例え.jp/hook", resolver=dns)
    assert target.host == "xn--r8jz45g.jp"
    assert target.host_header == "xn--r8jz45g.jp"
    assert dns.calls == ["xn--r8jz45g.jp"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127。0。0。1/hook",  # ideographic full stops: IDNA maps them to '.'
        "http://127\uff0e0\uff0e0\uff0e1/hook",  # fullwidth full stops
        "http://①②⑦.0.0.1/hook",  # circled digits: NFKC makes them 127
        "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54./hook",  # fullwidth letters,
    ],
)
def test_look_alike_spellings_of_an_internal_address_are_judged_as_that_address(url: str) -> None:
    """The guard resolved these as names (the system resolver then mapped them to 127.0.0.1); now the
    guard itself reads them as the address or name IDNA makes of them, without a lookup."""
    dns = Table({"localhost": ["127.0.0.1"]})
    with pytest.raises(UnsafeTargetError) as refused:
        check_url(url, resolver=dns)
    assert refused.value.reason == "blocked_address"


@pytest.mark.parametrize(
    "url", ["https://a\u200db.example/hook", "https://-bad-.example/hook", "https://x..y/"]
)
def test_a_host_name_idna_cannot_encode_is_a_bad_url(url: str) -> None:
    with pytest.raises(UnsafeTargetError) as refused:
        check_url(url, resolver=Table({}))
    assert refused.value.reason in {"bad_url", "unresolvable"}


def test_a_delivery_to_an_internationalised_host_is_an_attempt_not_an_exception(receiver: Receiver) -> None:
    """The receiver is on loopback under an IDN name (private targets allowed, as in a lab)."""
    port = receiver.base_url.rsplit(":", 1)[1]
    # the system resolver takes either spelling (getaddrinfo encodes a Unicode name itself)
    dns = Table({"例え.jp": ["127.0.0.1"], "xn--r8jz45g.jp": ["127.0.0.1"]})
    result = deliver(
        f"http://例え.jp:{port}/hook",
        [RECEIVER_SECRET],
        "msg_idn_1",
        b'{"type":"health_score.band_changed"}',
        session=requests.Session(),
        now=datetime.now(UTC),
        allow_private=True,
        resolver=dns,
    )
    assert result.ok, result
    (hit,) = receiver.hits
    assert hit.headers["host"] == f"xn--r8jz45g.jp:{port}"
    assert hit.accepted


def test_a_stored_host_idna_cannot_encode_fails_its_attempt() -> None:
    """An endpoint saved before the fix with a name IDNA refuses: a failed attempt (retried, then the
    endpoint disabled as usual), never an exception out of the delivery run."""
    result = deliver(
        "https://a\u200db.example/hook",
        [RECEIVER_SECRET],
        "msg_idn_2",
        b"{}",
        session=requests.Session(),
        now=datetime.now(UTC),
        resolver=Table({}),
    )
    assert not result.ok
    assert result.error == AttemptError.UNSAFE_TARGET


# ---------------------------------------------------------------- finding: a receiver's Retry-After


@pytest.fixture
def answering() -> Iterator[Callable[[str], str]]:
    """A loopback receiver that answers 429 with the Retry-After it is given (as raw Latin-1 header
    bytes, as any server may send); yields a function that sets the header and returns the hook's URL."""
    said = {"retry_after": ""}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("429 Too Many Requests", [("Retry-After", said["retry_after"])])
        return [b"slow down"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()

    def url(retry_after: str) -> str:
        said["retry_after"] = retry_after
        return f"http://127.0.0.1:{server.server_port}/hook"

    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [
        ("\u00b2", None),  # SUPERSCRIPT TWO: str.isdigit() says yes, float() raises ValueError
        ("\u00b9\u00b2\u00b3", None),
        ("Mon, 01 Jan 99999999999 00:00:00 GMT", None),  # OverflowError in parsedate_to_datetime
        ("120", 120.0),
        (" 7 ", 7.0),
    ],
)
def test_a_receivers_retry_after_never_raises_out_of_the_attempt(
    answering: Callable[[str], str], retry_after: str, seconds: float | None
) -> None:
    """Any workspace's admin can point an endpoint at their own server. Its 'Retry-After: ²' (one Latin-1
    byte, which str.isdigit() accepts and float() refuses) or an HTTP date in the year 99999999999
    (OverflowError) raised out of `deliver`: the exception left deliver_due and stopped the delivery run
    for every workspace, on every run while that delivery was due. Now it is a failed attempt whose
    Retry-After is unknown (the usual schedule applies)."""
    result = deliver(
        answering(retry_after),
        [RECEIVER_SECRET],
        "msg_retry_after",
        b"{}",
        session=requests.Session(),
        now=datetime.now(UTC),
        allow_private=True,
    )
    assert (result.status, result.ok, result.error) == (429, False, AttemptError.HTTP_ERROR)
    assert result.retry_after == seconds
