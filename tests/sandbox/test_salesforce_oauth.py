"""Salesforce sandbox OAuth 2.0 (web-server flow with PKCE, refresh, revoke), outbound messages, state hooks.

Token response keys follow the "OAuth 2.0 Web Server Flow" page of the Salesforce help: access_token,
refresh_token, signature, scope, instance_url, id, token_type, issued_at; errors are
`{"error","error_description"}` with HTTP 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.sandbox import salesforce as sfs
from integrations.sandbox.book import Changes
from integrations.sandbox.ids import salesforce_id
from tests.integrations.salesforce.factory import SalesforceSandbox, make_book, served
from webhooks.inbound import verify_salesforce_outbound

REDIRECT = "https://app.example/oauth/salesforce/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
# Web server flow token response (help.salesforce.com "OAuth 2.0 Web Server Flow for Web App Integration").
DOC_TOKEN_KEYS = {
    "access_token",
    "refresh_token",
    "signature",
    "scope",
    "instance_url",
    "id",
    "token_type",
    "issued_at",
}


@pytest.fixture(scope="module")
def _server() -> Iterator[SalesforceSandbox]:
    with served(make_book(3)) as sandbox:
        yield sandbox


@pytest.fixture
def sb(_server: SalesforceSandbox) -> SalesforceSandbox:
    return _server.reset(make_book(3))


@pytest.fixture
def http(sb: SalesforceSandbox) -> Iterator[requests.Session]:
    session = sb.session()
    yield session
    session.close()


def authorize(
    sb: SalesforceSandbox, http: requests.Session, decision: str = "allow", **extra: str
) -> dict[str, list[str]]:
    params = {
        "response_type": "code",
        "client_id": sb.state.oauth.client_id,
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "scope": "api refresh_token",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }
    page = http.get(f"{sb.base_url}/services/oauth2/authorize", params=params)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert 'id="oaapprove"' in page.text
    assert "Allow" in page.text
    resp = http.post(
        f"{sb.base_url}/services/oauth2/authorize",
        data={**params, "decision": decision},
        allow_redirects=False,
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def exchange(
    sb: SalesforceSandbox, http: requests.Session, code: str, verifier: str = VERIFIER
) -> requests.Response:
    return http.post(
        f"{sb.base_url}/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": sb.state.oauth.client_id,
            "client_secret": sb.state.oauth.client_secret,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )


def test_code_flow_with_pkce_issues_a_working_token(sb: SalesforceSandbox, http: requests.Session) -> None:
    query = authorize(sb, http)
    assert query["state"] == ["st-123"]
    resp = exchange(sb, http, query["code"][0])
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == DOC_TOKEN_KEYS
    assert body["instance_url"] == sb.base_url
    assert body["token_type"] == "Bearer"
    assert body["id"].endswith(f"/id/{sb.state.extra['org_id']}/{sb.state.extra['user_id']}")
    expected_sig = base64.b64encode(
        hmac.new(
            sb.state.oauth.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert body["signature"] == expected_sig
    api = http.get(
        f"{sb.base_url}/services/data/v59.0/query/",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert api.json()["totalSize"] == 3


def test_code_is_single_use_and_verifier_is_checked(sb: SalesforceSandbox, http: requests.Session) -> None:
    code = authorize(sb, http)["code"][0]
    wrong = exchange(sb, http, code, verifier="not-the-verifier-not-the-verifier-not-the-ver")
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "invalid code verifier"},
    )
    again = exchange(sb, http, code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # burnt by the first attempt
    assert sb.ctx.counters.get("salesforce", "POST /services/oauth2/token") == 2


def test_deny_redirects_with_access_denied(sb: SalesforceSandbox, http: requests.Session) -> None:
    query = authorize(sb, http, decision="deny")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
    assert "code" not in query


def test_unknown_client_is_refused(sb: SalesforceSandbox, http: requests.Session) -> None:
    resp = http.get(
        f"{sb.base_url}/services/oauth2/authorize",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": REDIRECT},
    )
    assert resp.status_code == 400
    assert "invalid_client_id" in resp.text


def _refresh(sb: SalesforceSandbox, http: requests.Session, token: str) -> requests.Response:
    return http.post(
        f"{sb.base_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": sb.state.oauth.client_id,
            "client_secret": sb.state.oauth.client_secret,
        },
    )


def test_refresh_grant_keeps_the_refresh_token_unless_rotation_is_on(
    sb: SalesforceSandbox, http: requests.Session
) -> None:
    body = _refresh(sb, http, sb.refresh_token).json()
    assert set(body) == DOC_TOKEN_KEYS - {"refresh_token"}
    sb.state.extra["rotate_refresh"] = True
    rotated = _refresh(sb, http, sb.refresh_token).json()
    assert rotated["refresh_token"] != sb.refresh_token
    old = _refresh(sb, http, sb.refresh_token)
    assert (old.status_code, old.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "expired access/refresh token"},
    )


def test_bad_client_secret_and_unknown_grant(sb: SalesforceSandbox, http: requests.Session) -> None:
    bad = http.post(
        f"{sb.base_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sb.refresh_token,
            "client_id": sb.state.oauth.client_id,
            "client_secret": "x",
        },
    )
    assert bad.json()["error"] == "invalid_client"
    odd = http.post(
        f"{sb.base_url}/services/oauth2/token",
        data={"grant_type": "password", "client_id": sb.state.oauth.client_id},
    )
    assert odd.json()["error"] == "unsupported_grant_type"


def test_revoking_the_refresh_token_kills_its_access_tokens(
    sb: SalesforceSandbox, http: requests.Session
) -> None:
    assert (
        http.post(f"{sb.base_url}/services/oauth2/revoke", data={"token": sb.refresh_token}).status_code
        == 200
    )
    api = http.get(
        f"{sb.base_url}/services/data/v59.0/limits", headers={"Authorization": f"Bearer {sb.access_token}"}
    )
    assert api.status_code == 401
    assert api.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert _refresh(sb, http, sb.refresh_token).json()["error"] == "invalid_grant"
    unknown = http.post(f"{sb.base_url}/services/oauth2/revoke", data={"token": "nope"})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_token")


def test_issued_tokens_expire_on_the_sandbox_clock(sb: SalesforceSandbox, http: requests.Session) -> None:
    token = _refresh(sb, http, sb.refresh_token).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(f"{sb.base_url}/services/data/v59.0/limits", headers=headers).status_code == 200
    sb.ctx.book.now += sfs.ACCESS_TTL
    assert http.get(f"{sb.base_url}/services/data/v59.0/limits", headers=headers).status_code == 401


def test_make_state_is_deterministic() -> None:
    a, b, c = sfs.make_state(1), sfs.make_state(1), sfs.make_state(2)
    assert (a.oauth.client_id, a.extra["initial_access_token"]) == (
        b.oauth.client_id,
        b.extra["initial_access_token"],
    )
    assert a.oauth.client_id != c.oauth.client_id
    assert a.extra["initial_refresh_token"] in a.refresh_tokens


def test_outbound_messages_verify_against_the_org_id(sb: SalesforceSandbox) -> None:
    changes = Changes(customers={"C000001", "C000002"}, tickets={"T0000001"}, deleted={"C000002"})
    assert sfs.outbound_webhooks(sb.ctx, changes) == []  # no URL configured
    sb.state.webhook_url = "https://receiver.example/webhooks/salesforce/tok"
    sent = sfs.outbound_webhooks(sb.ctx, changes)
    assert [url for url, _, _ in sent] == [sb.state.webhook_url] * 2
    headers, body = sent[0][1], sent[0][2]
    assert headers["Content-Type"].startswith("text/xml")
    message = verify_salesforce_outbound(body, sb.state.extra["org_id"])
    assert [(n.sobject_type, n.record_id) for n in message.notifications] == [
        ("Account", salesforce_id("Account", "C000001"))
    ]  # the deleted account sends nothing
    case = verify_salesforce_outbound(sent[1][2], sb.state.extra["org_id"]).notifications[0]
    assert (case.sobject_type, case.record_id) == ("Case", salesforce_id("Case", "T0000001"))


def test_truth_and_written_fields(sb: SalesforceSandbox) -> None:
    truth = sfs.truth(sb.ctx)
    assert truth["accounts"] == {salesforce_id("Account", f"C00000{i}"): f"C00000{i}" for i in (1, 2, 3)}
    assert set(truth["tickets"].values()) == {"C000001", "C000002", "C000003"}
    assert sfs.written_fields(sb.ctx) == {}


def test_identity_url_names_the_org(sb: SalesforceSandbox, http: requests.Session) -> None:
    body = _refresh(sb, http, sb.refresh_token).json()
    ident = http.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert ident.status_code == 200
    assert ident.json()["organization_id"] == sb.state.extra["org_id"]
    assert http.get(body["id"]).status_code == 401
