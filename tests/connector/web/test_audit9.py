"""Audit 9: attacks the earlier audits' tests did not cover (one section per finding, then what held).
Each finding's test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import PASSWORD, TenantData, sign_in_as

NEW = "plum kettle orbit wednesday"

# ---------------------------------------------------------------- finding: change-password guessing


def test_guessing_the_current_password_on_the_change_form_is_limited_per_account(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """Sign-in allows 5 wrong passwords a minute (50 a day) per account from any address; the change form
    checks the same password but was limited per client address only (30 a minute, 300 an hour): someone
    holding a stolen session cookie guessed the password there 6x faster from one address, without limit
    from many, then changed it and signed the owner out everywhere."""
    sign_in_as(client, tenants["acme"], "viewer")
    codes = [
        client.post(
            "/account/password",
            data={"current": f"wrong guess number {i}", "password": NEW, "confirm": NEW},
            environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
        ).status_code
        for i in range(6)
    ]
    assert codes[:5] == [400] * 5
    assert codes[5] == 429


def test_the_change_form_budget_is_the_sign_in_budget(client: Any, tenants: dict[str, TenantData]) -> None:
    """Guesses on the change form and at sign-in draw on one per-account budget (not 5 + 5)."""
    sign_in_as(client, tenants["acme"], "viewer")
    for i in range(3):
        client.post(
            "/account/password", data={"current": f"wrong {i} guess!!", "password": NEW, "confirm": NEW}
        )
    other = client.application.test_client()
    codes = [
        other.post(
            "/login",
            data={"email": tenants["acme"].viewer_email, "password": f"wrong again {i}"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 429]


def test_a_weak_new_password_spends_no_guess(client: Any, tenants: dict[str, TenantData]) -> None:
    """Only a wrong current password counts: someone trying new passwords the rules refuse is not locked."""
    sign_in_as(client, tenants["acme"], "viewer")
    for _ in range(8):
        resp = client.post(
            "/account/password", data={"current": PASSWORD, "password": "short", "confirm": "short"}
        )
        assert resp.status_code == 400
    ok = client.post("/account/password", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert ok.status_code == 302


def test_a_guesser_at_sign_in_does_not_lock_the_owner_out_of_the_change_form(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """The owner's browser holds their device cookie (it signed in): as at sign-in, it has a budget of its
    own, so someone spending the account's budget with wrong passwords does not block the owner's change."""
    email = tenants["acme"].viewer_email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    guesser = client.application.test_client()
    codes = [
        guesser.post("/login", data={"email": email, "password": f"wrong guess {i}!!"}).status_code
        for i in range(6)
    ]
    assert codes[-1] == 429
    ok = client.post("/account/password", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert ok.status_code == 302


# ---------------------------------------------------------------- finding: sandbox control port rebinding


def _control_client() -> Any:
    from datetime import timedelta

    from integrations.sandbox import seed
    from integrations.sandbox.context import Faults, OAuthClient, SandboxContext, VendorState
    from integrations.sandbox.control import create_control_app
    from tests.sandbox.test_control import VENDORS, StubRunner

    vendors = {
        v: VendorState(vendor=v, oauth=OAuthClient("id", "secret", timedelta(hours=1))) for v in VENDORS
    }
    ctx = SandboxContext(book=seed.generate_book(seed=2, accounts=10), vendors=vendors, faults=Faults(0))
    return create_control_app(ctx, StubRunner(ctx)).test_client()


@pytest.mark.parametrize("host", ["rebind.attacker.example:8765", "127.0.0.1.nip.io:8765", "evil.example"])
def test_the_sandbox_control_api_answers_loopback_names_only(host: str) -> None:
    """The control port (credentials, webhook secrets, clock) binds 127.0.0.1 only, but a page in the
    developer's browser reached it by DNS rebinding: its own name re-pointed at 127.0.0.1 is the same
    origin to the browser, so it read /_sandbox/credentials and re-pointed the emulated webhooks."""
    control = _control_client()
    headers = {"Host": host}
    assert control.get("/_sandbox/credentials", headers=headers).status_code == 400
    assert control.get("/_sandbox/webhooks", headers=headers).status_code == 400
    moved = control.post(
        "/_sandbox/webhooks", json={"vendor": "zendesk", "url": "http://evil.example/"}, headers=headers
    )
    assert moved.status_code == 400
    assert control.get("/_sandbox/webhooks").get_json()["config"]["zendesk"]["url"] != "http://evil.example/"


def test_the_sandbox_control_api_still_answers_its_own_addresses() -> None:
    control = _control_client()
    for host in ("127.0.0.1:8765", "localhost:8765", "localhost"):
        assert control.get("/_sandbox/credentials", headers={"Host": host}).status_code == 200, host


# ---------------------------------------------------------------- finding: look-alike domains by their dots


@pytest.mark.parametrize(
    "lookalike",
    [
        "admin@acme.test.",  # a trailing dot: the same mail domain (FQDN), another login
        "admin@acme\u3002test",  # ideographic full stop: a label separator to IDNA and mail clients
        "admin@acme\uff61test",  # halfwidth ideographic full stop
        "admin@acme..test",  # an empty label
        "admin@.acme.test",
    ],
)
def test_invite_refuses_a_domain_that_differs_only_by_its_dots(
    acme_admin: Any, app: Any, lookalike: str
) -> None:
    """Audit 2 refused look-alikes of an existing address (fullwidth, zero-width, mixed scripts), but not
    ones that differ by a dot: 'admin@acme.test.' was invited as a second admin next to admin@acme.test, so
    the users list and the audit log showed two people with the real admin's address."""
    from connector.store import models as m
    from connector.store.db import transaction

    resp = acme_admin.post("/admin/users/invite", data={"email": lookalike, "role": "admin"})
    assert resp.status_code == 400, lookalike
    assert "domain" in resp.get_data(as_text=True)
    with transaction(str(app.config["HEALTHSCORE"].sqlalchemy_url)) as session:
        assert session.query(m.User).count() == 4  # the two seeded users of each tenant, nothing added


