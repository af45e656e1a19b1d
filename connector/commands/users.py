"""`healthscore users`: the first admin of a tenant, invitations, role changes and removal."""

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


def _user_id(session: object, tenant_id: int, slug: str, email: str) -> int:
    from sqlalchemy import func, select

    from connector.store import models as m

    found = session.scalar(  # type: ignore[attr-defined]
        select(m.User.id).where(
            m.User.tenant_id == tenant_id, func.lower(m.User.email) == email.strip().lower()
        )
    )
    if found is None:
        fail(
            f"no user {email} in {slug}",
            f"the workspace's people are on its Users page (tenant {slug})",
            code=2,
        )
    return int(found)


def _revoked_out(keys: list[object]) -> list[dict[str, object]]:
    return [{"name": k.name, "prefix": k.prefix, "scope": k.scope} for k in keys]  # type: ignore[attr-defined]


@COMMAND.command("remove")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="The e-mail address of the person to remove.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def remove(ctx: click.Context, slug: str, email: str, as_json: bool) -> None:
    """Remove someone: their sessions end, and the API keys they created are revoked (the last admin
    cannot be removed).

    \b
    Example:
      healthscore users remove --tenant northwind --email jo@northwind.example
    """
    from connector.installs import users as auth
    from connector.store.db import transaction
    from connector.store.repo import audit

    settings = settings_from(ctx, schema=True)
    revoked: list[object] = []
    with transaction(settings.sqlalchemy_url) as session:
        tenant_id = _tenant_id(session, slug, None)
        user_id = _user_id(session, tenant_id, slug, email)
        try:
            user = auth.remove_user(
                session,
                tenant_id,
                user_id,
                before_delete=lambda u: revoked.extend(
                    auth.revoke_creator_keys(session, tenant_id, u, None, "cli")
                ),
            )
        except auth.AuthError as exc:
            session.rollback()
            fail("; ".join(exc.problems), "nothing was changed", code=2)
            return
        audit(session, tenant_id, "cli", "user.removed", user.email)
        out = {"tenant": slug, "email": user.email, "revoked_keys": _revoked_out(revoked)}
        said = auth.revoked_keys_sentence(revoked)  # type: ignore[arg-type]
    emit(out, as_json, f"{out['email']} is removed and signed out everywhere. {said}".rstrip())


@COMMAND.command("set-role")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="The e-mail address of the person.")
@click.option(
    "--role",
    type=click.Choice(["admin", "rep", "support_lead", "viewer"]),
    required=True,
    help="The new role. Leaving admin revokes the admin-scope API keys they created.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def set_role(ctx: click.Context, slug: str, email: str, role: str, as_json: bool) -> None:
    """Change someone's role: their sessions end; a demoted admin's admin-scope API keys are revoked (the
    last admin cannot be demoted).

    \b
    Example:
      healthscore users set-role --tenant northwind --email jo@northwind.example --role viewer
    """
    from connector.installs import users as auth
    from connector.store.db import transaction
    from connector.store.repo import audit

    settings = settings_from(ctx, schema=True)
    with transaction(settings.sqlalchemy_url) as session:
        tenant_id = _tenant_id(session, slug, None)
        user_id = _user_id(session, tenant_id, slug, email)
        try:
            user = auth.set_role(session, tenant_id, user_id, role)
        except auth.AuthError as exc:
            session.rollback()
            fail("; ".join(exc.problems), "nothing was changed", code=2)
            return
        audit(session, tenant_id, "cli", "user.role_changed", user.email, role=user.role)
        revoked = auth.revoke_creator_keys(session, tenant_id, user, user.role, "cli")
        out = {
            "tenant": slug,
            "email": user.email,
            "role": user.role,
            "revoked_keys": _revoked_out(list(revoked)),
        }
        said = auth.revoked_keys_sentence(revoked)
    label = auth.ROLE_LABELS.get(role, role)
    emit(out, as_json, f"{out['email']} is now {label}; their open sessions ended. {said}".rstrip())
