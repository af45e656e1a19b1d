"""`healthscore keys`: token-encryption keys (generate, rotate stored secrets to the newest key)."""

from __future__ import annotations

import click

from connector.commands.context import settings_from
from connector.commands.output import emit
from connector.installs.vault import generate_key


@click.group("keys")
def COMMAND() -> None:  # noqa: N802
    """Encryption keys for stored vendor tokens and webhook secrets."""


@COMMAND.command("generate")
def generate() -> None:
    """Print a new Fernet key. Put it FIRST in HEALTHSCORE_TOKEN_KEYS, keep the old ones after it."""
    click.echo(generate_key())


@COMMAND.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def rotate(ctx: click.Context, as_json: bool) -> None:
    """Re-encrypt every stored token and secret under the newest key (then old keys can be dropped)."""
    from connector.store.repo import rotate_secrets

    settings = settings_from(ctx, schema=True)
    count = rotate_secrets(settings)
    emit({"rotated": count}, as_json, f"re-encrypted {count} stored secrets under the newest key")
