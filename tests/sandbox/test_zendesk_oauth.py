"""Zendesk sandbox OAuth: consent page, authorization_code with PKCE, rotating refresh grant, revocation.

Zendesk (since 2025) returns `expires_in` and a `refresh_token` from /oauth/tokens; a refresh grant deletes the
previous access AND refresh token; a refused grant is 400 `invalid_grant`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.sandbox.context import Fault
from integrations.sandbox.server import TLSMaterial
from tests.integrations.zendesk.factory import Sandbox, build_book, cleanup_tls, reset, served

REDIRECT = "https://app.example/oauth/zendesk/callback"
VERIFIER = "a" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    material = TLSMaterial.generate()
    with served(build_book(), material) as sandbox:
        yield sandbox
    cleanup_tls(material)


@pytest.fixture
def sb(server: Sandbox) -> Sandbox:
    return reset(server, build_book())


def client(sb: Sandbox) -> requests.Session:
    s = requests.Session()
    s.verify = sb.tls.ca_file
    s.trust_env = False
    return s


def authorize(sb: Sandbox, decision: str) -> dict[str, list[str]]:
    params = {
        "response_type": "code",
        "client_id": sb.state.oauth.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read write",
        "state": "xyz",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    page = client(sb).get(f"{sb.base_url}/oauth/authorizations/new", params=params, timeout=10)
    assert page.status_code == 200
    assert 'name="decision" value="allow"' in page.text
    answer = client(sb).post(
        f"{sb.base_url}/oauth/authorizations/new",
        data={**params, "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


def token(sb: Sandbox, **body: str) -> requests.Response:
    payload = {"client_id": sb.state.oauth.client_id, **body}
    return client(sb).post(f"{sb.base_url}/oauth/tokens", json=payload, timeout=10)


def api(sb: Sandbox, access: str) -> int:
    headers = {"Authorization": f"Bearer {access}"}
    return client(sb).get(f"{sb.base_url}/api/v2/organizations.json", headers=headers, timeout=10).status_code


def test_allow_then_code_exchange_with_pkce(sb: Sandbox) -> None:
    query = authorize(sb, "allow")
    assert query["state"] == ["xyz"]
    resp = token(
        sb,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == "read write"
    assert body["refresh_token"]
    assert api(sb, body["access_token"]) == 200
    # a code is single-use
    again = token(
        sb,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert again.json()["error"] == "invalid_grant"


def test_wrong_verifier_is_invalid_grant(sb: Sandbox) -> None:
    query = authorize(sb, "allow")
    resp = token(
        sb,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT,
        code_verifier="b" * 64,
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied(sb: Sandbox) -> None:
    query = authorize(sb, "deny")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz"]
    assert "code" not in query


def test_refresh_rotates_and_deletes_the_old_pair(sb: Sandbox) -> None:
    secret = sb.state.oauth.client_secret
    first = token(sb, grant_type="refresh_token", refresh_token=sb.refresh_token, client_secret=secret).json()
    assert api(sb, sb.token) == 401  # the old access token is gone
    assert api(sb, first["access_token"]) == 200
    reused = token(sb, grant_type="refresh_token", refresh_token=sb.refresh_token, client_secret=secret)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    second = token(sb, grant_type="refresh_token", refresh_token=first["refresh_token"], client_secret=secret)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]


def test_access_token_expires_on_the_sandbox_clock(sb: Sandbox) -> None:
    secret = sb.state.oauth.client_secret
    body = token(
        sb, grant_type="refresh_token", refresh_token=sb.refresh_token, client_secret=secret, expires_in="600"
    ).json()
    assert body["expires_in"] == 600
    sb.ctx.book.now += timedelta(seconds=601)
    resp = client(sb).get(
        f"{sb.base_url}/api/v2/organizations.json",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_token"


def test_revoked_refresh_fault_and_wrong_client(sb: Sandbox) -> None:
    sb.ctx.faults.script("zendesk", "POST /oauth/tokens", Fault(kind="revoked_refresh"))
    secret = sb.state.oauth.client_secret
    refused = token(sb, grant_type="refresh_token", refresh_token=sb.refresh_token, client_secret=secret)
    assert refused.json()["error"] == "invalid_grant"
    wrong = token(sb, grant_type="refresh_token", refresh_token=sb.refresh_token, client_secret="nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert sb.ctx.counters.get("zendesk", "POST /oauth/tokens") == 2


def test_revoke_current_token(sb: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {sb.token}"}
    url = f"{sb.base_url}/api/v2/oauth/tokens/current.json"
    assert client(sb).get(url, headers=headers, timeout=10).json()["token"]["scopes"] == ["read", "write"]
    assert client(sb).delete(url, headers=headers, timeout=10).status_code == 204
    assert api(sb, sb.token) == 401
    refused = token(
        sb,
        grant_type="refresh_token",
        refresh_token=sb.refresh_token,
        client_secret=sb.state.oauth.client_secret,
    )
    assert refused.json()["error"] == "invalid_grant"  # revoking the token also drops its refresh token
