"""OAuth installs through the vendor sandboxes' real authorize and token endpoints (state + PKCE S256).

Each vendor's consent page is a form; we submit it with requests (as a browser would) and hand the
redirect back to our callback through the Flask test client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.installs import onboarding
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData

AUTHORIZE = {
    "salesforce": "/services/oauth2/authorize",
    "hubspot": "/oauth/authorize",
    "zendesk": "/oauth/authorizations/new",
}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Record onboarding starts instead of running a sync (onboarding has its own tests; e2e runs it all)."""
    calls: list[tuple[int, str]] = []

    def fake_start(settings: Any, tenant_id: int, vendor: str, *, background: bool = True) -> str:
        calls.append((tenant_id, vendor))
        with transaction(settings.sqlalchemy_url) as session:
            from connector.store import repo as store

            run = store.start_run(session, tenant_id, "install")
            run.report = {"vendor": vendor, "steps": {}}
            return run.run_id

    monkeypatch.setattr(onboarding, "start", fake_start)
    return calls


def _form(sandbox: Any, vendor: str) -> dict[str, str]:
    creds = sandbox.credentials()
    return {
        "base_url": creds[vendor]["base_url"],
        "client_id": creds[vendor]["client_id"],
        "client_secret": creds[vendor]["client_secret"],
        "ca_file": creds["ca_file"],
    }


def _consent(http: Any, authorize_url: str, vendor: str, decision: str = "allow") -> str:
    """Submit the vendor's consent form; returns our callback URL it redirects to."""
    parts = urlsplit(authorize_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text[:300]
    resp = http.post(
        f"{parts.scheme}://{parts.netloc}{AUTHORIZE[vendor]}",
        data={**params, "decision": decision},
        allow_redirects=False,
    )
    assert resp.status_code in (302, 303), resp.text[:300]
    return resp.headers["Location"]


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize("vendor", ["salesforce", "hubspot", "zendesk"])
def test_connect_stores_encrypted_tokens_and_starts_setup(
    vendor: str,
    acme_admin: Any,
    tenants: dict[str, TenantData],
    sandbox: Any,
    sandbox_http: Any,
    started: list[tuple[int, str]],
    app: Any,
) -> None:
    """Authorize URL carries state and an S256 challenge; the callback exchanges the code with the verifier
    (the sandbox refuses a wrong one) and stores the tokens encrypted in the signed-in admin's tenant."""
    resp = acme_admin.post(f"/admin/integrations/{vendor}/connect", data=_form(sandbox, vendor))
    assert resp.status_code == 303
    query = parse_qs(urlsplit(resp.location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == [f"http://127.0.0.1:5000/oauth/{vendor}/callback"]
    callback = _consent(sandbox_http, resp.location, vendor)
    done = acme_admin.get(_local(callback))
    assert done.status_code == 302, done.data[:500]
    assert "/progress/" in done.location
    assert started == [(tenants["acme"].id, vendor)]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        inst = session.query(m.Installation).filter_by(vendor=vendor).one()
        assert inst.tenant_id == tenants["acme"].id
        assert inst.status == "connected"
        assert inst.tokens_enc
        assert "access_token" not in inst.tokens_enc
        tokens = Vault(app.config["HEALTHSCORE"]).decrypt_json(inst.tokens_enc)
        assert tokens["access_token"]
        assert tokens["refresh_token"]
        assert inst.vendor_account  # org id / portal id / subdomain
    # The state is single use: replaying the same callback is refused.
    again = acme_admin.get(_local(callback))
    assert again.status_code == 400
    assert b"no longer valid" in again.data


def test_denied_consent_shows_what_to_do(
    acme_admin: Any, sandbox: Any, sandbox_http: Any, started: list[Any]
) -> None:
    resp = acme_admin.post("/admin/integrations/hubspot/connect", data=_form(sandbox, "hubspot"))
    callback = _consent(sandbox_http, resp.location, "hubspot", decision="deny")
    page = acme_admin.get(_local(callback))
    assert page.status_code == 400
    assert b"You did not allow access" in page.data
    assert b"choose Allow" in page.data
    assert started == []


def test_wrong_state_is_refused(acme_admin: Any, sandbox: Any, sandbox_http: Any, started: list[Any]) -> None:
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data=_form(sandbox, "zendesk"))
    callback = _consent(sandbox_http, resp.location, "zendesk")
    tampered = _local(callback).replace("state=", "state=x")
    page = acme_admin.get(tampered)
    assert page.status_code == 400
    assert b"does not match" in page.data
    assert started == []


def test_callback_without_a_pending_attempt_is_refused(acme_admin: Any, started: list[Any]) -> None:
    page = acme_admin.get("/oauth/salesforce/callback?code=abc&state=def")
    assert page.status_code == 400
    assert b"no longer valid" in page.data


def test_used_code_reads_as_expired(
    acme_admin: Any, sandbox: Any, sandbox_http: Any, started: list[Any]
) -> None:
    """Salesforce answers invalid_grant for a code that was already redeemed or has expired."""
    resp = acme_admin.post("/admin/integrations/salesforce/connect", data=_form(sandbox, "salesforce"))
    callback = _consent(sandbox_http, resp.location, "salesforce")
    query = parse_qs(urlsplit(callback).query)
    # Redeem the code ourselves first (with a wrong verifier the sandbox still burns or refuses it).
    creds = sandbox.credentials()["salesforce"]
    sandbox_http.post(
        creds["base_url"] + "/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "redirect_uri": "http://127.0.0.1:5000/oauth/salesforce/callback",
            "code_verifier": "wrong-verifier-wrong-verifier-wrong-verifier-00",
        },
    )
    page = acme_admin.get(_local(callback))
    assert page.status_code == 400
    assert b"expired" in page.data or b"returned an error" in page.data


def test_vendor_error_param_shows_vendor_page(acme_admin: Any, sandbox: Any, started: list[Any]) -> None:
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data=_form(sandbox, "zendesk"))
    state = parse_qs(urlsplit(resp.location).query)["state"][0]
    page = acme_admin.get(f"/oauth/zendesk/callback?error=server_error&error_description=boom&state={state}")
    assert page.status_code == 400
    assert b"Zendesk returned an error" in page.data
    assert b"server_error" in page.data
    assert b"boom" not in page.data  # remote free text goes to the log, never the page


