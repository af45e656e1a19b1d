"""HubSpot sandbox OAuth: app state (`make_state`), token issue, the consent page and the token, token-info
and revocation routes (`/oauth/v1|v3|2026-03/...`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

import flask
from flask import Flask, Response, request

from integrations.sandbox.context import OAuthClient, SandboxContext, VendorState
from integrations.sandbox.hubspot.api import _json, error_body
from integrations.sandbox.hubspot.index import _state
from integrations.sandbox.hubspot.schema import ACCESS_TTL, DEFAULT_SCOPES, NEVER, TOKEN_PATHS, VENDOR

# ---------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------


def _rng_hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_state(seed: int) -> VendorState:
    """Deterministic OAuth app credentials, portal/app ids and one initial token pair.

    The initial access token never expires (so `credentials()` can print a usable token); tokens issued by
    the token endpoint live 30 minutes on the sandbox clock, as HubSpot's do.
    """
    rng = random.Random(f"hubspot-{seed}")
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    client_secret = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    state = VendorState(
        vendor=VENDOR,
        oauth=OAuthClient(client_id=client_id, client_secret=client_secret, access_ttl=ACCESS_TTL),
        webhook_secret=client_secret,  # HubSpot signs v3 webhooks with the app's client secret
    )
    state.extra.update(
        portal_id=62_515_000 + seed % 1000,
        app_id=1_234_000 + seed % 1000,
        token_scopes={},
        refresh_scopes={},
        touched={},
        groups={},
        daily_used=0,
        event_seq=0,
    )
    access = "CN" + base64.urlsafe_b64encode(rng.randbytes(48)).decode().rstrip("=")
    refresh = f"na1-{_rng_hex(rng, 4)}-{_rng_hex(rng, 4)}-{_rng_hex(rng, 4)}-{_rng_hex(rng, 12)}"
    state.access_tokens[access] = NEVER
    state.refresh_tokens.add(refresh)
    state.extra["token_scopes"][access] = list(DEFAULT_SCOPES)
    state.extra["refresh_scopes"][refresh] = list(DEFAULT_SCOPES)
    state.extra["initial"] = {"access_token": access, "refresh_token": refresh}
    return state


def issue_tokens(
    state: VendorState, now: datetime, scopes: Iterable[str], refresh: str | None = None
) -> dict[str, Any]:
    """Mint an access token (30 min) and, unless given, a refresh token; returns the token response body."""
    scope_list = list(scopes)
    access = "CN" + secrets.token_urlsafe(48)
    state.access_tokens[access] = now + state.oauth.access_ttl
    state.extra["token_scopes"][access] = scope_list
    if refresh is None:
        refresh = (
            f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        )
        state.refresh_tokens.add(refresh)
        state.extra["refresh_scopes"][refresh] = scope_list
    return {
        "token_type": "bearer",
        "refresh_token": refresh,
        "access_token": access,
        "expires_in": int(state.oauth.access_ttl.total_seconds()),
    }


def credentials(ctx: SandboxContext) -> dict[str, str]:
    """The pieces `healthscore sandbox serve` prints for HubSpot."""
    state = ctx.vendors[VENDOR]
    return {
        "base_url": ctx.base_urls.get(VENDOR, ""),
        "client_id": state.oauth.client_id,
        "client_secret": state.oauth.client_secret,
        "access_token": state.extra["initial"]["access_token"],
        "refresh_token": state.extra["initial"]["refresh_token"],
        "portal_id": str(state.extra["portal_id"]),
    }


# --- OAuth -------------------------------------------------------------------------------------------------

_CONSENT = """<!doctype html><html><head><title>Connect HubSpot</title></head><body>
<h1>healthscore wants to access your HubSpot account (portal {portal})</h1>
<p>Requested scopes: {scopes}</p>
<form method="post" action="/oauth/authorize">{hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def _oauth_error(status: str, message: str) -> Response:
    return _json({"status": status, "message": message, "correlationId": str(uuid.uuid4())}, 400)


def _register_oauth(app: Flask, ctx: SandboxContext) -> None:
    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        params = request.values
        state = _state(ctx)
        if params.get("client_id") != state.oauth.client_id:
            return Response("<h1>Invalid client_id</h1>", status=400, mimetype="text/html")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return Response("<h1>Missing redirect_uri</h1>", status=400, mimetype="text/html")
        if request.method == "GET":
            keep = (
                "client_id",
                "redirect_uri",
                "scope",
                "optional_scope",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{escape(params[k])}">' for k in keep if k in params
            )
            html = _CONSENT.format(
                portal=state.extra["portal_id"], scopes=escape(params.get("scope", "")), hidden=hidden
            )
            return Response(html, mimetype="text/html")
        query: dict[str, str] = {}
        if params.get("decision") != "allow":
            query["error"] = "access_denied"
            query["error_description"] = "The user denied the request"
        else:
            code = secrets.token_hex(16)
            scopes = [
                s for s in (params.get("scope", "") + " " + params.get("optional_scope", "")).split() if s
            ]
            with ctx.lock:
                state.auth_codes[code] = {
                    "redirect_uri": redirect_uri,
                    "challenge": params.get("code_challenge"),
                    "method": params.get("code_challenge_method", "plain"),
                    "scopes": scopes or list(DEFAULT_SCOPES),
                }
            query["code"] = code
        if "state" in params:
            query["state"] = params["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return flask.redirect(f"{redirect_uri}{sep}{urlencode(query)}", code=302)

    def token() -> Response:
        form = request.form
        state = _state(ctx)
        if form.get("client_id") != state.oauth.client_id:
            return _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != state.oauth.client_secret:
            return _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        grant = form.get("grant_type")
        with ctx.lock:
            if grant == "authorization_code":
                info = state.auth_codes.pop(form.get("code", ""), None)
                if info is None:
                    return _oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
                if form.get("redirect_uri") != info["redirect_uri"]:
                    return _oauth_error(
                        "BAD_REDIRECT_URI", "redirect_uri does not match the one used to authorize"
                    )
                if info["challenge"] and not _pkce_ok(
                    form.get("code_verifier", ""), info["challenge"], info["method"]
                ):
                    return _oauth_error("BAD_AUTH_CODE", "code_verifier does not match the code_challenge")
                return _json(issue_tokens(state, ctx.now, info["scopes"]))
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in state.refresh_tokens:
                    return _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
                scopes = state.extra["refresh_scopes"].get(refresh, list(DEFAULT_SCOPES))
                return _json(issue_tokens(state, ctx.now, scopes, refresh=refresh))
        return _oauth_error("BAD_GRANT_TYPE", "grant_type must be authorization_code or refresh_token")

    for path in TOKEN_PATHS:
        app.add_url_rule(path, f"token_{path}", token, methods=["POST"])

    @app.get("/oauth/v1/access-tokens/<token>")
    def access_token_info(token: str) -> Response:
        state = _state(ctx)
        with ctx.lock:
            expires = state.access_tokens.get(token)
            if expires is None or ctx.now >= expires:
                return _json(error_body("Token not found", "OBJECT_NOT_FOUND"), 404)
            left = int(min((expires - ctx.now).total_seconds(), 10**9))
            return _json(
                {
                    "token": token,
                    "user": "admin@sandbox.example",
                    "hub_domain": "healthscore-sandbox.com",
                    "scopes": state.extra["token_scopes"].get(token, []),
                    "hub_id": state.extra["portal_id"],
                    "app_id": state.extra["app_id"],
                    "expires_in": left,
                    "user_id": 4242,
                    "token_type": "access",
                }
            )

    @app.route("/oauth/v1/refresh-tokens/<token>", methods=["GET", "DELETE"])
    def refresh_token(token: str) -> Response:
        state = _state(ctx)
        with ctx.lock:
            if token not in state.refresh_tokens:
                return _json(error_body("Refresh token not found", "OBJECT_NOT_FOUND"), 404)
            if request.method == "DELETE":
                state.refresh_tokens.discard(token)
                return Response(status=204)
            return _json(
                {
                    "token": token,
                    "user": "admin@sandbox.example",
                    "hub_domain": "healthscore-sandbox.com",
                    "scopes": state.extra["refresh_scopes"].get(token, []),
                    "hub_id": state.extra["portal_id"],
                    "client_id": state.oauth.client_id,
                    "user_id": 4242,
                    "token_type": "refresh",
                }
            )


def _pkce_ok(verifier: str, challenge: str, method: str) -> bool:
    if method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)
