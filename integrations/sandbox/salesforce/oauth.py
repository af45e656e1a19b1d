"""Salesforce sandbox OAuth 2.0 web-server flow: connected app state (`make_state`), authorize consent page
(PKCE S256), token endpoint (authorization_code, refresh_token) and revoke.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

import flask

from integrations.sandbox.context import OAuthClient, SandboxContext, VendorState
from integrations.sandbox.salesforce.schema import ACCESS_TTL, CODE_TTL, FAR_FUTURE, VENDOR, _b62, _next_seq

# ----------------------------------------------------------------------------------------------------------
# OAuth
# ----------------------------------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def org_id(seed: int) -> str:
    return ("00D5g" + _b62(seed + 1).rjust(10, "0") + "EAA")[:18]


def make_state(seed: int) -> VendorState:
    """Deterministic connected app + one initial token pair (the access token does not expire by itself:
    make_state has no clock; faults script expiry)."""
    client_id = "3MVG9" + _digest("sf-client-id", seed)[:48]
    client_secret = _digest("sf-client-secret", seed)[:64].upper()
    vs = VendorState(vendor=VENDOR, oauth=OAuthClient(client_id, client_secret, ACCESS_TTL))
    oid = org_id(seed)
    access = f"{oid}!AQ0AQ{_digest('sf-access', seed, 0)[:80]}"
    refresh = f"5Aep861{_digest('sf-refresh', seed, 0)[:80]}"
    vs.access_tokens[access] = FAR_FUTURE
    vs.refresh_tokens.add(refresh)
    vs.webhook_secret = ""  # Outbound Messages carry no signature; receivers check OrganizationId
    vs.extra.update(
        {
            "seed": seed,
            "org_id": oid,
            "user_id": ("0055g" + _b62(seed + 7).rjust(10, "0") + "AAA")[:18],
            "initial_access_token": access,
            "initial_refresh_token": refresh,
            "refresh_scope": {refresh: "api refresh_token"},
            "refresh_access": {refresh: {access}},
            "rotate_refresh": False,
            "locators": OrderedDict(),
            "modstamps": {},
            "missing_permissions": set(),
            "readonly_fields": set(),
            "seq": 0,
        }
    )
    return vs


def _base_url(ctx: SandboxContext) -> str:
    return ctx.base_urls.get(VENDOR) or flask.request.host_url.rstrip("/")


def _issue_tokens(ctx: SandboxContext, scope: str, refresh: str | None, new_refresh: bool) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    seq = _next_seq(vs)
    oid = vs.extra["org_id"]
    access = f"{oid}!AQ0AQ{_digest('sf-access', vs.extra['seed'], 'issued', seq)[:80]}"
    vs.access_tokens[access] = ctx.now + vs.oauth.access_ttl
    base = _base_url(ctx)
    ident = f"{base}/id/{oid}/{vs.extra['user_id']}"
    issued_at = str(int(ctx.now.timestamp() * 1000))
    signature = base64.b64encode(
        hmac.new(vs.oauth.client_secret.encode(), (ident + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {"access_token": access}
    if new_refresh:
        refresh = f"5Aep861{_digest('sf-refresh', vs.extra['seed'], 'issued', seq)[:80]}"
        vs.refresh_tokens.add(refresh)
        vs.extra["refresh_scope"][refresh] = scope
        body["refresh_token"] = refresh
    if refresh is not None:
        vs.extra["refresh_access"].setdefault(refresh, set()).add(access)
    body.update(
        {
            "signature": signature,
            "scope": scope,
            "instance_url": base,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )
    return body


def _oauth_error(error: str, description: str, status: int = 400) -> flask.Response:
    return flask.Response(
        json.dumps({"error": error, "error_description": description}), status, mimetype="application/json"
    )


def _pkce_ok(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)
    return hmac.compare_digest(verifier, challenge)


def token_endpoint(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    form = flask.request.form
    grant = form.get("grant_type")
    if form.get("client_id") != vs.oauth.client_id:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    secret = form.get("client_secret")
    if secret is not None and not hmac.compare_digest(secret, vs.oauth.client_secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    if grant == "authorization_code":
        code = vs.auth_codes.pop(form.get("code") or "", None)
        if code is None or code["expires"] < ctx.now:
            return _oauth_error("invalid_grant", "authentication failure")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if secret is None and not code.get("code_challenge"):
            return _oauth_error("invalid_client", "invalid client credentials")
        if not _pkce_ok(
            form.get("code_verifier"), code.get("code_challenge"), code.get("code_challenge_method")
        ):
            return _oauth_error("invalid_grant", "invalid code verifier")
        body = _issue_tokens(ctx, code["scope"], None, new_refresh="refresh_token" in code["scope"].split())
        return flask.jsonify(body)
    if grant == "refresh_token":
        refresh = form.get("refresh_token") or ""
        if refresh not in vs.refresh_tokens:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        scope = vs.extra["refresh_scope"].get(refresh, "api refresh_token")
        if vs.extra.get("rotate_refresh"):
            _revoke_refresh(vs, refresh)
            return flask.jsonify(_issue_tokens(ctx, scope, None, new_refresh=True))
        return flask.jsonify(_issue_tokens(ctx, scope, refresh, new_refresh=False))
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _revoke_refresh(vs: VendorState, refresh: str) -> None:
    vs.refresh_tokens.discard(refresh)
    for access in vs.extra["refresh_access"].pop(refresh, set()):
        vs.access_tokens.pop(access, None)


_CONSENT = """<!doctype html>
<html><head><title>Allow Access?</title></head>
<body>
<h1>Allow Access?</h1>
<p>healthscore is asking to: access and manage your data (api), perform requests at any time
(refresh_token, offline_access).</p>
<form method="post" action="/services/oauth2/authorize">
{hidden}
<button type="submit" name="decision" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="decision" value="deny" id="oadeny">Deny</button>
</form></body></html>"""


def authorize(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    args = flask.request.values
    redirect_uri = args.get("redirect_uri") or ""
    if args.get("client_id") != vs.oauth.client_id:
        return flask.Response("error=invalid_client_id&error_description=client%20identifier%20invalid", 400)
    if args.get("response_type") != "code" or not redirect_uri:
        return flask.Response(
            "error=unsupported_response_type&error_description=response%20type%20not%20supported", 400
        )
    keep = (
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    )
    if flask.request.method == "GET":
        hidden = "\n".join(
            f'<input type="hidden" name="{k}" value="{html.escape(args[k])}">' for k in keep if args.get(k)
        )
        return flask.Response(_CONSENT.format(hidden=hidden), 200, mimetype="text/html")
    state = args.get("state")
    if args.get("decision") != "allow":
        params = {"error": "access_denied", "error_description": "end-user denied authorization"}
    else:
        code = "aPrx" + _digest("sf-code", vs.extra["seed"], _next_seq(vs))[:60]
        vs.auth_codes[code] = {
            "redirect_uri": redirect_uri,
            "scope": args.get("scope") or "api refresh_token",
            "code_challenge": args.get("code_challenge"),
            "code_challenge_method": args.get("code_challenge_method"),
            "expires": ctx.now + CODE_TTL,
        }
        params = {"code": code}
    if state:
        params["state"] = state
    sep = "&" if "?" in redirect_uri else "?"
    return flask.redirect(redirect_uri + sep + urlencode(params), 302)


def revoke(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    token = flask.request.values.get("token") or ""
    if token in vs.refresh_tokens:
        _revoke_refresh(vs, token)
    elif token in vs.access_tokens:
        vs.access_tokens.pop(token)
    else:
        return _oauth_error("invalid_token", "invalid token")
    return flask.Response("", 200)
