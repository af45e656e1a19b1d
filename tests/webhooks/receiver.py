"""A loopback webhook receiver (WSGI app) that records every request and verifies it with `standardwebhooks`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import standardwebhooks

RECEIVER_SECRET = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class Hit:
    """One request the receiver saw, with the package's verdict."""

    path: str
    headers: dict[str, str]
    body: bytes
    accepted: bool
    error: str = ""


@dataclass
class Receiver:
    """Routes: /hook (verify, 204), /redirect (302 → /hook), /big (100 kB), /slow (waits for release),
    /gone (410), /throttle (429 + Retry-After), /fail (500)."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        accepted, error = True, ""
        try:
            standardwebhooks.Webhook(RECEIVER_SECRET).verify(body, headers)
        except Exception as exc:  # noqa: BLE001 - the package raises several unrelated types
            accepted, error = False, f"{type(exc).__name__}: {exc}"
        self.hits.append(Hit(path=path, headers=headers, body=body, accepted=accepted, error=error))
        if path == "/redirect":
            start_response("302 Found", [("Location", "/hook")])
            return [b""]
        if path == "/big":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"x" * 100_000]
        if path == "/slow":
            self.release.wait(2)  # the client gives up long before; the fixture releases us at teardown
            start_response("200 OK", [])
            return [b"late"]
        if path == "/gone":
            start_response("410 Gone", [])
            return [b"endpoint removed"]
        if path == "/throttle":
            start_response("429 Too Many Requests", [("Retry-After", "120")])
            return [b"slow down"]
        if path == "/fail":
            start_response("500 Internal Server Error", [])
            return [b"boom"]
        status = "204 No Content" if accepted else "401 Unauthorized"
        start_response(status, [])
        return [b""]
