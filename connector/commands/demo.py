"""`healthscore demo`: the whole chain on the embedded default (vendor sandboxes + SQLite), then the UI."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from connector.commands.context import settings_from
from connector.commands.output import json_safe
from connector.commands.pipeline import _progress, _summary
from connector.config import load_settings
from connector.installs.provision import ensure_all
from connector.pipeline import run as pipeline
from connector.store import migrate


@click.command("demo")
@click.option("--sandbox", "sandbox_url", help="Control API URL of a running `healthscore sandbox serve`.")
@click.option("--accounts", default=500, show_default=True, help="Accounts in the embedded sandbox book.")
@click.option("--seed", default=0, show_default=True, help="Seed of the embedded sandbox book.")
@click.option(
    "--history-days",
    default=90,
    show_default=True,
    help="Simulate this many days of vendor activity after the first pass (a pass every 15 days), so trends, "
    "charts and band-change webhooks have history. 0: one pass only.",
)
@click.option("--no-serve", is_flag=True, help="Stop after the pass instead of serving the web UI.")
@click.option("--port", default=5000, show_default=True, help="Port of the web UI.")
@click.option("--json", "as_json", is_flag=True, help="Print the pass's summary as one JSON object.")
@click.option(
    "--verbose", "-v", is_flag=True, help="Show every log line (each webhook delivered, each vendor call)."
)
@click.pass_context
def COMMAND(  # noqa: N802
    ctx: click.Context,
    sandbox_url: str | None,
    accounts: int,
    seed: int,
    history_days: int,
    no_serve: bool,
    port: int,
    as_json: bool,
    verbose: bool,
) -> None:
    """Run the main job end to end on the vendor sandboxes: install two demo tenants, sync, link, score
    sentiment, score health, write scores back into the sandbox CRMs, deliver band-change webhooks to a
    local receiver, then serve the web UI (sign-in printed)."""
    base = settings_from(ctx)
    # The demo's receiver and sandboxes live on loopback: allow private webhook targets for this process.
    settings = load_settings({"webhooks_allow_private_targets": True, "instance_path": base.instance_path})
    say = (lambda msg: click.echo(msg, err=True)) if as_json else click.echo
    if not verbose:
        # One line per step with counts is the demo's own output; per-request logs (each webhook delivered,
        # each receiver hit) would bury it. Warnings and errors still show.
        _quiet_logs()
    migrate.upgrade(settings.sqlalchemy_url)
    from connector.demo.run import Receiver, credentials_from, prepare

    sandbox = None
    if sandbox_url:
        creds = credentials_from(sandbox_url)
        say(f"using the running sandbox at {sandbox_url}")
    else:
        from connector.demo.emulator import start_embedded

        say(f"starting the vendor sandboxes ({accounts} accounts, seed {seed}) …")
        # Start the simulated world `history_days` ago so that, after the simulated days, it ends today.
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=history_days
        )
        sandbox = start_embedded(seed=seed, accounts=accounts, now=start)
        creds = sandbox.credentials()
    if sys.stderr.isatty() and not as_json:
        from connector.commands.pipeline import _page_progress
        from connector.pipeline.sync import PAGE_PROGRESS

        PAGE_PROGRESS.set(_page_progress)
    receiver = Receiver().start()
    info = prepare(settings, creds, receiver.url)
    receiver.secrets.extend(info["webhook_secrets"])
    summary: dict[str, Any] = {"sandbox": creds.get("admin"), "tenants": {}}
    for slug in info["tenants"]:
        tid = _tenant_id(settings, slug)
        say(f"{slug}: provisioning custom fields …")
        summary["tenants"][slug] = {"fields": ensure_all(settings, tid)}
        say(f"{slug}: running the pass …")
        run = pipeline.run_pass(settings, slug, progress=(lambda s, r: None) if as_json else _progress)[slug]
        summary["tenants"][slug]["pass"] = {step: _counts(step, r) for step, r in run["steps"].items()}
        summary["tenants"][slug]["status"] = run["status"]
    for day in range(STEP_DAYS, history_days + 1, STEP_DAYS):
        say(f"simulating day {day}/{history_days} of vendor activity …")
        _tick(settings, sandbox, str(creds["admin"]), STEP_DAYS)
        for slug in info["tenants"]:
            run = pipeline.run_pass(settings, slug)[slug]
            if not as_json:
                score = run["steps"].get("score", {})
                click.echo(
                    f"  {slug}: {score.get('band_changes', 0)} band changes, {run['steps']['events'].get('delivered', 0)} webhooks delivered"
                )
            summary["tenants"][slug].setdefault("history", []).append(
                {
                    step: _counts(step, r)
                    for step, r in run["steps"].items()
                    if step in {"score", "write_back", "events"}
                }
            )
    summary["webhooks_received"] = len(receiver.received)
    summary["webhooks_rejected"] = receiver.rejected
    if as_json:
        click.echo(json.dumps(json_safe(summary), default=str, allow_nan=False))
    else:
        click.echo(
            f"webhooks received by the demo receiver: {len(receiver.received)} (verified with standardwebhooks)"
        )
    if no_serve:
        receiver.stop()
        if sandbox is not None:
            sandbox.stop()
        return
    _serve(settings, port, info["users"], say, creds)


STEP_DAYS = 15


def _quiet_logs() -> None:
    import logging

    for name in ("connector", "webhooks", "integrations", "nlp", "werkzeug", "celery"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _tick(settings: Any, sandbox: Any, admin_url: str, days: int) -> None:
    from connector.demo.emulator import Emulator, record_world

    if sandbox is not None:
        sandbox.tick(days, wait=True)
    else:
        Emulator(admin_url).tick(days).raise_for_status()
    record_world(settings.sqlalchemy_url, admin_url)


def _tenant_id(settings: Any, slug: str) -> int:
    from connector.store import repo as store
    from connector.store.db import transaction

    with transaction(settings.sqlalchemy_url) as session:
        return store.tenants(session, slug)[0].id


def _counts(step: str, r: dict[str, Any]) -> Any:
    if step == "sync":
        return {
            i["vendor"]: {
                "records": sum(s["read"] for s in i["streams"]),
                "api_calls": i["api_calls"],
                "status": i["status"],
            }
            for i in r.get("installations", [])
        }
    return (
        {k: v for k, v in r.items() if k not in {"unmatched", "rejections"}}
        if "error" not in r
        else {"error": r["error"], "summary": _summary(step, r)}
    )


def _serve(settings: Any, port: int, users: list[dict[str, str]], say: Any, creds: dict[str, Any]) -> None:
    from werkzeug.serving import run_simple

    from connector import create_app
    from connector.demo.run import subscribe_sandbox_webhooks
    from connector.installs.installs import oauth_apps_from_sandbox

    base_url = f"http://127.0.0.1:{port}"
    overrides = {
        "webhooks_allow_private_targets": True,
        "instance_path": settings.instance_path,
        "public_base_url": base_url,
        "celery_always_eager": True,  # no worker in the demo: inbound refreshes run in a background thread
    }
    app = create_app(overrides)
    # From now on a vendor change (e.g. `healthscore sandbox tick`) reaches the CRM fields within seconds.
    subscribe_sandbox_webhooks(app.config["HEALTHSCORE"], creds, base_url)
    # Admin → Integrations can reconnect through the sandboxes' own OAuth consent pages.
    app.config["OAUTH_APPS"] = oauth_apps_from_sandbox(creds)
    say(f"\nhealthscore is running at http://127.0.0.1:{port}/")
    for u in users:
        say(f"  sign in as {u['email']} / {u['password']}  ({u['tenant']})")
    if creds.get("admin"):
        say(f"vendor webhooks from the sandbox now reach {base_url}/inbound/…; try:")
        say(f"  healthscore sandbox tick --days 7 --sandbox {creds['admin']}")
    say("press Ctrl+C to stop")
    sys.stdout.flush()
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)
