"""Audit 7: attack classes the earlier audits did not cover (key rotation of every stored secret, races on
the last admin, dependency floors, …). Each test failed on the code before its fix."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.realtime import inbound as realtime_inbound
from connector.store import models as m
from connector.store import repo as store
from tests.connector import builders as b


def test_keys_rotate_re_encrypts_the_salesforce_inbound_url_token(db_url: str, tmp_path: Path) -> None:
    """`healthscore keys rotate` says old keys can be dropped afterwards; the Salesforce inbound URL token
    (installation settings, inbound_token_enc) was left under the old key, so once it was dropped every
    Salesforce Outbound Message failed to decrypt its installation (a 500 for each, until reconnected)."""
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    vault = Vault(b.settings_for(db_url, tmp_path, old_key))
    with b.session(db_url) as s:
        inst = b.installation(s, vault, b.tenant(s))
        realtime_inbound.set_inbound_token(inst, vault, "url-TOKEN-secret")
    store.rotate_secrets(b.settings_for(db_url, tmp_path, new_key, old_key))
    new_only = Vault(b.settings_for(db_url, tmp_path, new_key))
    with b.session(db_url) as s:
        inst = s.scalars(select(m.Installation)).one()
        assert realtime_inbound.inbound_token(inst, new_only) == "url-TOKEN-secret"
        assert "inbound_token" not in (inst.settings or {})  # never stored in plain text


def _admins(db_url: str, tenant_id: int) -> list[str]:
    with b.session(db_url) as s:
        return sorted(
            s.scalars(select(m.User.email).where(m.User.tenant_id == tenant_id, m.User.role == "admin"))
        )


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_two_admins_demoting_each_other_at_once_leave_one_admin(db_url: str, change: str) -> None:
    """The last-admin rule counted the admins without a lock: two admins demoting (or removing) each other
    at the same moment each saw two admins, and the workspace was left with none (nobody could manage
    users, keys, integrations or webhooks any more). The second change now waits for the first and is
    refused."""
    from connector.installs import users as auth
    from connector.store.db import session_factory

    with b.session(db_url) as s:
        t = b.tenant(s)
        a = auth.create_user(s, t, "a@acme.example", "admin").id
        bee = auth.create_user(s, t, "b@acme.example", "admin").id

    def act(session: Any, user_id: int) -> None:
        if change == "demote":
            auth.set_role(session, t, user_id, "viewer")
        else:
            auth.remove_user(session, t, user_id)

    outcome: list[str] = []

    def second() -> None:
        with session_factory(db_url)() as s2:
            try:
                act(s2, a)
                s2.commit()
                outcome.append("done")
            except auth.AuthError:
                s2.rollback()
                outcome.append("refused")

    with session_factory(db_url)() as s1:
        act(s1, bee)  # the first change, not committed yet
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=0.5)  # the second change reads the admins while the first is still open
        s1.commit()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome == ["refused"]
    assert _admins(db_url, t) == ["a@acme.example"]


# ------------------------------------------------------------------ every admin route checks the role itself

# Routes anyone may call (their own checks: a password, an invitation token, a vendor's signature, an API key).
# /account/password: every signed-in person changes their own password (tests/connector/web/test_password.py).
_OPEN = (
    "/login",
    "/logout",
    "/invite/",
    "/inbound/",
    "/embed/",
    "/api/",
    "/static/",
    "/healthz",
    "/metrics",
    "/account/password",
)


def _sample_path(rule: Any, tenant: Any) -> str:
    """The rule with every argument filled in by an id of the signed-in person's own workspace, so a 403
    can only come from the role check (never from a 404 for another workspace's row)."""
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        values[arg] = {
            "vendor": "zendesk",
            "run_id": "r1",
            "user_id": tenant.admin_id,
            "source_id": tenant.org_id or 1,
        }.get(arg, 1)
    path: str = rule.build(values, append_unknown=False)[1]
    return path


@pytest.mark.parametrize("role", ["viewer", "rep", "support_lead"])
def test_no_admin_route_answers_a_non_admin(client: Any, app: Any, tenants: Any, role: str) -> None:
    """Every route outside the open ones refuses the write (and admin pages) to a person who is not an admin,
    whatever the method: the role is checked on the server, not only by hiding the button. Walks the URL map,
    so a route added later without @admin_required fails here."""
    from connector.installs import users as auth
    from connector.store.db import transaction
    from tests.connector.web.seed import PASSWORD, sign_in_user

    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        uid = auth.create_user(session, acme.id, f"audit7-{role}@acme.test", role, password=PASSWORD).id
    sign_in_user(client, uid, acme.id)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(_OPEN):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "GET" and not rule.rule.startswith("/admin"):
                continue  # the pages every role reads
            path = _sample_path(rule, acme)
            resp = client.open(
                path, method=method, data={"role": "admin", "name": "x", "url": "https://x.test"}
            )
            assert resp.status_code == 403, f"{role}: {method} {path} answered {resp.status_code}"
            checked += 1
    assert checked >= 30  # the admin area's pages and buttons, and the connect flow's callback
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.get(m.User, uid).role == role  # type: ignore[union-attr]


@pytest.mark.parametrize("scope", ["read", "installation"])
def test_no_api_write_answers_a_read_or_installation_key(
    client: Any, app: Any, tenants: Any, scope: str
) -> None:
    """Every API operation that changes something needs an admin-scope key: a BI tool's read key and the
    Zendesk sidebar's installation key get 403 on each (the OpenAPI body check comes after the scope)."""
    from tests.connector.web.seed import bearer, sidebar_key

    url = app.config["HEALTHSCORE"].sqlalchemy_url
    key = tenants["acme"].read_key if scope == "read" else sidebar_key(url, tenants["acme"])[0]
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"}):
            path = _sample_path(rule, tenants["acme"])
            resp = client.open(path, method=method, json={"url": "https://x.test"}, headers=bearer(key))
            assert resp.status_code == 403, f"{scope} key: {method} {path} answered {resp.status_code}"
            checked += 1
    assert (
        checked >= 9
    )  # webhooks: create, update, delete, rotate; plays: create, update, delete, dry run; backtest


# ------------------------------------------------------------------ secrets in error messages


def test_demo_workers_error_does_not_print_the_broker_password() -> None:
    """`healthscore demo --workers` with an unreachable Redis echoed the whole broker URL, password included,
    to the terminal (and to whatever CI log captures it); the database URLs were already masked."""
    from types import SimpleNamespace

    import click

    from connector.commands.demo import _check_services

    settings = SimpleNamespace(
        sqlalchemy_url="postgresql+psycopg://hs@127.0.0.1:5432/hs",
        broker_url="redis://:Br0ker-SECRET@127.0.0.1:1/0",  # nothing listens on port 1
    )
    with pytest.raises(click.UsageError) as refused:
        _check_services(settings)
    assert "Br0ker-SECRET" not in refused.value.message
    assert "127.0.0.1:1/0" in refused.value.message  # still says which Redis it tried


# ------------------------------------------------------------------ guessable passwords


@pytest.mark.parametrize(
    "password",
    ["password1234", "123456789012", "qwertyuiop12", "aaaaaaaaaaaa", "new@acme.test1", "acmeacmeacme"],
)
def test_an_invitation_refuses_a_guessable_password(
    client: Any, app: Any, tenants: Any, password: str
) -> None:
    """Twelve characters were the only rule, so 'password1234', a keyboard row, twelve times one letter or
    the person's own e-mail were accepted (NIST SP 800-63B: compare against commonly used and context-
    specific words). They are refused with what makes them guessable; the link still works afterwards."""
    from connector.installs import users as auth
    from connector.store.db import transaction

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        _, token = auth.invite(session, tenants["acme"].id, "new@acme.test", "viewer")
    refused = client.post(f"/invite/{token}", data={"password": password, "confirm": password})
    assert refused.status_code == 400
    assert "harder to guess" in refused.data.decode()
    strong = "correct horse battery staple"
    assert client.post(f"/invite/{token}", data={"password": strong, "confirm": strong}).status_code == 302


def test_create_admin_refuses_a_guessable_password(app: Any) -> None:
    from click.testing import CliRunner

    from connector.cli import main

    env = {"HEALTHSCORE_DATABASE_URL": app.config["HEALTHSCORE"].database_url}
    args = [
        "users",
        "create-admin",
        "--tenant",
        "acme",
        "--create-tenant",
        "Acme",
        "--email",
        "boss@acme.test",
    ]
    weak = CliRunner().invoke(main, [*args, "--password-stdin"], input="password1234\n", env=env)
    assert weak.exit_code == 2  # nothing was saved (README: exit 2 when it did nothing; ce88209)
    assert "harder to guess" in weak.output
    ok = CliRunner().invoke(main, [*args, "--password-stdin"], input="a very long password\n", env=env)
    assert ok.exit_code == 0, ok.output


# ------------------------------------------------------------------ inbound URLs of installations not set up


@pytest.mark.parametrize("vendor", ["zendesk", "hubspot", "salesforce"])
def test_an_installation_without_inbound_set_up_answers_as_an_unknown_one(
    client: Any, app: Any, tenants: Any, vendor: str
) -> None:
    """Security audit 3 made an unknown tenant answer exactly as a wrong signature does (slugs are company
    names). An installation whose inbound webhooks are not set up (no Zendesk signing secret, no Salesforce
    URL token: every installation connected through the UI) still answered 409 not_configured to anyone,
    before any check, so /inbound/<vendor>/<slug> told which companies are customers and what they installed."""
    from connector.installs.vault import Vault
    from connector.realtime import inbound as realtime_inbound
    from connector.store.db import transaction

    settings = app.config["HEALTHSCORE"]
    with transaction(settings.sqlalchemy_url) as session:
        inst = b.installation(session, Vault(settings), tenants["acme"].id, vendor)
        inst.vendor_account = None if vendor == "hubspot" else inst.vendor_account
    realtime_inbound.forget_installs()
    if vendor == "salesforce":
        body, ctype = b"<x/>", "text/xml"
        paths = ["/inbound/salesforce/acme/guessed-token", "/inbound/salesforce/nobody/guessed-token"]
    else:
        body, ctype = b'[{"portalId": 1}]' if vendor == "hubspot" else b'{"id": "1"}', "application/json"
        paths = [f"/inbound/{vendor}/acme", f"/inbound/{vendor}/nobody"]
    headers = {"Content-Type": ctype, "X-Zendesk-Webhook-Signature": "x", "X-HubSpot-Signature-v3": "x"}
    real, unknown = (client.post(p, data=body, headers=headers) for p in paths)
    assert real.status_code == unknown.status_code
    assert real.get_data() == unknown.get_data()


# ------------------------------------------------------------------ HubSpot card: which portals are customers


@pytest.mark.parametrize("signature", ["none", "wrong-secret", "stale"])
def test_the_card_answers_an_unknown_portal_as_a_customers_portal(
    client: Any, app: Any, tenants: Any, signature: str
) -> None:
    """The card's answer for a portal that is not a customer was 401 without a hint, and for a customer's
    portal with a bad signature 401 with the verifier's reason as the hint ('missing_header',
    'no_matching_signature'): portal ids are small numbers, so anyone could list which HubSpot portals use
    healthscore. Both now go through the same check (the unknown one against a secret nobody has)."""
    import time

    from connector.installs.vault import Vault
    from connector.store.db import transaction
    from webhooks.inbound import sign_hubspot_v3

    vault = Vault(app.config["HEALTHSCORE"])
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        inst = b.installation(session, vault, tenants["acme"].id, "hubspot")
        inst.vendor_account = "4242"
    answers = []
    for portal in ("4242", "999"):
        path = f"/embed/hubspot/card?companyId=9001&portalId={portal}"
        headers: dict[str, str] = {}
        if signature != "none":
            skew = -10 * 60 * 1000 if signature == "stale" else 0
            ts = int(time.time() * 1000) + skew
            headers = sign_hubspot_v3("not-the-secret", "GET", "http://127.0.0.1:5000" + path, b"", ts)
        answers.append(client.get(path, headers=headers))
    customer, stranger = answers
    assert customer.status_code == stranger.status_code == 401
    assert customer.get_json() == stranger.get_json()


# ------------------------------------------------------------------ compressed and unbounded request bodies


@pytest.mark.parametrize("path", ["/inbound/zendesk/acme", "/api/v1/webhooks"])
def test_compressed_bodies_are_never_inflated_and_chunked_ones_are_bounded(
    client: Any, tenants: Any, path: str
) -> None:
    """Held on the current code (regression test): nothing inflates Content-Encoding: gzip request bodies
    (a 50 MiB bomb in 51 KiB is read as the 51 KiB it is: refused unparsed), and a chunked body without a
    Content-Length is cut at MAX_CONTENT_LENGTH (2 MiB) before anything parses it."""
    import gzip
    import io

    from tests.connector.web.seed import bearer

    headers = bearer(tenants["acme"].admin_key) if path.startswith("/api/") else {}
    bomb = gzip.compress(b'{"url": "https://example.com/' + b"a" * (50 * 1024 * 1024) + b'"}')
    resp = client.post(
        path,
        data=bomb,
        headers={**headers, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert resp.status_code in (400, 401)
    huge = b'{"url": "https://example.com/' + b"a" * (20 * 1024 * 1024) + b'"}'
    env = {"wsgi.input": io.BytesIO(huge), "wsgi.input_terminated": True, "CONTENT_TYPE": "application/json"}
    resp = client.post(path, headers={**headers, "Transfer-Encoding": "chunked"}, environ_overrides=env)
    assert resp.status_code in (400, 413)


# ------------------------------------------------------------------ webhook endpoints per workspace


def test_a_workspace_cannot_add_webhook_endpoints_without_bound(
    client: Any, acme_admin: Any, tenants: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing bounded a workspace's endpoints: an admin, or anyone holding an admin-scope key, could add
    thousands aimed at one third-party URL, and every band change went out to each of them with a day of
    retries (the service as a traffic amplifier, and the delivery workers busy for every other workspace).
    At the cap, adding one more is refused with what to do, on the API and the admin page alike."""
    from connector.admin import webhooks as webhook_admin
    from tests.connector.web.seed import bearer

    monkeypatch.setattr(webhook_admin, "MAX_ENDPOINTS", 3, raising=False)
    key = bearer(tenants["acme"].admin_key)
    for i in range(3):
        made = client.post("/api/v1/webhooks", json={"url": f"https://93.184.216.34/h{i}"}, headers=key)
        assert made.status_code == 201, made.get_json()
    refused = client.post("/api/v1/webhooks", json={"url": "https://93.184.216.34/h9"}, headers=key)
    assert refused.status_code == 422
    assert "at most 3 webhook endpoints" in refused.get_json()["hint"]
    page = acme_admin.post(
        "/admin/webhooks/", data={"url": "https://93.184.216.34/h8", "event_types": "account.band_changed"}
    )
    assert page.status_code == 400
    assert "at most 3 webhook endpoints" in page.data.decode()
    assert len(client.get("/api/v1/webhooks", headers=key).get_json()["data"]) == 3


# ------------------------------------------------------------------ invitation links are single use


def test_an_invitation_link_sent_twice_at_once_sets_one_password(db_url: str) -> None:
    """The link was burnt by the same write that set the password, after reading it: two sendings at the
    same moment (someone who intercepted the link racing its owner) both set a password, both were signed
    in, and the later one's password stayed. Now the second finds the link used."""
    from connector.installs import users as auth
    from connector.store.db import session_factory

    with b.session(db_url) as s:
        t = b.tenant(s)
        _, token = auth.invite(s, t, "new@acme.example", "admin")
    first, second = "correct horse battery staple", "another horse entirely, stapled"
    outcome: list[str] = []

    def racer() -> None:
        with session_factory(db_url)() as s2:
            try:
                auth.accept_invite(s2, token, second)
                s2.commit()
                outcome.append("done")
            except auth.AuthError:
                s2.rollback()
                outcome.append("refused")

    with session_factory(db_url)() as s1:
        auth.accept_invite(s1, token, first)  # not committed yet
        worker = threading.Thread(target=racer)
        worker.start()
        worker.join(timeout=0.5)
        s1.commit()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome == ["refused"]
    with b.session(db_url) as s:
        assert auth.authenticate(s, "new@acme.example", first) is not None


# ------------------------------------------------------------------ response headers a scanner looks for


@pytest.mark.parametrize(
    "path", ["/login", "/", "/admin/users", "/api/v1/accounts", "/nowhere", "/static/app.js"]
)
def test_pages_deny_browser_features_and_cross_origin_openers(acme_admin: Any, path: str) -> None:
    """Defence in depth the earlier audits' header tests did not ask for: no page uses the camera,
    microphone, location, payment or USB, so none may (Permissions-Policy), and no page of the app shares
    a browsing context group with a cross-origin window (COOP), so a vendor tab it opened, or a page that
    opened it, cannot reach it through window.opener."""
    resp = acme_admin.get(path)
    policy = resp.headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in policy, (path, policy)
    assert resp.headers.get("Cross-Origin-Opener-Policy") == "same-origin", path


def test_the_vendor_embeds_keep_their_framing(client: Any) -> None:
    resp = client.get("/embed/hubspot/card")
    assert "camera=()" in resp.headers.get("Permissions-Policy", "")
    assert "Cross-Origin-Opener-Policy" not in resp.headers  # framed by the vendors' pages


# ------------------------------------------------------------------ work done for a request before it is authenticated


@pytest.mark.parametrize(
    "path",
    ["/api/v1/webhooks", "/inbound/zendesk/acme", "/inbound/hubspot/acme", "/embed/hubspot/card?portalId=1"],
)
def test_no_json_body_is_parsed_before_the_request_is_authenticated(
    client: Any, app: Any, tenants: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Every JSON body was parsed and walked by the app-wide NUL/surrogate check before any key or signature
    was looked at: a 2 MiB array of zeros cost ~0.2-0.35 s of CPU per request here (1 ms for a small body),
    from anyone, on routes that have no per-address limit by design (inbound webhooks, the HubSpot card,
    which are called from the vendors' shared servers). The check now scans the raw text; the body is
    parsed only by a request that authenticated (the card, which reads portalId from the body, takes at
    most 64 KiB)."""
    parsed: list[int] = []
    real = app.json.loads
    monkeypatch.setattr(app.json, "loads", lambda s, **kw: parsed.append(len(s)) or real(s, **kw))
    body = b"[" + b"0," * (512 * 1024) + b"0]"
    resp = client.post(path, data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code in (401, 413)
    assert parsed == []


@pytest.mark.parametrize(
    "body",
    ['{"id": "\\u0000"}', '{"id": "\\ud800"}', '{"id": "\\udc00"}', '{"id": "\\ud800x"}', '["\\\\\\u0000"]'],
)
def test_the_raw_text_check_still_refuses_what_cannot_be_stored(client: Any, body: str) -> None:
    resp = client.post("/inbound/zendesk/acme", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert "NUL character" in resp.get_json()["message"]


@pytest.mark.parametrize(
    "body",
    ['{"id": "\\ud83d\\ude00"}', '{"id": "\\\\u0000"}', '{"id": "\\\\ud800"}', '{"id": "\\u00e9\\u0001"}'],
)
def test_the_raw_text_check_lets_storable_escapes_through(client: Any, body: str) -> None:
    """A surrogate pair is one character, and an escaped backslash before 'u0000' is text, not a NUL."""
    resp = client.post("/inbound/zendesk/acme", data=body, content_type="application/json")
    assert resp.status_code == 401  # on to the signature check


def test_an_escaped_backslash_between_two_surrogates_does_not_pair_them(client: Any) -> None:
    # "\ud800\\\udc00" is a high surrogate, a backslash and a low surrogate: two lone halves.
    resp = client.post(
        "/inbound/zendesk/acme", data='{"id": "\\ud800\\\\\\udc00"}', content_type="application/json"
    )
    assert resp.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/webhooks", "/inbound/zendesk/acme", "/login"])
def test_a_form_of_countless_fields_is_refused_before_it_is_parsed(
    client: Any, tenants: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The same check read every url-encoded form (on any route, the API and inbound webhooks included,
    which take none), and Werkzeug splits one without counting its fields (it counts multipart parts
    only): 480 KB of 'a=&' cost ~240 ms of CPU per request for anyone. Over 1,000 fields (Flask's
    MAX_FORM_PARTS) is refused (413) from a count of the raw bytes, before any parsing."""
    from werkzeug import formparser

    parsed: list[int] = []
    real = formparser.FormDataParser.parse
    monkeypatch.setattr(
        formparser.FormDataParser, "parse", lambda self, *a, **k: parsed.append(1) or real(self, *a, **k)
    )
    body = b"a=&" * 160_000
    resp = client.post(path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413
    assert parsed == []


@pytest.mark.parametrize(
    "path", ["/api/v1/webhooks", "/inbound/zendesk/acme", "/embed/hubspot/card?portalId=1"]
)
def test_routes_that_take_no_forms_never_parse_one(
    client: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The API, inbound webhooks and the card read JSON or signed bodies only; a multipart form sent to them
    (up to 1,000 parts: ~60 ms to parse here) was parsed by the app-wide check before any key or signature."""
    from werkzeug import formparser

    parsed: list[int] = []
    real = formparser.FormDataParser.parse
    monkeypatch.setattr(
        formparser.FormDataParser, "parse", lambda self, *a, **k: parsed.append(1) or real(self, *a, **k)
    )
    body = "".join(
        f'--xx\r\nContent-Disposition: form-data; name="a{i}"\r\n\r\n{"v" * 400}\r\n' for i in range(999)
    )
    resp = client.post(
        path, data=(body + "--xx--\r\n").encode(), content_type="multipart/form-data; boundary=xx"
    )
    assert resp.status_code in (400, 401, 413, 415)
    assert parsed == []


@pytest.mark.parametrize("path", ["/login", "/docs/api", "/admin/users", "/nowhere"])
def test_every_page_policy_pins_base_uri_and_objects(acme_admin: Any, path: str) -> None:
    """base-uri does not fall back to default-src: the API reference's own policy (Swagger UI needs inline
    styles) left it out, so a <base> tag could re-point the page's relative script URLs."""
    csp = acme_admin.get(path).headers["Content-Security-Policy"]
    assert "base-uri 'none'" in csp, path
    assert "object-src 'none'" in csp, path
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], path


def test_an_invitation_link_never_sets_the_password_of_an_account_in_use(db_url: str) -> None:
    """A link of a person who has accepted already (a 'New link' that raced the acceptance writes a token
    hash onto an active account) must not set that account's password: it would hand the account to
    whoever holds the link."""
    from connector.installs import users as auth

    with b.session(db_url) as s:
        t = b.tenant(s)
        user, _ = auth.invite(s, t, "new@acme.example", "viewer")
        user.password_hash = auth.hash_password("correct horse battery staple")
        token = "raced-renewal-token"
        user.invite_token_hash = auth._token_hash(token)
    with b.session(db_url) as s, pytest.raises(auth.AuthError):
        auth.accept_invite(s, token, "another horse entirely, stapled")
    with b.session(db_url) as s:
        assert auth.authenticate(s, "new@acme.example", "correct horse battery staple") is not None
