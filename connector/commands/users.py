"""`healthscore users`: the first admin of a tenant, and invitations."""

from __future__ import annotations

import sys

import click

from connector.commands.context import settings_from
from connector.commands.output import emit, fail


@click.group("users")
def COMMAND() -> None:  # noqa: N802 - the registry looks for this name
    """People who sign in to the web app (admins and viewers of a tenant)."""


def _tenant_id(session: object, slug: str, name: str | None) -> int:
    from connector.store import repo as store

    found = store.tenants(session, slug)  # type: ignore[arg-type]
    if found:
        return found[0].id
    if name is None:
        fail(
            f"no tenant {slug!r}",
            "pass --create-tenant NAME to create it, or check `healthscore demo`",
            code=2,
        )
    return store.ensure_tenant(session, slug, name).id  # type: ignore[arg-type]


@COMMAND.command("create-admin")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="The admin's e-mail address; they sign in with it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else prompt).")
@click.option(
    "--create-tenant", "tenant_name", default=None, help="Create the tenant with this name if missing."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def create_admin(
    ctx: click.Context, slug: str, email: str, password_stdin: bool, tenant_name: str | None, as_json: bool
) -> None:
    """Create an admin with a password (the first person of a tenant; others are invited)."""
    from connector.installs import users as auth
    from connector.store.db import transaction

    settings = settings_from(ctx, schema=True)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        fail(
            "no terminal to ask for the password on",
            f"pipe it in: printf '%s' \"$PASSWORD\" | healthscore users create-admin --tenant {slug} "
            f"--email {email} --password-stdin",
            code=2,
        )
        return
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    weak = auth.password_problems(password) or auth.guessable_password_problems(
        password, email=email, workspace=tenant_name or slug
    )
    if weak:
        fail("; ".join(weak), "choose another: a few unrelated words work well; nothing was saved", code=2)
        return
    with transaction(settings.sqlalchemy_url) as session:
        tenant_id = _tenant_id(session, slug, tenant_name)
        try:
            user = auth.create_user(session, tenant_id, email, "admin", password=password)
        except auth.AuthError as exc:
            session.rollback()
            fail("; ".join(exc.problems), "nothing was saved: correct it and run the command again", code=2)
            return
        from connector.store.repo import audit

        audit(session, tenant_id, "cli", "user.created", user.email, role="admin")
        out = {"tenant": slug, "email": user.email, "role": "admin", "id": user.id}
    emit(out, as_json, f"admin {out['email']} created for tenant {slug}")


@COMMAND.command("invite")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="The e-mail address the invitation is for.")
@click.option(
    "--role",
    type=click.Choice(["admin", "rep", "support_lead", "viewer"]),
    default="viewer",
    show_default=True,
    help="admin: also changes settings, users and the scoring model; rep: starts on their own accounts "
    "(matched by e-mail to the CRM owner); support_lead: starts on the support workbench; viewer: reads only.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def invite(ctx: click.Context, slug: str, email: str, role: str, as_json: bool) -> None:
    """Invite someone: prints the one-time link where they set their password."""
    from connector.installs import users as auth
    from connector.store.db import transaction

    settings = settings_from(ctx, schema=True)
    with transaction(settings.sqlalchemy_url) as session:
        tenant_id = _tenant_id(session, slug, None)
        try:
            user, token = auth.invite(session, tenant_id, email, role)
        except auth.AuthError as exc:
            session.rollback()
            fail("; ".join(exc.problems), "nothing was saved: correct it and run the command again", code=2)
            return
        from connector.store.repo import audit

        audit(session, tenant_id, "cli", "user.invited", user.email, role=role)
    link = f"{settings.public_base_url.rstrip('/')}/invite/{token}"
    emit(
        {"tenant": slug, "email": user.email, "role": role, "invite_url": link},
        as_json,
        f"invitation link (send it to {user.email}): {link}",
    )
