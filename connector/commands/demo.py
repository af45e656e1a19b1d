"""`healthscore demo`: the whole chain on the embedded default (vendor sandboxes + SQLite), then the UI."""

from __future__ import annotations

import contextlib
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
@click.option(
    "--accounts",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Accounts in the embedded sandbox book.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the embedded sandbox book.")
@click.option(
    "--history-days",
    type=click.IntRange(0, 3650),
    default=90,
    show_default=True,
    help="Simulate this many days of vendor activity after the first pass (a pass every 15 days), so trends, "
    "charts and band-change webhooks have history. 0: one pass only.",
)
@click.option("--no-serve", is_flag=True, help="Stop after the pass instead of serving the web UI.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port of the web UI."
)
@click.option("--json", "as_json", is_flag=True, help="Print the pass's summary as one JSON object.")
@click.option(
    "--verbose", "-v", is_flag=True, help="Show every log line (each webhook delivered, each vendor call)."
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Run the passes on N Celery worker processes (plus the scheduler), split into parts, instead of "
    "in this process. Needs Redis (--broker-url) and a shared database (--database-url postgresql://…).",
)
@click.option("--database-url", default="", help="Database for --workers (default: the configured one).")
@click.option("--broker-url", default="", help="Redis for --workers (default: HEALTHSCORE_BROKER_URL).")
@click.option(
    "--rate-limits",
    type=click.Choice(["off", "real"]),
    default="off",
    show_default=True,
    help="real: the embedded sandboxes enforce the vendors' documented API limits.",
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
    workers: int = 0,
    database_url: str = "",
    broker_url: str = "",
    rate_limits: str = "off",
) -> None:
    """Run the main job end to end on the vendor sandboxes: install two demo tenants, sync, link, score
    sentiment, score health, write scores back into the sandbox CRMs, deliver band-change webhooks to a
    local receiver, then serve the web UI (sign-in printed)."""
    base = settings_from(ctx)
    if not no_serve:  # before the minutes of the pass, not after them
        from connector.commands.serve import check_port

        check_port("127.0.0.1", port, "healthscore demo --port {port} (or make demo DEMO_PORT={port})")
    # The demo's receiver and sandboxes live on loopback: allow private webhook targets for this process.
    overrides: dict[str, Any] = {"webhooks_allow_private_targets": True, "instance_path": base.instance_path}
    if database_url:
        overrides["database_url"] = database_url
    if broker_url:
        overrides["broker_url"] = broker_url
    settings = load_settings(overrides)
    say = (lambda msg: click.echo(msg, err=True)) if as_json else click.echo
    if not verbose:
        # One line per step with counts is the demo's own output; per-request logs (each webhook delivered,
        # each receiver hit) would bury it. Warnings and errors still show.
        _quiet_logs()
    if workers:
        _check_services(settings)
    migrate.upgrade(settings.sqlalchemy_url)
    fleet = _fleet(settings, workers) if workers else None
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
        sandbox = start_embedded(
            seed=seed, accounts=accounts, now=start, rate_limits=rate_limits, cache_reads=True
        )
        creds = sandbox.credentials()
    progress_on = sys.stderr.isatty() and not as_json
    if progress_on:
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
    runs = _passes(settings, info["tenants"], fleet, say, as_json)
    for slug, run in runs.items():
        summary["tenants"][slug]["pass"] = {step: _counts(step, r) for step, r in run["steps"].items()}
        summary["tenants"][slug]["status"] = run["status"]
    for day in range(STEP_DAYS, history_days + 1, STEP_DAYS):
        say(f"simulating day {day}/{history_days} of vendor activity …")
        _tick(settings, sandbox, str(creds["admin"]), STEP_DAYS)
        passes = _passes(settings, info["tenants"], fleet, None, True)
        if progress_on:  # wipe the last page counter ("  zendesk surveys: 37 records …", no newline)
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)
        for slug, run in passes.items():
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
        if fleet is not None:
            fleet.stop()
        if sandbox is not None:
            sandbox.stop()
        return
    try:
        if fleet is not None:
            fleet.start_scheduler()  # later passes on the interval, on the same workers
            say(f"scheduler and {workers} workers running (logs in {fleet.logdir})")
        _serve(settings, port, info["users"], say, creds, eager=fleet is None)
    finally:
        if fleet is not None:
            fleet.stop()


def _check_services(settings: Any) -> None:
    """--workers needs a shared database and Redis: say what to start when either is missing."""
    if settings.sqlalchemy_url.startswith("sqlite"):
        raise click.UsageError(
            "--workers needs a database the worker processes share: pass --database-url "
            "postgresql://USER@HOST:5432/DB (scripts/ensure-services.sh starts a local PostgreSQL)"
        )
    import redis

    try:
        redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        from connector.commands.db import _safe  # the URL without its password, as `db` prints it

        raise click.UsageError(
            f"--workers needs Redis at {_safe(settings.broker_url)} ({type(exc).__name__}); start it with "
            "scripts/ensure-services.sh or pass --broker-url redis://HOST:6379/0"
        ) from exc


def _fleet(settings: Any, workers: int) -> Any:
    """Start N worker processes on the settings' broker and database."""
    from pathlib import Path

    from connector.demo.scale import Fleet

    fleet = Fleet(settings, Path(settings.instance_path) / "demo-workers")
    fleet.start_workers(workers)
    return fleet


