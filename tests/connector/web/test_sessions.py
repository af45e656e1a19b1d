"""Server-side sessions (issue 12 item 2): a copied cookie stops working after logout, sign-out-everywhere,
removal or a role change."""

from __future__ import annotations

from typing import Any

from tests.connector.web.seed import PASSWORD, TenantData

COOKIE = "healthscore_session"


def _login(app: Any, email: str) -> Any:
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302
    return client


def _clone(app: Any, client: Any) -> Any:
    """Another browser holding a copy of `client`'s cookie (an attacker who copied it)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def _signed_in(client: Any) -> bool:
    return client.get("/").status_code == 200


def test_logout_ends_the_session_server_side(app: Any, tenants: dict[str, TenantData]) -> None:
    browser = _login(app, "admin@acme.test")
    copy = _clone(app, browser)
    assert _signed_in(copy)
    browser.post("/logout")
    assert not _signed_in(copy)  # the copied, validly signed cookie no longer works


def test_logout_ends_only_this_session(app: Any, tenants: dict[str, TenantData]) -> None:
    laptop, phone = _login(app, "admin@acme.test"), _login(app, "admin@acme.test")
    laptop.post("/logout")
    assert _signed_in(phone)


def test_sign_out_everywhere(app: Any, tenants: dict[str, TenantData]) -> None:
    laptop, phone = _login(app, "admin@acme.test"), _login(app, "admin@acme.test")
    other_user = _login(app, "viewer@acme.test")
    resp = laptop.post("/logout/everywhere")
    assert resp.status_code == 302
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert _signed_in(other_user)
    assert b"Sign out everywhere" in other_user.get("/").data


def test_removed_user_is_signed_out(app: Any, tenants: dict[str, TenantData]) -> None:
    admin, viewer = _login(app, "admin@acme.test"), _login(app, "viewer@acme.test")
    resp = admin.post(f"/admin/users/{tenants['acme'].viewer_id}/remove")
    assert resp.status_code == 303
    assert not _signed_in(viewer)
    assert b"<td>viewer@acme.test</td>" not in admin.get("/admin/users").data
    # Another tenant's user cannot be removed from here.
    assert admin.post(f"/admin/users/{tenants['globex'].viewer_id}/remove").status_code == 303
    assert _signed_in(_login(app, "viewer@globex.test"))


def test_demoted_admin_loses_the_admin_session(app: Any, tenants: dict[str, TenantData]) -> None:
    from connector.installs import users as auth
    from connector.store.db import transaction

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        second = auth.create_user(session, tenants["acme"].id, "second@acme.test", "admin", password=PASSWORD)
        second_id = second.id
    first, other = _login(app, "admin@acme.test"), _login(app, "second@acme.test")
    assert other.get("/admin/users").status_code == 200
    first.post(f"/admin/users/{second_id}/role", data={"role": "viewer"})
    assert not _signed_in(other)
    again = _login(app, "second@acme.test")
    assert again.get("/admin/users").status_code == 403


def test_last_admin_cannot_be_removed(app: Any, tenants: dict[str, TenantData]) -> None:
    admin = _login(app, "admin@acme.test")
    admin.post(f"/admin/users/{tenants['acme'].admin_id}/remove")
    assert _signed_in(admin)
