"""Sign-in, sessions, invitations, rate limit and CSRF."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import PASSWORD, TenantData


def _login(client: Any, email: str, password: str = PASSWORD, nxt: str = "") -> Any:
    return client.post("/login", data={"email": email, "password": password, "next": nxt})


def _session_cookie(resp: Any) -> str:
    """The session's Set-Cookie (a sign-in also sets the device cookie, security.DEVICE_COOKIE)."""
    return next(c for c in resp.headers.getlist("Set-Cookie") if "healthscore_session=" in c.split(";")[0])


def test_sign_in_sets_secure_session(client: Any, tenants: dict[str, TenantData]) -> None:
    resp = _login(client, "ADMIN@acme.test ")
    assert resp.status_code == 302
    assert resp.location == "/"
    cookie = _session_cookie(resp)
    assert cookie.startswith("healthscore_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/")
    assert b"Acme Green Corp" in page.data
    assert b"Globex" not in page.data


def test_secure_flag_when_served_over_https(settings_overrides: dict[str, object], tenants: Any) -> None:
    from connector import create_app

    app = create_app({**settings_overrides, "public_base_url": "https://health.example.com"})
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    site = "https://health.example.com"
    resp = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD}, base_url=site)
    cookie = _session_cookie(resp)
    assert "Secure" in cookie
    # __Host-: the browser keeps it only if Secure, Path=/ and no Domain, so no subdomain can toss one in
    assert cookie.startswith("__Host-healthscore_session=")
    assert "Path=/;" in cookie
    assert "Domain=" not in cookie
    page = client.get("/", base_url=site)
    assert b"Acme Green Corp" in page.data  # the prefixed cookie signs the next request in
    device = next(c for c in resp.headers.getlist("Set-Cookie") if "healthscore_device=" in c.split(";")[0])
    assert device.startswith("__Host-healthscore_device=")
    assert all(flag in device for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))
    assert "Domain=" not in device


def test_plain_http_keeps_the_unprefixed_name(client: Any, tenants: dict[str, TenantData]) -> None:
    """Browsers drop __Host- cookies that are not Secure: the local demo over http must not use the prefix."""
    cookie = _session_cookie(_login(client, "admin@acme.test"))
    assert cookie.startswith("healthscore_session=")
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("admin@acme.test", "wrong password!!"),
        ("nobody@acme.test", PASSWORD),
        ("", ""),
        ("admin@acme.test", ""),
    ],
    ids=["bad-password", "unknown-email", "empty", "no-password"],
)
def test_bad_credentials_are_refused_alike(client: Any, tenants: Any, email: str, password: str) -> None:
    resp = _login(client, email, password)
    assert resp.status_code == 401
    assert b"do not match" in resp.data
    assert client.get("/").status_code == 302


def test_next_only_redirects_within_the_site(client: Any, tenants: Any) -> None:
    assert _login(client, "admin@acme.test", nxt="/support").location == "/support"
    assert _login(client, "admin@acme.test", nxt="https://evil.example/").location == "/"
    assert _login(client, "admin@acme.test", nxt="//evil.example/").location == "/"


def test_pages_require_sign_in(client: Any) -> None:
    for path in ["/", "/support", "/accounts/1", "/admin/integrations", "/admin/keys"]:
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.location.startswith("/login?next=")


def test_logout_clears_the_session(acme_admin: Any) -> None:
    assert acme_admin.get("/").status_code == 200
    assert acme_admin.post("/logout").status_code == 302
    assert acme_admin.get("/").status_code == 302


def test_login_is_rate_limited(client: Any, tenants: Any) -> None:
    codes = [_login(client, "admin@acme.test", "wrong password!!").status_code for _ in range(6)]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429


def test_invite_then_accept(acme_admin: Any, client: Any) -> None:
    page = acme_admin.post(
        "/admin/users/invite", data={"email": "new@acme.test", "role": "viewer"}, follow_redirects=True
    )
    assert page.status_code == 200
    link = page.data.decode().split("/invite/")[1].split("<")[0]
    acme_admin.post("/logout")
    assert client.get(f"/invite/{link}").status_code == 200
    mismatch = client.post(f"/invite/{link}", data={"password": "a" * 12, "confirm": "b" * 12})
    assert mismatch.status_code == 400
    weak = client.post(f"/invite/{link}", data={"password": "short", "confirm": "short"})
    assert weak.status_code == 400
    assert b"at least 12" in weak.data
    ok = client.post(f"/invite/{link}", data={"password": "a long enough pw", "confirm": "a long enough pw"})
    assert ok.status_code == 302
    assert b"Acme Green Corp" in client.get("/").data
    # The link is single use.
    client.post("/logout")
    again = client.post(f"/invite/{link}", data={"password": "another long pw", "confirm": "another long pw"})
    assert again.status_code == 400
    assert b"invalid or was already used" in again.data
    # Opening a used (or mistyped) link says so at once, with no password form that cannot work.
    for dead in (link, "not-a-token"):
        opened = client.get(f"/invite/{dead}")
        assert opened.status_code == 400
        assert b"invalid or was already used" in opened.data
        assert b'name="password"' not in opened.data
        assert b'href="/login"' in opened.data


def test_invite_rejects_own_member_and_bad_role(acme_admin: Any) -> None:
    taken = acme_admin.post("/admin/users/invite", data={"email": "viewer@acme.test", "role": "viewer"})
    assert taken.status_code == 400
    assert b"already exists" in taken.data
    bad = acme_admin.post("/admin/users/invite", data={"email": "x@acme.test", "role": "owner"})
    assert bad.status_code == 400


def test_form_without_csrf_token_is_refused(settings_overrides: dict[str, object], tenants: Any) -> None:
    """With CSRF protection on (as in production), a form post without the token never reaches the view."""
    from connector import create_app

    app = create_app(settings_overrides)
    assert app.config["WTF_CSRF_ENABLED"] is True
    client = app.test_client()
    resp = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD})
    assert resp.status_code == 400
    assert b"This form expired" in resp.data
    # With the token from the form, the same post works.
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302
    # Admin forms too: creating an API key without the token is refused.
    assert client.post("/admin/keys", data={"name": "x", "scope": "read"}).status_code == 400


def test_security_headers(client: Any) -> None:
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_invite_does_not_reveal_other_tenants_users(acme_admin: Any, client: Any) -> None:
    """Issue 12 item 7: inviting another tenant's e-mail answers like any invitation, and changes nothing."""

    def invite(email: str) -> Any:
        return acme_admin.post(
            "/admin/users/invite", data={"email": email, "role": "viewer"}, follow_redirects=True
        )

    foreign, fresh = invite("admin@globex.test"), invite("brand-new@acme.test")
    assert foreign.status_code == fresh.status_code == 200
    for page, email in ((foreign, b"admin@globex.test"), (fresh, b"brand-new@acme.test")):
        assert b"Invitation for " + email + b" created" in page.data
        assert b"already" not in page.data
    link = foreign.data.decode().split("/invite/")[1].split("<")[0]
    acme_admin.post("/logout")
    refused = client.post(
        f"/invite/{link}", data={"password": "a long enough pw", "confirm": "a long enough pw"}
    )
    assert refused.status_code == 400  # the link opens nothing
    assert _login(client, "admin@globex.test").status_code == 302  # the other tenant's user is untouched
