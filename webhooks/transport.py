"""HTTP plumbing for outbound webhooks: send one POST to a vetted address and read a bounded excerpt."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool

from webhooks.ssrf import SafeTarget

logger = logging.getLogger(__name__)


class AttemptAdapter(HTTPAdapter):
    """A transport adapter for one delivery attempt that remembers the connections it hands out, so
    `abort` can shut them when the receiver takes too long over its status line and headers."""

    def __init__(self) -> None:
        self._conns: list[Any] = []  # connections handed out for this attempt (for `abort`)
        self.aborted = False
        super().__init__(max_retries=0)

    def abort(self) -> None:
        """Shut the attempt's sockets down: a recv blocked on a receiver that drips its status line or
        headers one byte at a time (each within the read timeout) returns at once and the send fails."""
        self.aborted = True
        for conn in self._conns:
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> ConnectionPool:
        """Return requests' own pool for the request (direct or through ``proxies``), remembered."""
        pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        return self._remembered(pool)

    def _remembered(self, pool: ConnectionPool) -> ConnectionPool:
        get_conn = pool._get_conn  # type: ignore[attr-defined]

        def remembered(timeout: float | None = None) -> Any:
            conn = get_conn(timeout)
            self._conns.append(conn)
            return conn

        pool._get_conn = remembered  # type: ignore[attr-defined]
        return pool


class PinnedAdapter(AttemptAdapter):
    """Connect to the first vetted IP of ``target`` while keeping its hostname for Host, SNI and the
    certificate check: this closes the DNS-rebinding gap between `ssrf.check_url` and a second lookup.
    """

    def __init__(self, target: SafeTarget) -> None:
        self._target = target
        super().__init__()

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> ConnectionPool:
        """Return a pool for the pinned address (proxies are deliberately ignored)."""
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(
            request, True if verify is None else verify, cert
        )
        kwargs: dict[str, Any] = dict(pool_kwargs)
        if self._target.scheme == "https":
            kwargs["server_hostname"] = self._target.host
            kwargs["assert_hostname"] = self._target.host
        pool: ConnectionPool = self.poolmanager.connection_from_host(
            str(self._target.addresses[0]),
            port=host_params["port"],
            scheme=host_params["scheme"],
            pool_kwargs=kwargs,
        )
        return self._remembered(pool)


def send(
    session: requests.Session,
    adapter: AttemptAdapter,
    target: SafeTarget,
    headers: Mapping[str, str],
    body: bytes,
    timeout: tuple[float, float],
) -> requests.Response:
    """POST without following redirects, streaming the response, through ``adapter``: a `PinnedAdapter`
    connects to the vetted address; a plain `AttemptAdapter` goes where the session would send it (its
    proxies and the environment's, its verify and cert), for deployments behind an egress proxy.

    Raises:
        requests.RequestException: connection, TLS or timeout failures, and a status line and headers
            not complete within connect + read timeout (`requests.exceptions.ReadTimeout`).
    """
    pinned = isinstance(adapter, PinnedAdapter)
    # The session still prepares the request (its default headers and auth apply); the adapter sends it,
    # which never redirects. A pinned adapter never consults proxy settings (a proxy would do its own DNS
    # lookup); an unpinned one takes them as session.post would.
    host = {"Host": target.host_header} if pinned else {}
    prepared = session.prepare_request(
        requests.Request("POST", target.url, data=body, headers={**headers, **host})
    )
    if pinned:
        proxies: Mapping[str, str] = {}
        verify, cert = session.verify, session.cert
    else:  # what session.post would use
        env = session.merge_environment_settings(prepared.url, {}, True, None, None)
        proxies, verify, cert = env["proxies"], env["verify"], env["cert"]
    # requests' timeouts bound each socket read, not the whole answer: a receiver sending its status line
    # and headers a byte at a time held a delivery worker for hours (100 header lines of 64 KiB), pinned
    # or not. The status and headers must arrive within connect + read timeout, else the sockets are shut.
    watchdog = threading.Timer(sum(timeout), adapter.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        response = adapter.send(
            prepared,
            stream=True,
            timeout=timeout,
            verify=True if verify is None else verify,
            cert=cert,
            proxies=dict(proxies),
        )
    finally:
        watchdog.cancel()
    if adapter.aborted:  # http.client takes headers cut short by the shutdown as complete: not an answer
        response.close()
        raise requests.exceptions.ReadTimeout("no complete status and headers within the timeout")
    return response


def read_excerpt(
    response: requests.Response, limit: int, *, deadline: float, clock: Callable[[], float]
) -> str:
    """Read at most ``limit`` bytes of the body, stopping at ``deadline`` (a ``clock()`` value).

    requests' read timeout applies per socket read, so a receiver dripping one byte at a time could hold
    us for ``limit`` times the timeout. Reading byte by byte (from urllib3's buffer: ~2 ms for 4 KB) and
    checking the clock bounds the whole read to ``deadline`` plus one read timeout.
    """
    buf = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=1):
            buf += chunk
            if len(buf) >= limit or clock() >= deadline:
                break
    except requests.RequestException:
        # The status line already decided the outcome; a slow or broken body only shortens the excerpt.
        logger.debug("response body unreadable after status %s", response.status_code)
    return clean_excerpt(bytes(buf[:limit]).decode("utf-8", errors="replace"))


EXCERPT_CHARS = 500
_TAG = re.compile(r"<[^>]{0,2000}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """What we keep of a receiver's answer: no markup, no control or bidi characters, at most ``limit``
    characters. It is stored and shown to admins, and the receiver is not trusted."""
    text = _TAG.sub(" ", text).replace("<", " ").replace(">", " ")
    text = _CONTROL.sub("", text)
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
