"""Issue 12 items 6 and 10: per-account login limits, ProxyFix by setting, /metrics protection, CSP
form-action, HSTS in production, inbound content types."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import PASSWORD, TenantData


def _login(client: Any, email: str, password: str, ip: str) -> int:
    resp = client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )
    return int(resp.status_code)


def test_failed_logins_lock_the_account_whatever_the_address(client: Any, tenants: Any) -> None:
    """A distributed guesser gets 5 tries a minute per account, from any number of addresses."""
    codes = [_login(client, "admin@acme.test", "wrong password!!", f"203.0.113.{i}") for i in range(6)]
    assert codes == [401] * 5 + [429]
    # The other accounts behind the same addresses are not affected.
    assert _login(client, "viewer@acme.test", PASSWORD, "203.0.113.1") == 302


def test_one_address_does_not_lock_out_a_whole_nat(client: Any, tenants: Any) -> None:
    """Ten failures for ten different accounts from one address leave a colleague behind it signing in."""
    for i in range(10):
        assert _login(client, f"guess{i}@acme.test", "wrong password!!", "198.51.100.7") == 401
    assert _login(client, "admin@acme.test", PASSWORD, "198.51.100.7") == 302


def test_successful_logins_do_not_count_against_the_account(client: Any, tenants: Any) -> None:
    for _ in range(7):
        assert _login(client, "admin@acme.test", PASSWORD, "192.0.2.1") == 302


def _app(settings_overrides: dict[str, object], **extra: object) -> Any:
    from connector import create_app

    app = create_app({**settings_overrides, **extra})
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_proxy_headers_are_trusted_only_by_setting(
    settings_overrides: dict[str, object], tenants: Any
) -> None:
    """Without the setting a spoofed X-Forwarded-For changes nothing; with one proxy it is the client."""
    plain = _app(settings_overrides).test_client()
    codes = [
        plain.post(
            "/login",
            data={"email": "admin@acme.test", "password": "wrong password!!"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(6)
    ]
    assert codes[-1] == 429
    proxied = _app(settings_overrides, trusted_proxies=1)
    seen: list[str | None] = []

    @proxied.get("/_whoami")
    def whoami() -> str:
        from flask import request

        seen.append(request.remote_addr)
        return "ok"

    proxied.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["203.0.113.9"]


def test_metrics_need_a_token_or_loopback(settings_overrides: dict[str, object]) -> None:
    open_app = _app(settings_overrides).test_client()
    assert open_app.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert open_app.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 401
    guarded = _app(settings_overrides, metrics_token="m3tr1cs-t0ken-Q9x").test_client()
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = guarded.get(
        "/metrics",
        headers={"Authorization": "Bearer m3tr1cs-t0ken-Q9x"},
        environ_base={"REMOTE_ADDR": "203.0.113.5"},
    )
    assert ok.status_code == 200
    assert b"healthscore_http_requests_total" in ok.data


def test_csp_forms_post_only_to_us(client: Any, acme_admin: Any) -> None:
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "form-action 'self';" in csp + ";"
    assert "https:" not in csp
    assert "Strict-Transport-Security" not in client.get("/login").headers
    connect = acme_admin.get("/admin/integrations/zendesk/connect").headers["Content-Security-Policy"]
    assert "form-action 'self' https:" in connect  # the connect form goes on to the vendor


def test_hsts_in_production(settings_overrides: dict[str, object]) -> None:
    from connector.installs.vault import generate_key

    app = _app(
        settings_overrides,
        env="production",
        secret_key="k7Q" + "x9Zp2LmN4vB8cR1tY6wE3uI0oA5sD" * 2,
        token_keys=generate_key(),
        public_base_url="https://healthscore.example",
    )
    resp = app.test_client().get("/login")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/inbound/zendesk/acme", "text/plain"),
        ("/inbound/zendesk/acme", "application/x-www-form-urlencoded"),
        ("/inbound/hubspot/acme", "text/xml"),
        ("/inbound/salesforce/acme/token", "application/json"),
        ("/inbound/zendesk/acme", ""),
    ],
)
def test_inbound_wrong_content_type_is_415(
    client: Any, tenants: dict[str, TenantData], path: str, content_type: str
) -> None:
    resp = client.post(path, data=b"{}", content_type=content_type)
    assert resp.status_code == 415
    assert resp.get_json()["error"] == "unsupported_media_type"


def _device_client(client: Any, ip: str) -> Any:
    """A browser that signed in to admin@acme.test once (it now holds the device cookie)."""
    resp = client.post(
        "/login", data={"email": "admin@acme.test", "password": PASSWORD}, environ_base={"REMOTE_ADDR": ip}
    )
    assert resp.status_code == 302
    assert client.get_cookie("healthscore_device") is not None
    return client


def test_a_guesser_who_spends_the_account_budget_cannot_lock_out_the_owners_browser(
    app: Any, client: Any, tenants: Any
) -> None:
    """Security audit 3, finding A: failures from anywhere exhaust the account's budget (unknown browsers
    get 429), but the browser the admin signed in from before keeps a budget of its own."""
    own = _device_client(client, "192.0.2.10")
    attacker = app.test_client()
    codes = [_login(attacker, "admin@acme.test", "wrong password!!", f"203.0.113.{i}") for i in range(6)]
    assert codes == [401] * 5 + [429]
    # A new browser with the right password is still refused: the account's budget is spent.
    assert _login(app.test_client(), "admin@acme.test", PASSWORD, "198.51.100.9") == 429
    # The owner's browser is not.
    assert _login(own, "admin@acme.test", PASSWORD, "192.0.2.10") == 302


def test_guessing_from_a_remembered_browser_spends_that_browsers_budget(
    app: Any, client: Any, tenants: Any
) -> None:
    own = _device_client(client, "192.0.2.11")
    codes = [_login(own, "admin@acme.test", "wrong password!!", "192.0.2.11") for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # ...and not the account's: another browser still signs in.
    assert _login(app.test_client(), "admin@acme.test", PASSWORD, "198.51.100.10") == 302


@pytest.mark.parametrize("kind", ["forged", "another account's"])
def test_a_forged_or_foreign_device_cookie_counts_as_none(app: Any, tenants: Any, kind: str) -> None:
    guesser = app.test_client()
    if kind == "forged":
        guesser.set_cookie("healthscore_device", "eyJhIjoiMCIsIm4iOiJ4In0.Zm9yZ2Vk.c2lnbmF0dXJl")
    else:  # a real cookie, signed for the viewer: it does not vouch for the admin
        assert _login(guesser, "viewer@acme.test", PASSWORD, "192.0.2.12") == 302
        assert guesser.get_cookie("healthscore_device") is not None
    codes = [_login(guesser, "admin@acme.test", "wrong password!!", f"203.0.113.{40 + i}") for i in range(5)]
    assert codes == [401] * 5
    # Those failures were charged to the admin's account: an unknown browser is now refused.
    assert _login(app.test_client(), "admin@acme.test", PASSWORD, "198.51.100.11") == 429
