"""Changing one's own password (top bar → Change password) and an admin's "New sign-in link" for a person
who forgot theirs (Admin → Users). Before, neither existed: a forgotten password locked the person out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import PASSWORD, TenantData, sign_in_as, sign_in_user

NEW = "plum kettle orbit wednesday"


def _user(app: Any, uid: int) -> m.User:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        user = session.get(m.User, uid)
        assert user is not None
        session.expunge(user)
        return user


def _login(app: Any, email: str, password: str) -> int:
    return app.test_client().post("/login", data={"email": email, "password": password}).status_code


def _audit(app: Any, action: str) -> list[m.AuditEntry]:
    from sqlalchemy import select

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        rows = list(session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))
        for row in rows:
            session.expunge(row)
        return rows


def test_top_bar_links_to_change_password(acme_viewer: Any) -> None:
    page = acme_viewer.get("/").get_data(as_text=True)
    assert 'href="/account/password"' in page
    form = acme_viewer.get("/account/password")
    assert form.status_code == 200
    assert 'name="current"' in form.get_data(as_text=True)


def test_wrong_current_password_is_refused_and_nothing_changes(
    acme_viewer: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    before = _user(app, tenants["acme"].viewer_id).password_hash
    resp = acme_viewer.post(
        "/account/password", data={"current": "not my password!!", "password": NEW, "confirm": NEW}
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "current password is not right" in page
    assert NEW not in page
    assert "not my password!!" not in page
    assert _user(app, tenants["acme"].viewer_id).password_hash == before
    assert _login(app, "viewer@acme.test", PASSWORD) == 302


def test_new_passwords_must_match_and_follow_the_invitation_rules(acme_viewer: Any) -> None:
    differ = acme_viewer.post(
        "/account/password", data={"current": PASSWORD, "password": NEW, "confirm": NEW + "x"}
    )
    assert differ.status_code == 400
    assert "two new passwords differ" in differ.get_data(as_text=True)
    short = acme_viewer.post(
        "/account/password", data={"current": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400
    assert "at least 12 characters" in short.get_data(as_text=True)
    weak = "password1234"
    guess = acme_viewer.post(
        "/account/password", data={"current": PASSWORD, "password": weak, "confirm": weak}
    )
    assert guess.status_code == 400
    assert "harder to guess" in guess.get_data(as_text=True)


def test_change_works_ends_other_sessions_and_keeps_this_one(
    acme_viewer: Any, client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    other = app.test_client()
    sign_in_user(other, acme.viewer_id, acme.id)  # the same person on another device
    assert other.get("/").status_code == 200
    resp = acme_viewer.post("/account/password", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert "password is changed" in acme_viewer.get(resp.location).get_data(as_text=True)
    assert acme_viewer.get("/").status_code == 200  # still signed in here
    assert other.get("/").status_code == 302  # the other device is signed out
    assert _login(app, "viewer@acme.test", PASSWORD) == 401
    assert _login(app, "viewer@acme.test", NEW) == 302
    rows = _audit(app, "user.password_changed")
    assert [(r.tenant_id, r.actor) for r in rows] == [(acme.id, "viewer@acme.test")]


def test_change_password_needs_a_session(client: Any) -> None:
    assert client.get("/account/password").status_code == 302
    assert client.post("/account/password", data={"current": PASSWORD}).status_code == 302


def test_admin_reset_gives_a_one_time_link_and_ends_sessions(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    theirs = app.test_client()
    assert _login(app, "viewer@acme.test", PASSWORD) == 302  # they used the account before forgetting
    sign_in_user(theirs, acme.viewer_id, acme.id)
    users = acme_admin.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{acme.viewer_id}/reset-password"' in users
    assert f'action="/admin/users/{acme.admin_id}/reset-password"' not in users  # not one's own
    sent = acme_admin.post(f"/admin/users/{acme.viewer_id}/reset-password")
    assert sent.status_code == 303
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert "New sign-in link for viewer@acme.test" in page
    link = (
        page.split('id="invite-link"', 1)[1].split('<code class="secret wrap">', 1)[1].split("</code>", 1)[0]
    )
    token = link.rsplit("/invite/", 1)[1]
    assert token not in acme_admin.get(sent.location).get_data(as_text=True)  # shown once
    assert theirs.get("/").status_code == 302  # signed out everywhere
    assert _login(app, "viewer@acme.test", PASSWORD) == 401  # the old password no longer works
    assert [r.target for r in _audit(app, "user.password_reset")] == ["viewer@acme.test"]
    # the link sets a new password, once
    person = app.test_client()
    opened = person.get(f"/invite/{token}")
    assert opened.status_code == 200
    assert "Choose a new password" in opened.get_data(as_text=True)  # not "You were invited"
    done = person.post(f"/invite/{token}", data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    assert _login(app, "viewer@acme.test", NEW) == 302
    again = app.test_client().post(f"/invite/{token}", data={"password": NEW + "!", "confirm": NEW + "!"})
    assert again.status_code == 400
    assert _login(app, "viewer@acme.test", NEW) == 302


def test_reset_link_expires_like_an_invitation(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    assert _login(app, "viewer@acme.test", PASSWORD) == 302  # they used the account before forgetting
    sent = acme_admin.post(f"/admin/users/{acme.viewer_id}/reset-password")
    page = acme_admin.get(sent.location).get_data(as_text=True)
    token = page.split('<code class="secret wrap">', 1)[1].split("</code>", 1)[0].rsplit("/invite/", 1)[1]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        user = session.get(m.User, acme.viewer_id)
        user.created_at = user.created_at - auth.INVITE_TTL - timedelta(minutes=1)
    expired = app.test_client().get(f"/invite/{token}")
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)
    # the users page offers a new link (not "Cancel invite", which would read as withdrawing an invitation)
    users = acme_admin.get("/admin/users").get_data(as_text=True)
    row = users.split("viewer@acme.test", 1)[1].split("</tr>", 1)[0]
    assert "new-invite-link" in row
    assert "cancel-invite" not in row
    assert '/remove"' in row


def test_an_admin_cannot_reset_their_own_password(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    before = _user(app, acme.admin_id).password_hash
    page = acme_admin.post(f"/admin/users/{acme.admin_id}/reset-password", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "cannot reset your own password here" in text.lower()
    assert "use “Change password” in the top bar" in text
    assert _user(app, acme.admin_id).password_hash == before
    assert acme_admin.get("/admin/users").status_code == 200  # still signed in


def test_rep_and_viewer_get_403_on_reset(client: Any, app: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        rep = auth.create_user(session, acme.id, "rita@acme.test", "rep", password=PASSWORD).id
    sign_in_user(client, rep, acme.id)
    assert client.post(f"/admin/users/{acme.viewer_id}/reset-password").status_code == 403
    sign_in_as(client, acme, "viewer")
    assert client.post(f"/admin/users/{acme.admin_id}/reset-password").status_code == 403
    assert _user(app, acme.viewer_id).password_hash is not None
    assert _user(app, acme.admin_id).password_hash is not None


def test_another_workspaces_user_is_not_found(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    globex = tenants["globex"]
    page = acme_admin.post(f"/admin/users/{globex.viewer_id}/reset-password", follow_redirects=True)
    assert "no such user in this workspace" in page.get_data(as_text=True).lower()
    assert _user(app, globex.viewer_id).password_hash is not None
    assert _user(app, globex.viewer_id).invite_token_hash is None
    assert _audit(app, "user.password_reset") == []


def test_csrf_is_enforced_on_both_forms(settings_overrides: dict[str, object], tenants: Any) -> None:
    from connector import create_app

    app = create_app(settings_overrides)
    assert app.config["WTF_CSRF_ENABLED"] is True
    admin = app.test_client()
    sign_in_as(admin, tenants["acme"], "admin")
    assert admin.post(f"/admin/users/{tenants['acme'].viewer_id}/reset-password").status_code == 400
    data = {"current": PASSWORD, "password": NEW, "confirm": NEW}
    assert admin.post("/account/password", data=data).status_code == 400
    assert _user(app, tenants["acme"].viewer_id).password_hash is not None
    token = (
        admin.get("/account/password")
        .get_data(as_text=True)
        .split('name="csrf_token" value="')[1]
        .split('"')[0]
    )
    assert admin.post("/account/password", data={**data, "csrf_token": token}).status_code == 302


def _row(page: str, email: str) -> str:
    return page.split(f'<td class="wrap">{email}</td>', 1)[1].split("</tr>", 1)[0]


def test_a_reset_before_any_sign_in_is_a_reset_not_an_invitation(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    """A person with a password who never signed in with it (made with one, or who accepted an invitation
    and stayed signed in) and then forgot it: their row read "invited" with "Cancel invite", which deleted
    the account. It is a reset: "new password pending", New link and Remove, and cancelling is refused."""
    acme = tenants["acme"]
    assert _user(app, acme.viewer_id).last_login_at is None  # never signed in with the password
    invited = acme_admin.post("/admin/users/invite", data={"email": "fresh@acme.test", "role": "viewer"})
    assert invited.status_code == 303
    sent = acme_admin.post(f"/admin/users/{acme.viewer_id}/reset-password")
    page = acme_admin.get(sent.location).get_data(as_text=True)
    token = page.split('<code class="secret wrap">', 1)[1].split("</code>", 1)[0].rsplit("/invite/", 1)[1]

    users = acme_admin.get("/admin/users").get_data(as_text=True)
    reset = _row(users, "viewer@acme.test")
    assert "new password pending" in reset
    assert ">invited<" not in reset
    assert "new-invite-link" in reset
    assert '/remove"' in reset
    assert "cancel-invite" not in reset
    fresh = _row(users, "fresh@acme.test")  # a real invitation still reads and acts as one
    assert ">invited<" in fresh
    assert "cancel-invite" in fresh
    assert '/remove"' not in fresh

    refused = acme_admin.post(f"/admin/users/{acme.viewer_id}/cancel-invite", follow_redirects=True)
    assert "no open invitation" in refused.get_data(as_text=True)
    assert _user(app, acme.viewer_id).email == "viewer@acme.test"  # not deleted
    assert _audit(app, "user.invite_cancelled") == []

    # their link greets them as someone choosing a new password, and once chosen they are active again
    opened = app.test_client().get(f"/invite/{token}").get_data(as_text=True)
    assert "Choose a new password" in opened
    done = app.test_client().post(f"/invite/{token}", data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    assert _user(app, acme.viewer_id).password_reset_at is None
    assert "chip-ok" in _row(acme_admin.get("/admin/users").get_data(as_text=True), "viewer@acme.test")


def test_accepting_an_invitation_counts_as_a_sign_in(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    """Accepting signs the person in; the users page said "Last sign-in: never" until they signed in again."""
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        user, token = auth.invite(session, tenants["acme"].id, "joiner@acme.test", "viewer")
        uid = user.id
    done = app.test_client().post(f"/invite/{token}", data={"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    assert _user(app, uid).last_login_at is not None
    row = _row(acme_admin.get("/admin/users").get_data(as_text=True), "joiner@acme.test")
    assert "never" not in row


def test_a_new_link_for_a_reset_reads_as_a_sign_in_link(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """New link on a reset row said "New invitation link for …": the person has an account, not an
    invitation."""
    acme = tenants["acme"]
    acme_admin.post(f"/admin/users/{acme.viewer_id}/reset-password")
    sent = acme_admin.post(f"/admin/users/{acme.viewer_id}/new-invite-link")
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert "New sign-in link for viewer@acme.test: the previous link no longer works" in page
    assert "New invitation link" not in page
