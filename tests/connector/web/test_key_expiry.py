"""API keys may expire (audit 7 leftover: keys never expired): 30, 90 or 365 days, or never (the default)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from connector.installs import users as auth
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer

ACCOUNTS = "/api/v1/accounts"
UNKNOWN = "hsk_00000000_" + "A" * 43


def _url(app: Any) -> str:
    return app.config["HEALTHSCORE"].sqlalchemy_url


def _create(admin: Any, name: str, expires: str | None) -> tuple[int, str, str]:
    data = {"name": name, "scope": "read"} | ({"expires": expires} if expires is not None else {})
    resp = admin.post("/admin/keys", data=data, follow_redirects=True)
    page = resp.data.decode()
    secret = page.split('<code class="secret">', 1)[1].split("<", 1)[0] if 'class="secret"' in page else ""
    return resp.status_code, secret, page


def _row(app: Any, name: str) -> tuple[datetime | None, int]:
    with transaction(_url(app)) as session:
        row = session.scalar(select(m.ApiKey).where(m.ApiKey.name == name))
        assert row is not None
        return row.expires_at, row.id


def test_a_key_made_to_expire_works_until_then_and_is_refused_like_an_unknown_key_after(
    client: Any, acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    status, secret, _ = _create(acme_admin, "BI export", "30")
    assert status == 200
    expires_at, key_id = _row(app, "BI export")
    assert expires_at is not None
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert client.get(ACCOUNTS, headers=bearer(secret)).status_code == 200
    page = acme_admin.get("/admin/keys").data.decode()
    assert "expires in 30 days" in page

    unknown = client.get(ACCOUNTS, headers=bearer(UNKNOWN))
    with transaction(_url(app)) as session:  # the 30 days have gone by
        session.get(m.ApiKey, key_id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    refused = client.get(ACCOUNTS, headers=bearer(secret))
    assert (refused.status_code, refused.get_json()) == (401, unknown.get_json())
    page = acme_admin.get("/admin/keys").data.decode()
    assert ">expired</span>" in page
    # the workspace's other keys are untouched
    assert client.get(ACCOUNTS, headers=bearer(tenants["acme"].read_key)).status_code == 200


def test_a_key_expires_never_unless_the_admin_chooses_a_term(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    assert _create(acme_admin, "old form", None)[0] == 200  # a form (or script) from before: never
    assert _row(app, "old form")[0] is None
    assert _create(acme_admin, "chosen never", "never")[0] == 200
    assert _row(app, "chosen never")[0] is None
    for days in ("90", "365"):
        assert _create(acme_admin, f"k{days}", days)[0] == 200
        expires_at = _row(app, f"k{days}")[0]
        assert expires_at is not None
        assert abs(expires_at - (datetime.now(UTC) + timedelta(days=int(days)))) < timedelta(minutes=1)
    page = acme_admin.get("/admin/keys").data.decode()
    assert "expires in 365 days" in page
    assert "expires in 90 days" in page
    assert '<option value="30" ' in page  # the form offers the terms
    with transaction(_url(app)) as session:
        entry = session.scalar(
            select(m.AuditEntry)
            .where(m.AuditEntry.tenant_id == tenants["acme"].id, m.AuditEntry.action == "api_key.created")
            .order_by(m.AuditEntry.id.desc())
        )
        assert entry is not None
        assert entry.detail["expires_days"] == 365


def test_another_term_is_refused(acme_admin: Any, app: Any) -> None:
    for bad in ("7", "-1", "forever"):
        status, _, page = _create(acme_admin, f"bad {bad}", bad)
        assert status == 400
        assert "A key expires after 30, 90, 365 days or never" in page
        with transaction(_url(app)) as session:
            assert session.scalar(select(m.ApiKey).where(m.ApiKey.name == f"bad {bad}")) is None


def test_create_api_key_expiry(app: Any, tenants: dict[str, TenantData]) -> None:
    with transaction(_url(app)) as session:
        new = auth.create_api_key(session, tenants["acme"].id, "cli", "read", expires_days=90)
        assert auth.resolve_api_key(session, new.secret) is not None
        session.get(m.ApiKey, new.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert auth.resolve_api_key(session, new.secret) is None
        assert auth.api_key_revoked(session, new.secret)  # a client left behind: spends no address budget


def test_the_keys_page_warns_of_keys_that_expire_within_two_weeks(acme_admin: Any, app: Any) -> None:
    """Nothing warned before a key expired: the first sign was the 401s of whatever used it."""
    for name in ("BI export", "Nightly sync", "Later"):
        _create(acme_admin, name, "30")
    with transaction(_url(app)) as session:
        now = datetime.now(UTC)
        for name, left in (("BI export", timedelta(days=3)), ("Nightly sync", timedelta(days=14)),
                           ("Later", timedelta(days=15))):  # fmt: skip
            session.scalar(select(m.ApiKey).where(m.ApiKey.name == name)).expires_at = now + left
    page = acme_admin.get("/admin/keys").get_data(as_text=True)
    warning = page.split('id="expiring-keys">', 1)[1].split("</div>", 1)[0]
    assert "2 keys expire within 14 days" in warning
    assert "“BI export”, expires in 3 days" in warning
    assert "Nightly sync" in warning
    assert "Later" not in warning
    assert "create a replacement now" in warning
    with transaction(_url(app)) as session:  # expired keys are past warning: their chip says it
        for name in ("BI export", "Nightly sync"):
            session.scalar(select(m.ApiKey).where(m.ApiKey.name == name)).expires_at = now - timedelta(days=1)
    assert 'id="expiring-keys"' not in acme_admin.get("/admin/keys").get_data(as_text=True)
