"""The runner: servers up and down, the credentials contract, webhooks out after a tick, per-test reset, CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from integrations.sandbox.context import Fault
from integrations.sandbox.runner import CREDENTIAL_KEYS, SandboxSet

pytestmark = [pytest.mark.usefixtures("_vendor_modules")]


@pytest.fixture(scope="module")
def _vendor_modules() -> None:
    for vendor in ("salesforce", "hubspot", "zendesk"):
        pytest.importorskip(f"integrations.sandbox.{vendor}")


class Receiver:
    """A plain-HTTP webhook receiver on loopback that records what it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []

        @Request.application
        def app(request: Request) -> Response:
            self.received.append((request.path, dict(request.headers), request.get_data()))
            return Response("ok")

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _plain() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def test_credentials_follow_the_contract(sandbox: SandboxSet) -> None:
    creds = sandbox.credentials()
    assert set(creds) == {"salesforce", "hubspot", "zendesk", "admin", "ca_file"}
    for vendor in ("salesforce", "hubspot", "zendesk"):
        assert tuple(creds[vendor]) == CREDENTIAL_KEYS
        assert all(isinstance(v, str) and v for v in creds[vendor].values())
        assert creds[vendor]["base_url"] == sandbox.base_urls[vendor]
        assert creds[vendor]["base_url"].startswith("https://127.0.0.1:")
    assert creds["admin"] == sandbox.control_url
    assert creds["admin"].startswith("http://127.0.0.1:")
    assert Path(creds["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert json.loads(json.dumps(creds)) == creds


def test_control_api_serves_the_same_credentials_over_plain_http(sandbox: SandboxSet) -> None:
    resp = _plain().get(f"{sandbox.control_url}/_sandbox/credentials", timeout=10)
    assert resp.json() == sandbox.credentials()


def test_vendor_over_tls_with_scripted_fault_and_exact_counts(
    sandbox: SandboxSet, sandbox_http: requests.Session
) -> None:
    """Zendesk answers 429 + Retry-After once as scripted, then 200; the counter sees both calls."""
    creds = sandbox.credentials()["zendesk"]
    admin = f"{sandbox.control_url}/_sandbox"
    fault = {
        "vendor": "zendesk",
        "pattern": "GET /api/v2/organizations*",
        "kind": "rate_limit",
        "times": 1,
        "retry_after": 9,
    }
    assert _plain().post(f"{admin}/faults", json=fault, timeout=10).status_code == 201
    url = f"{creds['base_url']}/api/v2/organizations.json"
    headers = {"Authorization": f"Bearer {creds['access_token']}"}
    first = sandbox_http.get(url, headers=headers, timeout=10)
    second = sandbox_http.get(url, headers=headers, timeout=10)
    assert (first.status_code, first.headers.get("Retry-After")) == (429, "9")
    assert second.status_code == 200
    counts = _plain().get(f"{admin}/counters", timeout=10).json()["counters"]
    assert counts == {"zendesk": {"GET /api/v2/organizations.json": 2}}


def test_tick_sends_signed_vendor_webhooks(sandbox: SandboxSet, receiver: Receiver) -> None:
    admin = f"{sandbox.control_url}/_sandbox"
    for vendor in ("zendesk", "hubspot", "salesforce"):
        body = {"vendor": vendor, "url": f"{receiver.url}/{vendor}"}
        assert _plain().post(f"{admin}/webhooks", json=body, timeout=10).status_code == 200
    resp = _plain().post(f"{admin}/tick", json={"days": 7}, timeout=60).json()
    sandbox.flush_webhooks()
    assert resp["counts"]["tickets"] > 0
    paths = [path for path, _, _ in receiver.received]
    assert len(paths) == len(sandbox.deliveries) > 0
    assert all(d.status == 200 for d in sandbox.deliveries)
    assert {"/zendesk", "/hubspot", "/salesforce"} <= set(paths)
    zendesk_headers = next(h for p, h, _ in receiver.received if p == "/zendesk")
    assert "X-Zendesk-Webhook-Signature" in zendesk_headers
    hubspot_headers = next(h for p, h, _ in receiver.received if p == "/hubspot")
    assert "X-Hubspot-Signature-V3" in hubspot_headers


def test_tick_without_webhook_urls_sends_nothing(sandbox: SandboxSet) -> None:
    changes = sandbox.tick(3, wait=True)
    assert not changes.empty()
    assert sandbox.deliveries == []


def test_restore_undoes_ticks_faults_counters_and_writes(sandbox: SandboxSet) -> None:
    book = sandbox.ctx.book
    start, tickets = book.now, len(book.tickets)
    sandbox.tick(5)
    sandbox.ctx.faults.script("hubspot", "*", Fault(kind="server_error"))
    sandbox.ctx.counters.record("hubspot", "GET /x")
    sandbox.ctx.vendors["hubspot"].written["5000002"] = {"healthscore_score": "50"}
    sandbox.restore()
    assert sandbox.ctx.book is book  # restored in place: references held by vendor apps stay valid
    assert (book.now, len(book.tickets)) == (start, tickets)
    assert sandbox.ctx.faults.describe() == []
    assert sandbox.ctx.counters.snapshot() == {}
    assert sandbox.ctx.vendors["hubspot"].written == {}


def test_each_test_starts_at_the_initial_clock(sandbox: SandboxSet) -> None:
    """Runs after the tick tests above: the fixture put the clock back."""
    from integrations.sandbox.seed import DEFAULT_NOW

    assert sandbox.ctx.book.now == DEFAULT_NOW


def test_start_with_a_given_book_and_stop() -> None:
    from integrations.sandbox.seed import generate_book

    book = generate_book(seed=1, accounts=12)
    with SandboxSet.start(seed=1, tls=False, book=book) as sset:
        assert sset.ctx.book is book
        assert sset.ca_file is None
        url = sset.control_url
        assert _plain().get(f"{url}/_sandbox/stats", timeout=10).json()["customers"] == 12
        sset.tick(1)
        assert book.now == generate_book(seed=1, accounts=12).now + timedelta(days=1)
    with pytest.raises(requests.ConnectionError):
        _plain().get(f"{url}/_sandbox/stats", timeout=2)


# --- the CLI group ------------------------------------------------------------------------------------------


def test_cli_serve_prints_one_json_line_of_credentials() -> None:
    from connector.commands.sandbox import COMMAND

    result = CliRunner().invoke(COMMAND, ["serve", "--once", "--accounts", "10", "--seed", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    creds = json.loads(lines[0])
    assert set(creds) == {"salesforce", "hubspot", "zendesk", "admin", "ca_file"}
    assert tuple(creds["hubspot"]) == CREDENTIAL_KEYS


def test_cli_port_layout() -> None:
    from connector.commands.sandbox import _ports

    assert _ports(8700) == {"control": 8700, "salesforce": 8701, "hubspot": 8702, "zendesk": 8703}
    assert _ports(None) is None


def test_cli_tick_against_a_running_sandbox(sandbox: SandboxSet) -> None:
    from connector.commands.sandbox import COMMAND

    start = sandbox.ctx.book.now
    result = CliRunner().invoke(COMMAND, ["tick", "--days", "2", "--sandbox", sandbox.control_url, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["now"] == (start + timedelta(days=2)).isoformat()
    assert "counts" in body
    text = CliRunner().invoke(COMMAND, ["tick", "--days", "1", "--sandbox", sandbox.control_url])
    assert text.exit_code == 0
    assert "sandbox clock now" in text.stdout


def test_cli_tick_reports_an_unreachable_sandbox() -> None:
    from connector.commands.sandbox import COMMAND

    result = CliRunner().invoke(COMMAND, ["tick", "--days", "1", "--sandbox", "http://127.0.0.1:9"])
    assert result.exit_code == 2  # nothing was done (ce88209: fail() with a hint, README exit codes)
    assert "cannot reach" in result.output


def test_cli_help_explains_the_commands() -> None:
    from connector.commands.sandbox import COMMAND

    assert "PORT+1" in CliRunner().invoke(COMMAND, ["serve", "--help"]).output
    assert "control API" in CliRunner().invoke(COMMAND, ["tick", "--help"]).output
