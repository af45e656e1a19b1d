"""`healthscore sandbox serve|tick`: run the Salesforce, HubSpot and Zendesk sandboxes; move their clock."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
import requests

TICK_TIMEOUT = 600.0  # a long tick on a 10,000-account book takes a while


@click.group("sandbox")
def sandbox() -> None:
    """Loopback emulators of the Salesforce, HubSpot and Zendesk APIs over a seeded book of business.

    `serve` starts them and prints the credentials; `tick` advances a running sandbox's clock. The book,
    its ground truth and the control API are documented in integrations/sandbox/README.md.
    """


def _ports(port: int | None) -> dict[str, int] | None:
    if port is None:
        return None
    return {"control": port, "salesforce": port + 1, "hubspot": port + 2, "zendesk": port + 3}


@sandbox.command("serve")
@click.option(
    "--seed", default=0, show_default=True, help="Seed of the generated book (same seed, same book)."
)
@click.option(
    "--accounts", default=500, show_default=True, help="Customers in the book (10000 ≈ 200,000 tickets)."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65532),
    default=None,
    help="Control API on PORT (plain HTTP), Salesforce on PORT+1, HubSpot on PORT+2, Zendesk on PORT+3 "
    "(TLS). Omitted: every server on a free port.",
)
@click.option("--once", is_flag=True, hidden=True, help="Print the credentials and stop (for tests).")
def serve(seed: int, accounts: int, port: int | None, once: bool) -> None:
    """Serve the three vendor sandboxes and the control API on 127.0.0.1 until interrupted.

    Prints ONE JSON line on stdout: {"salesforce": {base_url, client_id, client_secret, access_token,
    refresh_token}, "hubspot": {...}, "zendesk": {...}, "admin": <control API URL>, "ca_file": <CA to trust>}.
    Vendor APIs serve TLS with a generated CA: clients trust `ca_file` (e.g. requests `verify=ca_file`).
    """
    from integrations.sandbox.runner import SandboxSet

    click.echo(f"generating a book of {accounts} accounts (seed {seed}) …", err=True)
    sset = SandboxSet.start(seed=seed, accounts=accounts, ports=_ports(port))
    try:
        click.echo(json.dumps(sset.credentials()))
        if once:
            return
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"control API: {sset.control_url}/_sandbox/  (Ctrl-C to stop)", err=True)
        try:
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sset.stop()


@sandbox.command("tick")
@click.option(
    "--days", type=click.IntRange(0, 3650), required=True, help="Days to advance the sandbox clock."
)
@click.option(
    "--sandbox", "url", required=True, help="Base URL of the running sandbox's control API (`admin`)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (counts and keys) instead of text."
)
def tick(days: int, url: str, as_json: bool) -> None:
    """Advance a running sandbox's clock DAYS days, generating that period's activity.

    New and updated tickets with replies, CSAT and NPS, renewal-deal progress, renewals resolving
    (renewed/churned), deletions and renames; the sandboxes then send their signed webhooks.
    """
    try:
        resp = requests.post(f"{url.rstrip('/')}/_sandbox/tick", json={"days": days}, timeout=TICK_TIMEOUT)
    except requests.RequestException as exc:
        raise click.ClickException(
            f"cannot reach the sandbox control API at {url}: {type(exc).__name__}"
        ) from exc
    body: dict[str, Any] = (
        resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else {}
    )
    if resp.status_code != 200:
        raise click.ClickException(
            f"tick refused ({resp.status_code}): {body.get('message', resp.text[:200])}"
        )
    if as_json:
        click.echo(json.dumps(body))
        return
    counts = ", ".join(f"{n} {name}" for name, n in body["counts"].items())
    click.echo(f"sandbox clock now {body['now']} (+{days} days): {counts}")


COMMAND = sandbox
