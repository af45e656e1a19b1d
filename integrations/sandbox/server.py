"""Serve WSGI apps on loopback in threads, over TLS with a throwaway CA (no URL rewriting in the SDKs).

simple-salesforce and zenpy always build https:// URLs; instead of rewriting them, the sandboxes serve real
TLS on 127.0.0.1 with a certificate from a CA generated at start. Clients trust that CA through
configuration only (`requests.Session.verify = ca_file`, HubSpot `ssl_ca_cert`).
"""

from __future__ import annotations

import logging
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TLSMaterial:
    """A CA and a leaf certificate for 127.0.0.1/localhost; `ca_file` is what clients trust."""

    ca_file: str
    ssl_context: ssl.SSLContext
    _dir: Any = field(repr=False, default=None)

    @classmethod
    def generate(cls, directory: str | None = None) -> TLSMaterial:
        tmp = None
        if directory is None:
            tmp = tempfile.TemporaryDirectory(prefix="healthscore-sandbox-tls-")
            directory = tmp.name
        ca = trustme.CA(organization_name="healthscore sandbox CA")
        leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca_path = Path(directory) / "sandbox-ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ctx)
        return cls(ca_file=str(ca_path), ssl_context=ctx, _dir=tmp)

    def close(self) -> None:
        """Remove the generated files now (leaving it to garbage collection warns, and pytest errors)."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log on stderr: tests and `sandbox serve` output stay readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class ServedApp:
    """One WSGI app served by a threaded werkzeug server on 127.0.0.1 in a daemon thread."""

    def __init__(
        self, app: Any, *, port: int = 0, tls: TLSMaterial | None = None, name: str = "sandbox"
    ) -> None:
        self.name = name
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1",
            port,
            app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=tls.ssl_context if tls else None,
        )
        self.port: int = self._server.server_port
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{name}-server", daemon=True)
        self._thread.start()
        logger.debug("%s serving on %s", name, self.base_url)

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
