"""Roles of the mission: rep (My accounts by default, can see all), support lead, admin, viewer; users
are removed, invitations cancelled, and a demotion ends the demoted person's sessions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import PASSWORD, TenantData, sign_in_as, sign_in_user


def _user(app: Any, tenant: TenantData, email: str, role: str) -> int:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        return auth.create_user(session, tenant.id, email, role, password=PASSWORD, name="Rita Rep").id


def _names(page: str) -> list[str]:
    return re.findall(r'class="strong"[^>]*>([^<]+)</a>', page.split("<tbody>")[1])


def test_rep_starts_on_my_accounts_and_can_see_all(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    uid = _user(app, acme, "rita@acme.test", "rep")
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        acc = session.get(m.Account, acme.accounts["Acme Yellow Corp"])
        assert acc is not None
        acc.owner, acc.owner_email = "Rita Rep", "Rita@Acme.test"
    sign_in_user(client, uid, acme.id)
    page = client.get("/").data.decode()
    assert "My accounts" in page
    assert _names(page) == ["Acme Yellow Corp"]
    assert len(_names(client.get("/?view=all").data.decode())) == 3
    assert client.get("/admin/users").status_code == 403  # reps read, they do not administer


def test_support_lead_and_viewer_read_but_do_not_administer(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    uid = _user(app, acme, "sam@acme.test", "support_lead")
    sign_in_user(client, uid, acme.id)
    assert client.get("/support").status_code == 200
    page = client.get("/").data.decode()
    assert "All accounts" in page
    assert len(_names(page)) == 3  # not a rep: the whole portfolio by default
    assert client.get("/admin/model").status_code == 403


def test_invite_every_role_and_cancel_an_invite(acme_admin: Any, app: Any) -> None:
    page = acme_admin.get("/admin/users").data.decode()
    for label in ("Admin", "Account rep", "Support lead", "Viewer"):
        assert label in page
    resp = acme_admin.post(
        "/admin/users/invite", data={"email": "new@acme.test", "role": "support_lead"}, follow_redirects=True
    )
    assert resp.status_code == 200
    token = resp.data.decode().split("/invite/")[1].split("<")[0].split('"')[0]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        pending = session.query(m.User).filter_by(email="new@acme.test").one()
        assert pending.role == "support_lead"
        pending_id = pending.id
    assert "Cancel invite" in acme_admin.get("/admin/users").data.decode()
    resp = acme_admin.post(f"/admin/users/{pending_id}/cancel-invite", follow_redirects=True)
    assert "is cancelled" in resp.data.decode()
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.query(m.User).filter_by(email="new@acme.test").one_or_none() is None
        with pytest.raises(auth.AuthError, match="invalid"):
            auth.accept_invite(session, token, PASSWORD)
    assert "user.invite_cancelled" in acme_admin.get("/admin/audit").data.decode()


def test_cancel_invite_refuses_an_active_user(acme_admin: Any, tenants: dict[str, TenantData]) -> None:
    resp = acme_admin.post(f"/admin/users/{tenants['acme'].viewer_id}/cancel-invite", follow_redirects=True)
    assert "no open invitation" in resp.data.decode()


def test_demotion_ends_the_sessions_of_the_demoted(app: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    other_admin = _user(app, acme, "second@acme.test", "admin")
    demoted, boss = app.test_client(), app.test_client()
    sign_in_user(demoted, other_admin, acme.id)
    sign_in_as(boss, acme, "admin")
    assert demoted.get("/admin/users").status_code == 200
    boss.post(f"/admin/users/{other_admin}/role", data={"role": "rep"})
    resp = demoted.get("/admin/users")
    assert resp.status_code == 302  # signed out: back to the login page, not a lingering admin session
    assert "/login" in resp.headers["Location"]


def test_sign_in_lands_a_support_lead_on_the_workbench_and_others_on_the_portfolio(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    _user(app, acme, "lead@acme.test", "support_lead")
    _user(app, acme, "rep2@acme.test", "rep")
    resp = client.post("/login", data={"email": "lead@acme.test", "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/support")
    client.post("/logout")
    resp = client.post("/login", data={"email": "rep2@acme.test", "password": PASSWORD})
    assert resp.headers["Location"].endswith("/")
    resp = client.post("/logout")
    nxt = client.post(
        "/login", data={"email": "lead@acme.test", "password": PASSWORD, "next": "/admin/audit"}
    )
    assert nxt.headers["Location"].endswith("/admin/audit")  # an explicit next wins
