"""`healthscore serve|worker|scheduler`: the web app, a Celery worker, and the scheduler."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
from dataclasses import fields

import click

from connector.commands.context import settings_from
from connector.config import Settings


def port_problem(host: str, port: int) -> tuple[str, str] | None:
    """(what, kind) when the web UI could not listen on host:port, kind one of "host", "in use", "port";
    None: it can. Binds the way werkzeug will (with SO_REUSEADDR) and lets go at once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}: {exc.strerror or exc}", "host"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use by another program", "in use"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"cannot listen on {host}: not an address of this machine", "host"
            if exc.errno == errno.EACCES:
                return f"port {port} needs administrator rights (ports below 1024 do)", "port"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}", "port"
    return None


def _free_port(host: str, port: int) -> int | None:
    for candidate in range(max(port, 1023) + 1, min(max(port, 1023) + 50, 65535) + 1):
        if port_problem(host, candidate) is None:
            return candidate
    return None


def check_port(host: str, port: int, retry: str) -> None:
    """Stop (exit 2) before any work when the web UI could not listen on host:port. `retry` is the command to
    suggest, with `{port}` where another port goes."""
    found = port_problem(host, port)
    if found is None:
        return
    problem, kind = found
    click.echo(f"error: {problem}; nothing was done", err=True)
    if kind == "host":
        hint = "use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every network interface)"
    else:
        free = _free_port(host, port)
        other = retry.format(port=free if free else "<another port>")
        stop = "stop the program using it (an earlier `make demo` or `healthscore serve`?) or " * (
            kind == "in use"
        )
        hint = f"{stop}choose another port: {other}"
    click.echo(f"hint: {hint}", err=True)
    sys.exit(2)


def check_broker(url: str, command: str) -> None:
    """Stop (exit 2) when the Redis broker does not answer: the worker otherwise retried 100 times in
    Celery's ERROR lines, and the scheduler started and logged a ConnectionError every minute."""
    if not url.startswith(("redis://", "rediss://")):
        return
    import redis

    from connector.commands.db import _safe  # the URL without its password, as `db` prints it

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        click.echo(
            f"error: `healthscore {command}` needs Redis at {_safe(url)}, which does not answer "
            f"({type(exc).__name__}); nothing was started",
            err=True,
        )
        click.echo(
            "hint: start it (`make services` starts the local Redis) or set HEALTHSCORE_BROKER_URL to one "
            "that runs",
            err=True,
        )
        sys.exit(2)


def public_url_overrides(configured: str, host: str, port: int) -> dict[str, str] | None:
    """Where links the app writes (invitations, sign-in links, the API reference's server) must point when
    nobody set HEALTHSCORE_PUBLIC_BASE_URL: the address this server listens on. Before, `serve --port 5001`
    kept the default http://127.0.0.1:5000, so an invitation link led to a port nothing served. A URL
    someone configured (behind a proxy, say) is kept."""
    default = next(f.default for f in fields(Settings) if f.name == "public_base_url")
    if configured != default:
        return None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - mapping, not binding
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    return None if url == configured else {"public_base_url": url}


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on: 127.0.0.1 this machine only, 0.0.0.0 every network interface.",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port of the web UI."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web UI, REST API and inbound webhooks (use a WSGI server such as gunicorn in production:
    `gunicorn 'connector:create_app()'`)."""
    from werkzeug.serving import run_simple

    from connector import create_app

    settings = settings_from(ctx, schema=True)
    check_port(host, port, f"healthscore serve --host {host} --port {{port}}")
    overrides = public_url_overrides(settings.public_base_url, host, port)
    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    # Ctrl+C is the way to stop it: werkzeug swallows it once serving (and returns); one that lands while the
    # server starts must not read "interrupted … run the same command again to finish".
    with contextlib.suppress(KeyboardInterrupt):
        run_simple(host, port, create_app(overrides), threaded=True, use_reloader=False)
    click.echo("\nstopped", err=True)


@click.command("worker")
@click.option(
    "--concurrency", type=click.IntRange(1, 256), default=2, show_default=True, help="Worker processes."
)
@click.pass_context
def worker(ctx: click.Context, concurrency: int) -> None:
    """Run a Celery worker (Redis broker from HEALTHSCORE_BROKER_URL) for passes, refreshes and webhooks."""
    from connector.jobs.tasks import QUEUE, configure

    settings = settings_from(ctx, schema=True)
    check_broker(settings.broker_url, "worker")
    app = configure(settings)
    app.worker_main(["worker", f"--concurrency={concurrency}", "--loglevel=INFO", "-Q", QUEUE])


@click.command("scheduler")
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Enqueue a pass per tenant every HEALTHSCORE_SYNC_INTERVAL_MINUTES and webhook delivery every minute."""
    from connector.jobs.scheduler import build

    settings = settings_from(ctx, schema=True)
    check_broker(settings.broker_url, "scheduler")
    if settings.log_level.upper() != "DEBUG":
        # APScheduler's INFO lines ('Adding job tentatively -- it will be properly scheduled when the
        # scheduler starts', then 'Running job …' and '… executed successfully' every minute) bury ours.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo(f"scheduling passes every {settings.sync_interval_minutes} min (Ctrl-C to stop)", err=True)
    try:
        build(settings).start()
    except KeyboardInterrupt:  # the way to stop it: not an error
        click.echo("scheduler stopped", err=True)


COMMANDS = [serve, worker, scheduler]