def _passes(settings: Any, slugs: list[str], fleet: Any, say: Any, quiet: bool) -> dict[str, Any]:
    """One pass per tenant: in this process, or split across the workers (all tenants at once)."""
    if fleet is None:
        out = {}
        for slug in slugs:
            if say is not None:
                say(f"{slug}: running the pass …")
            out[slug] = pipeline.run_pass(
                settings, slug, progress=(lambda s, r: None) if quiet else _progress
            )[slug]
        return out
    from connector.demo.scale import run_passes

    if say is not None:
        say(f"running the passes of {', '.join(slugs)} on {len(fleet.workers)} workers …")
    ids = {slug: _tenant_id(settings, slug) for slug in slugs}
    reports = run_passes(settings, list(ids.values()), progress=None if quiet or say is None else say)
    return {slug: _as_pass(reports[tid]) for slug, tid in ids.items()}


def _as_pass(report: dict[str, Any]) -> dict[str, Any]:
    """A split pass's report in the one-process pass's shape (steps → one result each) for the summary."""
    steps = report.get("steps") or {}
    sync = [r for r in steps.get("sync") or [] if isinstance(r, dict) and r.get("vendor")]
    by_vendor: dict[str, dict[str, Any]] = {}
    for r in sync:
        inst = by_vendor.setdefault(
            r["vendor"], {"vendor": r["vendor"], "streams": [], "api_calls": 0, "status": "ok"}
        )
        inst["streams"].append(r)
        inst["api_calls"] += int(r.get("api_calls") or 0)
        if r.get("status") not in {"ok", "skipped"}:
            inst["status"] = r.get("status")
    out: dict[str, Any] = {"sync": {"installations": list(by_vendor.values())}}
    for name in ("link", "score"):
        parts = steps.get(name) or [{}]
        out[name] = parts[0] or {}
    chunks = [c for c in steps.get("sentiment") or [] if isinstance(c, dict)]
    out["sentiment"] = {
        k: sum(int(c.get(k) or 0) for c in chunks)
        for k in {k for c in chunks for k, v in c.items() if isinstance(v, int)}
    }
    out["write_back"] = {
        k: v
        for part in steps.get("write_back") or []
        if isinstance(part, dict)
        for k, v in part.items()
        if isinstance(v, dict)
    }
    out["events"] = steps.get("events") or {}
    return {"status": report.get("status", "ok"), "steps": out}


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


def command_name(argv0: str | None = None, path: str | None = None) -> str:
    """How to type `healthscore` in another terminal: `make demo` runs .venv/bin/healthscore, which is not
    on a fresh shell's PATH, so a hint saying `healthscore …` answered "command not found"."""
    import os
    import shutil

    here = argv0 if argv0 is not None else sys.argv[0]
    if os.path.basename(here) != "healthscore":
        return "healthscore"
    found = shutil.which("healthscore", path=path)
    if found and os.path.realpath(found) == os.path.realpath(here):
        return "healthscore"
    relative = os.path.relpath(here)
    return relative if not relative.startswith("..") else os.path.abspath(here)


def _serve(
    settings: Any, port: int, users: list[dict[str, str]], say: Any, creds: dict[str, Any], eager: bool = True
) -> None:
    from werkzeug.serving import run_simple

    from connector import create_app
    from connector.demo.run import subscribe_sandbox_webhooks
    from connector.installs.installs import oauth_apps_from_sandbox

    base_url = f"http://127.0.0.1:{port}"
    overrides = {
        "webhooks_allow_private_targets": True,
        "instance_path": settings.instance_path,
        "public_base_url": base_url,
        # Without workers inbound refreshes run in a background thread; with them, on the workers.
        "celery_always_eager": eager,
    }
    if not eager:
        overrides |= {"database_url": settings.sqlalchemy_url, "broker_url": settings.broker_url}
    app = create_app(overrides)
    # From now on a vendor change (e.g. `healthscore sandbox tick`) reaches the CRM fields within seconds.
    subscribe_sandbox_webhooks(app.config["HEALTHSCORE"], creds, base_url)
    # Admin → Integrations can reconnect through the sandboxes' own OAuth consent pages.
    app.config["OAUTH_APPS"] = oauth_apps_from_sandbox(creds)
    say(f"\nhealthscore is running at http://127.0.0.1:{port}/")
    from connector.demo.run import add_demo_people

    # A rep signed in as a real CRM owner sees "My accounts"; a support lead lands on the support workbench.
    for u in [*users, *add_demo_people(settings)]:
        say(f"  sign in as {u['email']} / {u['password']}  ({u['tenant']}, {u.get('role', 'Admin')})")
    if creds.get("admin"):
        say(f"vendor webhooks from the sandbox now reach {base_url}/inbound/…; in another terminal, try:")
        say(f"  {command_name()} sandbox tick --days 7 --sandbox {creds['admin']}")
    say("press Ctrl+C to stop")
    sys.stdout.flush()
    # Ctrl+C, as printed, is the way to stop it: werkzeug swallows it once serving (and returns); one that
    # lands while the server starts must not read "interrupted … run the same command again to finish".
    with contextlib.suppress(KeyboardInterrupt):
        run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)
    say("\nstopped; the demo's data stays in the database for the other commands")
