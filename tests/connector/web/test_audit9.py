"""Audit 9: attacks the earlier audits' tests did not cover (one section per finding, then what held).
Each finding's test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

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
