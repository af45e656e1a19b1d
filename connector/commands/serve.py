"""`healthscore serve|worker|scheduler`: the web app, a Celery worker, and the scheduler."""

from __future__ import annotations

import click

from connector.commands.context import settings_from


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web UI, REST API and inbound webhooks (use a WSGI server such as gunicorn in production:
    `gunicorn 'connector:create_app()'`)."""
    from werkzeug.serving import run_simple

    from connector import create_app

    settings_from(ctx, schema=True)
    click.echo(f"serving on http://{host}:{port}/", err=True)
    run_simple(host, port, create_app(), threaded=True, use_reloader=False)


@click.command("worker")
@click.option(
    "--concurrency", type=click.IntRange(1, 256), default=2, show_default=True, help="Worker processes."
)
@click.pass_context
def worker(ctx: click.Context, concurrency: int) -> None:
    """Run a Celery worker (Redis broker from HEALTHSCORE_BROKER_URL) for passes, refreshes and webhooks."""
    from connector.jobs.tasks import QUEUE, configure

    app = configure(settings_from(ctx, schema=True))
    app.worker_main(["worker", f"--concurrency={concurrency}", "--loglevel=INFO", "-Q", QUEUE])


@click.command("scheduler")
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Enqueue a pass per tenant every HEALTHSCORE_SYNC_INTERVAL_MINUTES and webhook delivery every minute."""
    from connector.jobs.scheduler import build

    settings = settings_from(ctx, schema=True)
    click.echo(f"scheduling passes every {settings.sync_interval_minutes} min (Ctrl-C to stop)", err=True)
    try:
        build(settings).start()
    except KeyboardInterrupt:  # the way to stop it: not an error
        click.echo("scheduler stopped", err=True)


COMMANDS = [serve, worker, scheduler]
