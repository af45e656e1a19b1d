"""Security audit 11, open item D: API keys record who created them; removing or demoting that person
revokes the keys that need more than they keep (each revocation audited, the page says which)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import PASSWORD, TenantData, bearer, sign_in_as, sign_in_user


def _url(app: Any) -> str:
    return str(app.config["HEALTHSCORE"].sqlalchemy_url)


def _second_admin(app: Any, tenant: TenantData) -> int:
    with transaction(_url(app)) as session:
        return auth.create_user(
            session, tenant.id, "ann@acme.test", "admin", password=PASSWORD, name="Ann Admin"
        ).id


def _make_key(client: Any, name: str, scope: str) -> str:
    page = client.post(
        "/admin/keys", data={"name": name, "scope": scope}, follow_redirects=True
    ).data.decode()
    found = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert found, page
    return found.group(1)


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash flash-success"[^>]*>(.*?)</div>', page, re.S))


def _setup(client: Any, app: Any, tenants: dict[str, TenantData]) -> tuple[int, dict[str, str]]:
    ann = _second_admin(app, tenants["acme"])
    sign_in_user(client, ann, tenants["acme"].id)
    keys = {
        "ann-admin": _make_key(client, "ann-admin", "admin"),
        "ann-read": _make_key(client, "ann-read", "read"),
    }
    sign_in_as(client, tenants["acme"], "admin")
    keys["mine"] = _make_key(client, "mine", "admin")
    return ann, keys


def _works(client: Any, key: str) -> bool:
    status = client.get("/api/v1/webhooks", headers=bearer(key)).status_code
    if status == 403:  # a read key: it may read, not use webhooks
        status = client.get("/api/v1/accounts", headers=bearer(key)).status_code
    return bool(status == 200)


def test_the_keys_page_names_each_keys_creator(client: Any, app: Any, tenants: dict[str, TenantData]) -> None:
    _setup(client, app, tenants)
    page = client.get("/admin/keys").data.decode()
    assert "Created by" in page
    rows = {re.sub(r"<[^>]+>", " ", row) for row in page.split("<tbody>")[1].split("</tr>")}
    ann_row = next(r for r in rows if "ann-admin" in r)
    assert "Ann Admin" in ann_row
    mine_row = next(r for r in rows if " mine" in r)
    assert "admin@acme.test" in mine_row
    seeded = next(r for r in rows if "automation" in r)  # made before creators were recorded
    assert "unknown (created before" in seeded
    with transaction(_url(app)) as session:
        made = {k.name: k.created_by for k in session.scalars(select(m.ApiKey))}
    assert made["mine"] == tenants["acme"].admin_id


def test_demoting_an_admin_revokes_their_admin_keys_only(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    ann, keys = _setup(client, app, tenants)
    assert all(_works(client, k) for k in keys.values())
    resp = client.post(f"/admin/users/{ann}/role", data={"role": "viewer"}, follow_redirects=True)
    said = _flash(resp.data.decode())
    assert "1 API key they created was revoked" in said, said
    assert "ann-admin" in said
    assert "ann-read" not in said
    assert not _works(client, keys["ann-admin"])
    assert _works(client, keys["ann-read"])  # a viewer still reads everything a read key reads
    assert _works(client, keys["mine"])  # another admin's key
    assert _works(client, tenants["globex"].admin_key)  # another workspace's
    with transaction(_url(app)) as session:
        entries = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "api_key.revoked").order_by(m.AuditEntry.id)
        ).all()
        assert len(entries) == 1
        assert entries[0].actor == "admin@acme.test"
        assert "demoted" in entries[0].detail["reason"]


def test_removing_an_admin_revokes_every_key_they_created(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    ann, keys = _setup(client, app, tenants)
    resp = client.post(f"/admin/users/{ann}/remove", follow_redirects=True)
    said = _flash(resp.data.decode())
    assert "2 API keys they created were revoked" in said, said
    assert "ann-admin" in said
    assert "ann-read" in said
    assert not _works(client, keys["ann-admin"])
    assert not _works(client, keys["ann-read"])
    assert _works(client, keys["mine"])
    assert _works(client, tenants["acme"].admin_key)  # no recorded creator: left alone
    assert _works(client, tenants["globex"].admin_key)
    with transaction(_url(app)) as session:
        reasons = [
            (e.actor, e.target, e.detail.get("reason"))
            for e in session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "api_key.revoked"))
        ]
    assert len(reasons) == 2
    assert all(a == "admin@acme.test" and "removed" in str(r) for a, _, r in reasons)
    page = client.get("/admin/keys").data.decode()
    ann_row = next(r for r in page.split("<tbody>")[1].split("</tr>") if "ann-admin" in r)
    assert "ann@acme.test" in ann_row  # the creator is gone; the audit log still names them


def test_an_admin_demoting_themselves_loses_their_admin_keys(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    ann, keys = _setup(client, app, tenants)
    sign_in_user(client, ann, tenants["acme"].id)
    client.post(f"/admin/users/{ann}/role", data={"role": "viewer"})
    assert not _works(client, keys["ann-admin"])
    assert _works(client, keys["ann-read"])
    assert _works(client, keys["mine"])


def test_the_last_admin_keeps_their_keys(client: Any, app: Any, tenants: dict[str, TenantData]) -> None:
    sign_in_as(client, tenants["acme"], "admin")
    key = _make_key(client, "solo", "admin")
    resp = client.post(f"/admin/users/{tenants['acme'].admin_id}/role", data={"role": "viewer"})
    assert resp.status_code == 303
    assert _works(client, key)  # refused as the last admin: nothing revoked


def test_the_users_page_warns_before_removing_or_demoting_a_key_creator(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    _setup(client, app, tenants)
    page = client.get("/admin/users").data.decode()
    row = next(r for r in page.split("</tr>") if "ann@acme.test" in r)
    assert "the 2 API keys they created are revoked" in row
    assert "the 1 admin-scope API key they created is revoked" in row
    viewer_row = next(r for r in page.split("</tr>") if "viewer@acme.test" in r)
    assert "API key" not in viewer_row


def test_a_key_is_not_made_for_someone_demoted_meanwhile(app: Any, tenants: dict[str, TenantData]) -> None:
    """The Create form checked the role when the request began; a demotion committed before the key's
    insert would have left an admin key its maker may no longer have. The maker's row is re-read (locked on
    PostgreSQL, where the demotion also locks it) in the key's own transaction."""
    import pytest

    acme = tenants["acme"]
    with transaction(_url(app)) as session:
        with pytest.raises(auth.AuthError, match="no longer"):
            auth.create_api_key(session, acme.id, "late", "admin", created_by=acme.viewer_id)
        made = auth.create_api_key(session, acme.id, "late read", "read", created_by=acme.viewer_id)
        assert made.scope == "read"
        with pytest.raises(auth.AuthError, match="no longer"):  # another workspace's user
            auth.create_api_key(session, acme.id, "stray", "read", created_by=tenants["globex"].admin_id)