def test_missing_scope_is_explained(
    acme_admin: Any, sandbox: Any, sandbox_http: Any, started: list[Any]
) -> None:
    """A consent that grants fewer scopes than requested (HubSpot optional scopes, an admin policy) is refused."""
    resp = acme_admin.post("/admin/integrations/hubspot/connect", data=_form(sandbox, "hubspot"))
    narrowed = resp.location.replace("tickets+", "").replace("tickets%20", "")
    callback = _consent(sandbox_http, narrowed, "hubspot")
    page = acme_admin.get(_local(callback))
    assert page.status_code == 400
    assert b"Some permissions were not granted" in page.data
    assert b"tickets" in page.data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "ftp://example.com", b"must start with https://"),
        ("base_url", "http://evil.example.com", b"must use https"),
        ("client_id", " ", b"client id"),
        ("ca_file", "/nonexistent/ca.pem", b"CA file cannot be used"),
    ],
)
def test_connect_form_validation(acme_admin: Any, field: str, value: str, message: bytes) -> None:
    form = {
        "base_url": "https://login.example.com",
        "client_id": "cid",
        "client_secret": "secret",
        field: value,
    }
    resp = acme_admin.post("/admin/integrations/salesforce/connect", data=form)
    assert resp.status_code == 400
    assert message in resp.data


def test_connect_page_lists_scopes_with_reasons(acme_admin: Any) -> None:
    page = acme_admin.get("/admin/integrations/hubspot/connect")
    assert page.status_code == 200
    assert b"crm.schemas.companies.write" in page.data
    assert b"create the healthscore property group" in page.data


def test_unknown_vendor_is_404(acme_admin: Any) -> None:
    assert acme_admin.get("/admin/integrations/pipedrive/connect").status_code == 404


def test_viewer_cannot_connect(acme_viewer: Any) -> None:
    assert acme_viewer.get("/admin/integrations/salesforce/connect").status_code == 403
    assert acme_viewer.post("/admin/integrations/salesforce/connect", data={}).status_code == 403


