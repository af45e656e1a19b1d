"""`healthscore sandbox serve|tick`: run the Salesforce, HubSpot and Zendesk sandboxes; move their clock."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy.exc import SQLAlchemyError

from connector.commands.output import fail


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
    "--accounts",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Customers in the book (10000 ≈ 200,000 tickets).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65532),
    default=None,
    help="Control API on PORT (plain HTTP), Salesforce on PORT+1, HubSpot on PORT+2, Zendesk on PORT+3 "
    "(TLS). Omitted: every server on a free port.",
)
@click.option(
    "--rate-limits",
    type=click.Choice(["off", "real"]),
    default="off",
    show_default=True,
    help="real: enforce the vendors' documented API limits (HubSpot 100 requests / 10 s and 250,000 a day, "
    "Zendesk 700 / min, Salesforce 15,000 a day): 429 / 403 as the vendors answer. Switch at run time "
    'with POST <admin>/_sandbox/limits {"mode": "real"|"off"}.',
)
@click.option("--once", is_flag=True, hidden=True, help="Print the credentials and stop (for tests).")
def serve(seed: int, accounts: int, port: int | None, rate_limits: str, once: bool) -> None:
    """Serve the three vendor sandboxes and the control API on 127.0.0.1 until interrupted.

    Prints ONE JSON line on stdout: {"salesforce": {base_url, client_id, client_secret, access_token,
    refresh_token}, "hubspot": {...}, "zendesk": {...}, "admin": <control API URL>, "ca_file": <CA to trust>}.
    Vendor APIs serve TLS with a generated CA: clients trust `ca_file` (e.g. requests `verify=ca_file`).
    """
    from connector.demo.emulator import start_embedded

    click.echo(f"generating a book of {accounts} accounts (seed {seed}) …", err=True)
    sset = start_embedded(
        seed=seed, accounts=accounts, ports=_ports(port), rate_limits=rate_limits, cache_reads=True
    )
    try:
        click.echo(json.dumps(sset.credentials()))
        if once:
            return
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"control API: {sset.control_url}/_sandbox/  (Ctrl-C to stop)", err=True)
        if rate_limits == "real":
            click.echo("enforcing the vendors' API limits (GET /_sandbox/limits shows them)", err=True)
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
@click.pass_context
def tick(ctx: click.Context, days: int, url: str, as_json: bool) -> None:
    """Advance a running sandbox's clock DAYS days, generating that period's activity.

    New and updated tickets with replies, CSAT and NPS, renewal-deal progress, renewals resolving
    (renewed/churned), deletions and renames; the sandboxes then send their signed webhooks.
    """
    from connector.demo.emulator import Emulator, EmulatorUnavailableError

    where = "the admin URL `healthscore sandbox serve` prints (or the one the demo prints after 'try:')"
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
        fail(f"--sandbox {url!r} is not a URL", f"pass {where}, e.g. http://127.0.0.1:8700", code=2)
        return
    try:
        resp = Emulator(url).tick(days)
    except EmulatorUnavailableError:
        fail(
            f"cannot reach the sandbox control API at {url}: nothing answers there",
            f"start one with `healthscore sandbox serve` (or `healthscore demo`) and pass {where}",
            code=2,
        )
        return
    body: dict[str, Any] = (
        resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else {}
    )
    if resp.status_code != 200:
        raise click.ClickException(
            f"tick refused ({resp.status_code}): {body.get('message', resp.text[:200])}"
        )
    _record(ctx, url)
    if as_json:
        click.echo(json.dumps(body))
        return
    counts = ", ".join(f"{n} {name}" for name, n in body["counts"].items())
    click.echo(f"sandbox clock now {body['now']} (+{days} days): {counts}")


def _record(ctx: click.Context, url: str) -> None:
    """Tenants installed against this sandbox follow its clock: store the new "now" (and truth) for them."""
    from connector.commands.context import settings_from
    from connector.demo.emulator import EmulatorUnavailableError, record_world

    try:
        record_world(settings_from(ctx).sqlalchemy_url, url)
    except (EmulatorUnavailableError, SQLAlchemyError) as exc:
        click.echo(
            f"note: tenants' stored clock not updated ({type(exc).__name__}); run `healthscore db upgrade`",
            err=True,
        )


COMMAND = sandbox
