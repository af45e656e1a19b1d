"""Two plain-HTTP servers on loopback (two origins) for redirect tests: each records what it received and
answers each path with a canned (status, headers, body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_BODY = {"access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600, "token_type": "bearer"}


@dataclass
class Origin:
    url: str = ""
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    received: list[tuple[str, str, bytes]] = field(default_factory=list)

    def answer(self, path: str, status: int = 200, body: Any = None, **headers: str) -> None:
        data = json.dumps(TOKEN_BODY if body is None else body).encode()
        self.routes[path] = (status, {"Content-Type": "application/json", **headers}, data)

    def redirect(self, path: str, location: str, status: int = 307) -> None:
        self.routes[path] = (status, {"Location": location}, b"")


def _handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            origin.received.append((self.command, self.path, body))
            status, headers, data = origin.routes.get(self.path.split("?")[0], (404, {}, b"{}"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _any  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def two_origins() -> Iterator[tuple[Origin, Origin]]:
    origins = (Origin(), Origin())
    servers = []
    for origin in origins:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(origin))
        origin.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield origins
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