def test_disconnect_revokes_at_vendor_and_deletes(
    acme_admin: Any, sandbox: Any, sandbox_http: Any, started: list[Any], app: Any
) -> None:
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data=_form(sandbox, "zendesk"))
    acme_admin.get(_local(_consent(sandbox_http, resp.location, "zendesk")))
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        inst = session.query(m.Installation).filter_by(vendor="zendesk").one()
        token = Vault(app.config["HEALTHSCORE"]).decrypt_json(inst.tokens_enc)["access_token"]
    base = sandbox.credentials()["zendesk"]["base_url"]
    assert (
        sandbox_http.get(
            base + "/api/v2/oauth/tokens/current.json", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    out = acme_admin.post("/admin/integrations/zendesk/disconnect")
    assert out.status_code == 302
    with transaction(url) as session:
        assert session.query(m.Installation).filter_by(vendor="zendesk").count() == 0
    assert (
        sandbox_http.get(
            base + "/api/v2/oauth/tokens/current.json", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    again = acme_admin.post("/admin/integrations/zendesk/disconnect")  # a second tab: said, not a 404
    assert (again.status_code, again.location) == (303, "/admin/integrations")


def test_progress_json_is_tenant_scoped(client: Any, tenants: dict[str, TenantData], app: Any) -> None:
    from tests.connector.web.seed import sign_in_as

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        from connector.store import repo as store

        run_id = store.start_run(session, tenants["globex"].id, "install").run_id
    sign_in_as(client, tenants["acme"])
    assert client.get(f"/admin/runs/{run_id}.json").status_code == 404
    sign_in_as(client, tenants["globex"])
    body = client.get(f"/admin/runs/{run_id}.json").get_json()
    assert body["status"] == "running"


def test_connect_form_prefills_from_instance_file(acme_admin: Any, app: Any) -> None:
    import json
    from pathlib import Path

    path = Path(app.config["HEALTHSCORE"].instance_path) / "oauth-apps.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"zendesk": {"base_url": "https://acme.zendesk.com", "client_id": "zd-client"}})
    )
    page = acme_admin.get("/admin/integrations/zendesk/connect").data.decode()
    assert 'value="https://acme.zendesk.com"' in page
    assert 'value="zd-client"' in page
    assert "sandbox-certificate" not in page  # a real vendor: no word about the sandbox's certificate
    # The demo's sandbox signs with its own CA: say the browser will warn before it does (a dead end otherwise).
    path.write_text(
        json.dumps(
            {"zendesk": {"base_url": "https://127.0.0.1:4443", "client_id": "x", "ca_file": "/tmp/ca.pem"}}
        )
    )
    sandbox = acme_admin.get("/admin/integrations/zendesk/connect").data.decode()
    assert 'id="sandbox-certificate"' in sandbox
    assert "Proceed to 127.0.0.1:4443" in sandbox


@pytest.fixture
def prod_admin(settings_overrides: dict[str, object], tenants: dict[str, TenantData]) -> Any:
    """An admin signed in to a production-configured app (vendor hosts only; fake public DNS)."""
    from connector import create_app
    from connector.installs.vault import generate_key
    from tests.connector.web.seed import sign_in_as

    app = create_app(
        {
            **settings_overrides,
            "env": "production",
            "secret_key": "k7Q" + "x9Zp2LmN4vB8cR1tY6wE3uI0oA5sD" * 2,
            "token_keys": generate_key(),
            "public_base_url": "https://healthscore.example",
        }
    )
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["HEALTHSCORE_RESOLVER"] = lambda host, port: ["13.110.6.10"]
    client = app.test_client()
    sign_in_as(client, tenants["acme"], "admin")
    return client


@pytest.mark.parametrize(
    "base_url",
    [
        "https://169.254.169.254",
        "https://10.0.0.1",
        "https://[::1]",
        "http://localhost:6379",
        "https://attacker.example",
    ],
)
def test_connect_form_refuses_internal_and_foreign_hosts_in_production(
    prod_admin: Any, base_url: str
) -> None:
    """Issue 12 item 1: the token exchange (client secret + PKCE verifier) must never go to such hosts."""
    form = {"base_url": base_url, "client_id": "cid", "client_secret": "secret"}
    resp = prod_admin.post("/admin/integrations/salesforce/connect", data=form)
    assert resp.status_code == 400
    assert b"cannot be used for Salesforce" in resp.data
    ok = prod_admin.post(
        "/admin/integrations/salesforce/connect",
        data={**form, "base_url": "https://acme.my.salesforce.com"},
    )
    assert ok.status_code == 303
    assert ok.location.startswith("https://acme.my.salesforce.com/services/oauth2/authorize?")


@pytest.mark.parametrize(
    "base_url", ["https://169.254.169.254", "https://10.0.0.1", "https://192.168.0.1:80"]
)
def test_connect_form_refuses_internal_hosts_outside_production(acme_admin: Any, base_url: str) -> None:
    form = {"base_url": base_url, "client_id": "cid", "client_secret": "secret"}
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data=form)
    assert resp.status_code == 400
    assert b"cannot be used for Zendesk" in resp.data


def test_ca_file_field_does_not_reveal_which_paths_exist(acme_admin: Any, tmp_path: Any) -> None:
    """Issue 12 item 10: an existing file, a missing one and a directory all read the same."""
    form = {"base_url": "https://127.0.0.1:1", "client_id": "cid", "client_secret": "secret"}
    pages = [
        acme_admin.post("/admin/integrations/zendesk/connect", data={**form, "ca_file": path}).data
        for path in ("/etc/passwd", "/nonexistent/ca.pem", "/etc", str(tmp_path / "nothing.pem"))
    ]
    assert all(b"CA file cannot be used" in page for page in pages)
    assert all(b"does not exist" not in page for page in pages)


def test_sync_now_reads_as_a_sync_once_set_up(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any, started: list[tuple[int, str]]
) -> None:
    """The first run after connecting sets the vendor up; 'Sync now' on a vendor set up already (an earlier
    run since it was connected succeeded) shows 'Syncing Salesforce', not 'Setting up Salesforce'."""
    from connector.store import repo as store
    from tests.connector.web.test_admin_plays import _connect_salesforce

    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    first = acme_admin.post("/admin/integrations/salesforce/sync").headers["Location"]
    page = acme_admin.get(first).data.decode()
    assert "<title>Setting up Salesforce" in page
    assert "Syncing" not in page
    first_id = first.rstrip("/").rsplit("/", 1)[1]
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    store.finish_run(url, acme.id, first_id, "failed", {"vendor": "salesforce"})
    # a failed set-up is not a set-up: the next run still sets it up
    second = acme_admin.post("/admin/integrations/salesforce/sync").headers["Location"]
    assert "Setting up Salesforce" in acme_admin.get(second).data.decode()
    store.finish_run(url, acme.id, second.rstrip("/").rsplit("/", 1)[1], "ok", {"vendor": "salesforce"})
    third = acme_admin.post("/admin/integrations/salesforce/sync").headers["Location"]
    page = acme_admin.get(third).data.decode()
    assert "<title>Syncing Salesforce" in page
    assert "<h1>Syncing Salesforce" in page
    assert "Setting up" not in page
    assert "Setting up Salesforce" in acme_admin.get(first).data.decode()  # that run still was the set-up


def test_a_hubspot_portal_connected_to_another_workspace_is_refused(
    acme_admin: Any,
    tenants: dict[str, TenantData],
    sandbox: Any,
    sandbox_http: Any,
    started: list[tuple[int, str]],
    app: Any,
) -> None:
    """Security (finding D): the HubSpot card finds its workspace by portal id alone, so a portal connected
    to two workspaces could show one workspace's scores in the other's card. A second workspace connecting
    a portal that is connected elsewhere is refused, saying so and what to do; nothing is stored."""
    from tests.connector.web.seed import sign_in_as

    def connect() -> Any:
        resp = acme_admin.post("/admin/integrations/hubspot/connect", data=_form(sandbox, "hubspot"))
        return acme_admin.get(_local(_consent(sandbox_http, resp.location, "hubspot")))

    assert connect().status_code == 302  # Acme connects its portal
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        portal = session.query(m.Installation).filter_by(vendor="hubspot").one().vendor_account
    assert portal
    sign_in_as(acme_admin, tenants["globex"])
    refused = connect()
    page = refused.data.decode()
    assert refused.status_code == 409
    assert f"HubSpot account {portal} is already connected to another healthscore workspace" in page
    assert "disconnect HubSpot there" in page
    assert "Acme" not in page  # which workspace is not said
    with transaction(url) as session:
        rows = session.query(m.Installation).filter_by(vendor="hubspot").all()
        assert [r.tenant_id for r in rows] == [tenants["acme"].id]
        failed = session.query(m.AuditEntry).filter_by(action="integration.connect_failed").one()
        assert (failed.tenant_id, failed.detail["reason"]) == (tenants["globex"].id, "account_in_use")
    assert started == [(tenants["acme"].id, "hubspot")]
    sign_in_as(acme_admin, tenants["acme"])
    assert connect().status_code == 302  # reconnecting it in its own workspace is fine


def test_two_callbacks_racing_for_one_portal_get_the_same_refusal(
    acme_admin: Any,
    tenants: dict[str, TenantData],
    sandbox: Any,
    sandbox_http: Any,
    started: list[tuple[int, str]],
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Security (audit 4): the one-workspace check ran in code only, so a second workspace's callback that
    passed it just before the first one stored the portal stored it too. The database refuses the second
    row now (unique index, migration 0011), and the loser gets the check's own 409 page, not a 500."""
    from connector.installs import installs
    from tests.connector.web.seed import sign_in_as

    def connect() -> Any:
        resp = acme_admin.post("/admin/integrations/hubspot/connect", data=_form(sandbox, "hubspot"))
        return acme_admin.get(_local(_consent(sandbox_http, resp.location, "hubspot")))

    assert connect().status_code == 302  # Acme's callback stores the portal
    real_check = installs.check_account_free
    checks: list[int] = []

    def raced(*args: Any) -> None:
        """Globex's check ran before Acme's row was committed: it found nothing (first call only)."""
        checks.append(1)
        if len(checks) > 1:
            real_check(*args)

    monkeypatch.setattr(installs, "check_account_free", raced)
    sign_in_as(acme_admin, tenants["globex"])
    refused = connect()
    page = refused.data.decode()
    assert refused.status_code == 409
    assert "is already connected to another healthscore workspace" in page
    assert len(checks) == 2
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        rows = session.query(m.Installation).filter_by(vendor="hubspot").all()
        assert [r.tenant_id for r in rows] == [tenants["acme"].id]
        failed = session.query(m.AuditEntry).filter_by(action="integration.connect_failed").one()
        assert (failed.tenant_id, failed.detail["reason"]) == (tenants["globex"].id, "account_in_use")
        assert (
            not session.query(m.AuditEntry)
            .filter_by(action="integration.connected")
            .filter(m.AuditEntry.tenant_id == tenants["globex"].id)
            .count()
        )
    assert started == [(tenants["acme"].id, "hubspot")]


def test_integrations_page_says_why_a_shared_portal_has_no_card(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A portal in two workspaces from before the rule (migration 0011 keeps such pairs, marked) gets 'not
    installed' from the CRM card in both; each workspace's Integrations page now says why and what to do.
    Disconnecting it in one workspace puts the other back under the constraint."""
    from connector.installs import installs
    from tests.connector.web.seed import sign_in_as

    url = app.config["HEALTHSCORE"].sqlalchemy_url
    vault = Vault(app.config["HEALTHSCORE"])
    with transaction(url) as session:
        for t in ("acme", "globex"):
            session.add(
                m.Installation(
                    tenant_id=tenants[t].id, vendor="hubspot", base_url="https://api.hubapi.com",
                    token_url="t", client_id="c", client_secret_enc=vault.encrypt("s"), vendor_account="4242",
                    status="connected", created_at=installs.utcnow(), account_shared=True,
                )
            )  # fmt: skip
    for t in ("acme", "globex"):
        sign_in_as(acme_admin, tenants[t])
        page = acme_admin.get("/admin/integrations").data.decode()
        assert 'id="account-shared-hubspot"' in page
        assert "also connected to another healthscore workspace" in page
        assert 'answers "not installed" in both workspaces' in page
    with transaction(url) as session:
        installs.disconnect(session, vault, tenants["globex"].id, "hubspot")
    sign_in_as(acme_admin, tenants["acme"])
    assert 'id="account-shared-hubspot"' not in acme_admin.get("/admin/integrations").data.decode()
    with transaction(url) as session:
        left = session.query(m.Installation).filter_by(vendor="hubspot").one()
        assert (left.tenant_id, left.account_shared) == (tenants["acme"].id, False)