def test_ordinary_domains_are_still_invited(acme_admin: Any) -> None:
    for email in ("ops@mail.acme.test", "jo.smith@acme-corp.example", "anna@xn--bcher-kva.example"):
        resp = acme_admin.post("/admin/users/invite", data={"email": email, "role": "viewer"})
        assert resp.status_code == 303, email


# ---------------------------------------------------------------- finding: log injection in text logs


def test_a_line_break_in_a_logged_path_does_not_forge_a_log_line(app: Any) -> None:
    """Text logs (the default format) wrote each record's message and exception summary as is: an exception
    text quoting a value it could not read (vendor or ticket data, a request field) with a CR/LF in it
    started a line of the attacker's own ('... INFO connector.web.auth: user.sign_in admin@…')."""
    import io
    import logging

    from flask import request

    from connector.logs import configure_logging

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(f"cannot read {request.args['q']}")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # served as in production: logged, then the 500 page

    stream = io.StringIO()
    handler = configure_logging("text", "INFO", stream=stream)
    try:
        forged = "x%0d%0a2026-12-07 17:00:00,000 INFO connector.web.auth: user.sign_in admin@acme.test"
        assert app.test_client().get(f"/boom?q={forged}").status_code == 500
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [ln for ln in stream.getvalue().splitlines() if "boom" in ln or "user.sign_in" in ln]
    assert lines, stream.getvalue()
    assert not any(ln.startswith("2026-12-07 17:00:00,000") for ln in lines), lines
    assert all("\\r\\n2026-12-07" in ln for ln in lines), lines


# ---------------------------------------------------------------- what held (regression tests)


def test_held_the_session_cookie_is_host_only_secure_httponly_lax_over_https(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData]
) -> None:
    from connector import create_app

    app = create_app({**settings_overrides, "public_base_url": "https://healthscore.example"})
    app.config["WTF_CSRF_ENABLED"] = False
    resp = app.test_client().post(
        "/login",
        data={"email": tenants["acme"].admin_email, "password": PASSWORD},
        base_url="https://healthscore.example",
    )
    assert resp.status_code == 302
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if "healthscore_session=" in c)
    assert cookie.startswith("__Host-healthscore_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie, cookie
    assert "Domain=" not in cookie


def test_held_a_copy_of_the_cookie_taken_before_a_password_change_opens_nothing(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """The browser that changes its password gets a new session id; the old one (copied) is dead."""
    sign_in_as(client, tenants["acme"], "viewer")
    stolen = client.application.test_client()
    cookie = client.get_cookie("healthscore_session")
    assert cookie is not None
    stolen.set_cookie("healthscore_session", cookie.value)
    assert stolen.get("/").status_code == 200
    resp = client.post("/account/password", data={"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    assert stolen.get("/").status_code == 302


def test_held_a_spoofed_x_forwarded_for_does_not_reset_the_address_budget(client: Any) -> None:
    """Without trusted proxies (the default) X-Forwarded-For is ignored: 30 sign-ins a minute per address."""
    codes = [
        client.post(
            "/login",
            data={"email": f"nobody{i}@acme.test", "password": "wrong password!!"},
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        ).status_code
        for i in range(31)
    ]
    assert codes[:30] == [401] * 30
    assert codes[30] == 429


def test_held_behind_one_proxy_only_the_address_it_appends_counts(
    settings_overrides: dict[str, object], app: Any
) -> None:
    """trusted_proxies=1: a client's own X-Forwarded-For entries come before the proxy's and are ignored."""
    from connector import create_app

    proxied = create_app({**settings_overrides, "trusted_proxies": 1})  # on `app`'s migrated database
    proxied.config["WTF_CSRF_ENABLED"] = False
    client = proxied.test_client()
    codes = [
        client.post(
            "/login",
            data={"email": f"nobody{i}@acme.test", "password": "wrong password!!"},
            headers={"X-Forwarded-For": f"192.0.2.{i}, 203.0.113.50"},  # forged, then the proxy's entry
        ).status_code
        for i in range(31)
    ]
    assert codes[30] == 429


def test_held_the_api_sends_no_cors_headers(client: Any, tenants: dict[str, TenantData]) -> None:
    for method in ("get", "options"):
        resp = getattr(client, method)(
            "/api/v1/accounts",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert not [h for h in resp.headers if h[0].lower().startswith("access-control-")]


def test_held_workers_accept_json_messages_only() -> None:
    """A pickle in the broker would run code in a worker: Celery is told to accept JSON only."""
    from connector.jobs.tasks import celery as celery_app

    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.result_serializer == "json"


def test_held_the_sandbox_servers_listen_on_loopback_only() -> None:
    from flask import Flask

    from integrations.sandbox.server import ServedApp

    served = ServedApp(Flask("x"), name="audit9")
    try:
        assert served._server.server_address[0] == "127.0.0.1"
    finally:
        served.shutdown()


def test_held_sign_in_needs_the_csrf_token_and_bodies_are_bounded(
    settings_overrides: dict[str, object], app: Any, tenants: dict[str, TenantData]
) -> None:
    """Login CSRF (signing a victim into the attacker's account) is refused; a body over 2 MiB is a 413."""
    from connector import create_app

    strict = create_app(settings_overrides)  # CSRF on, as served
    client = strict.test_client()
    data = {"email": tenants["acme"].admin_email, "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 400
    big = {"email": "a@b.test", "password": "x" * (3 * 1024 * 1024)}
    assert app.test_client().post("/login", data=big).status_code == 413
