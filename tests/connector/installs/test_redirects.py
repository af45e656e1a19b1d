"""The OAuth code exchange and the revoke calls follow redirects within their origin only (audit 6).

The exchange POSTs the code, the PKCE verifier and the client secret in its body; requests re-sends that
body on a 307/308. Before: a token URL that passed the URL guard and answered `307 Location: <another
host>` had the secrets re-POSTed there (a host the guard never vetted: internal, or anyone's), and the
install went through with that host's tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connector.installs import installs
from tests.integrations.redirect_servers import two_origins

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _pending(base_url: str) -> installs.Pending:
    app = installs.AppConfig(
        vendor="zendesk", base_url=base_url, client_id="cid", client_secret="the-client-secret"
    )
    _url, pending = installs.authorization_request(app, "https://h.example/cb", NOW)
    return pending


@pytest.mark.parametrize("status", [307, 308])
def test_code_exchange_is_not_reposted_to_another_origin(status: int) -> None:
    with two_origins() as (vendor, other):
        vendor.redirect("/oauth/tokens", f"{other.url}/oauth/tokens", status)
        other.answer("/oauth/tokens", body={"access_token": "attacker", "token_type": "bearer"})
        with pytest.raises(installs.InstallError) as info:
            installs.exchange(_pending(vendor.url), "the-code", NOW, production=False)
    assert info.value.kind == "vendor_error"
    assert other.received == []  # neither the code, the verifier nor the client secret went there
    assert [(m, p) for m, p, _b in vendor.received] == [("POST", "/oauth/tokens")]


def test_code_exchange_follows_a_redirect_within_its_origin() -> None:
    with two_origins() as (vendor, _other):
        vendor.redirect("/oauth/tokens", "/oauth/tokens/v2", 308)
        vendor.answer("/oauth/tokens/v2", body={"access_token": "at", "token_type": "bearer"})
        connected = installs.exchange(_pending(vendor.url), "the-code", NOW, production=False)
    assert connected.tokens.access_token == "at"
    assert b"the-client-secret" in vendor.received[-1][2]


class _Vault:
    def decrypt_json(self, _raw: Any) -> dict[str, Any]:
        return {"access_token": "at-secret", "refresh_token": "rt-secret"}


@pytest.mark.parametrize("vendor_name", ["salesforce", "hubspot", "zendesk"])
def test_revoke_is_not_redirected_to_another_origin(vendor_name: str) -> None:
    with two_origins() as (vendor, other):
        for path in (
            "/services/oauth2/revoke",
            "/oauth/v1/refresh-tokens/rt-secret",
            "/api/v2/oauth/tokens/current.json",
        ):
            vendor.redirect(path, f"{other.url}{path}", 307)
            other.answer(path, body={})
        inst = SimpleNamespace(vendor=vendor_name, base_url=vendor.url, ca_file=None, tokens_enc="x")
        problem = installs.revoke(inst, _Vault())  # type: ignore[arg-type]
    assert problem is not None
    assert "CrossOriginRedirectError" in problem
    assert other.received == []
