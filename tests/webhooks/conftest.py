"""Fixtures: a real loopback HTTP(S) receiver run by werkzeug in a thread."""

from __future__ import annotations

import pathlib
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme
from werkzeug.serving import make_server

from tests.webhooks.receiver import Receiver


def _serve(rec: Receiver, scheme: str, ssl_context: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    server = make_server("127.0.0.1", 0, rec.app, threaded=True, ssl_context=ssl_context)
    rec.base_url = f"{scheme}://127.0.0.1:{server.server_port}"
    # A short poll interval keeps shutdown() fast (the default is 0.5 s per test).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running plain-HTTP receiver on 127.0.0.1:<free port>, stopped after the test."""
    yield from _serve(Receiver(), "http")


@pytest.fixture
def tls_receiver(tmp_path: pathlib.Path) -> Iterator[tuple[Receiver, str]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names only ``hooks.test``; yields the CA bundle path."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.test").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    for rec in _serve(Receiver(), "https", context):
        yield rec, str(bundle)
