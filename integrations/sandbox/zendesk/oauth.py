"""Zendesk OAuth: the authorization page (PKCE), `POST /oauth/tokens` (authorization_code, refresh_token
with rotation) and Zendesk's error bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import zlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, redirect, request

from integrations.sandbox.context import SandboxContext, VendorState
from integrations.sandbox.zendesk.state import _FAR_FUTURE, ACCESS_TTL, API, REFRESH_TTL, _iso, _state

# ----------------------------------------------------------------------------------------------- OAuth


def _oauth_routes(app: Flask, ctx: SandboxContext) -> None:
    @app.route("/oauth/authorizations/new", methods=["GET"])
    def authorize_page() -> Response:
        args = request.args
        client = _state(ctx).oauth
        if args.get("client_id") != client.client_id or args.get("response_type") != "code":
            return Response("<h1>Invalid authorization request</h1>", status=400, mimetype="text/html")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in args.items()
        )
        page = (
            "<!doctype html><html><head><title>Zendesk - Authorize</title></head><body>"
            "<h1>Allow access?</h1>"
            f"<p><b>healthscore</b> is requesting access to your Zendesk account "
            f"(scope: {html.escape(args.get('scope', 'read'))}).</p>"
            f'<form method="post" action="/oauth/authorizations/new">{hidden}'
            '<button type="submit" name="decision" value="allow" id="allow">Allow</button> '
            '<button type="submit" name="decision" value="deny" id="deny">Deny</button>'
            "</form></body></html>"
        )
        return Response(page, mimetype="text/html")

    @app.route("/oauth/authorizations/new", methods=["POST"])
    def authorize_decision() -> Response:
        form = request.form
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state")
        if form.get("decision") != "allow":
            query = {"error": "access_denied", "error_description": "The end-user denied the request"}
        else:
            code = secrets.token_urlsafe(24)
            with ctx.lock:
                _state(ctx).auth_codes[code] = {
                    "redirect_uri": redirect_uri,
                    "challenge": form.get("code_challenge"),
                    "method": form.get("code_challenge_method", "plain"),
                    "scope": form.get("scope", "read"),
                    "expires_at": ctx.now + timedelta(minutes=2),
                }
            query = {"code": code}
        if state is not None:
            query["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{sep}{urlencode(query)}", code=302)

    @app.route("/oauth/tokens", methods=["POST"])
    def tokens() -> Response:
        data = request.get_json(silent=True) or request.form.to_dict()
        with ctx.lock:
            state = _state(ctx)
            if data.get("client_id") != state.oauth.client_id or (
                data.get("client_secret") is not None and data["client_secret"] != state.oauth.client_secret
            ):
                return _oauth_error(401, "invalid_client", "Client authentication failed.")
            grant = data.get("grant_type")
            if grant == "authorization_code":
                return _grant_code(ctx, state, data)
            if grant == "refresh_token":
                if g.get("revoked"):
                    return _invalid_grant()
                return _grant_refresh(ctx, state, data)
            return _oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")

    @app.route(f"{API}/oauth/tokens/current.json", methods=["GET"])
    def token_current() -> Response:
        with ctx.lock:
            expiry = _state(ctx).access_tokens[g.token]
        return jsonify(
            {
                "token": {
                    "id": zlib.crc32(g.token.encode()),
                    "client_id": 1,
                    "scopes": sorted(g.scopes),
                    "expires_at": None if expiry == _FAR_FUTURE else _iso(expiry),
                    "created_at": _iso(ctx.now),
                }
            }
        )

    @app.route(f"{API}/oauth/tokens/current.json", methods=["DELETE"])
    def token_revoke() -> Response:
        with ctx.lock:
            state = _state(ctx)
            state.access_tokens.pop(g.token, None)
            for rt, meta in list(state.extra["refresh_meta"].items()):
                if meta["access_token"] == g.token:
                    state.refresh_tokens.discard(rt)
                    state.extra["refresh_meta"].pop(rt)
        return Response(status=204)


def _oauth_error(status: int, error: str, description: str) -> Response:
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    return resp


def _invalid_grant() -> Response:
    return _oauth_error(
        400,
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
        "used in the authorization request, or was issued to another client.",
    )


def _issue(ctx: SandboxContext, state: VendorState, scope: str, data: dict[str, Any]) -> Response:
    ttl = ACCESS_TTL
    if data.get("expires_in"):  # Zendesk lets the client ask for a shorter/longer lifetime (300 s .. 2 days)
        ttl = timedelta(seconds=max(300, min(172_800, int(data["expires_in"]))))
    access = "zdat_" + secrets.token_hex(20)
    refresh = "zdrt_" + secrets.token_hex(20)
    state.access_tokens[access] = ctx.now + ttl
    state.refresh_tokens.add(refresh)
    state.extra["scopes"][access] = scope
    state.extra["refresh_meta"][refresh] = {
        "scope": scope,
        "access_token": access,
        "expires_at": ctx.now + REFRESH_TTL,
    }
    return jsonify(
        {
            "access_token": access,
            "token_type": "bearer",
            "scope": scope,
            "expires_in": int(ttl.total_seconds()),
            "refresh_token": refresh,
            "refresh_token_expires_in": int(REFRESH_TTL.total_seconds()),
        }
    )


def _grant_code(ctx: SandboxContext, state: VendorState, data: dict[str, Any]) -> Response:
    meta = state.auth_codes.pop(data.get("code", ""), None)
    if meta is None or meta["expires_at"] <= ctx.now or meta["redirect_uri"] != data.get("redirect_uri"):
        return _invalid_grant()
    if meta["challenge"]:
        verifier = data.get("code_verifier") or ""
        if meta["method"] == "S256":
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            )
        else:
            computed = verifier
        if not hmac.compare_digest(computed, meta["challenge"]):
            return _invalid_grant()
    elif data.get("client_secret") is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    return _issue(ctx, state, meta["scope"], data)


def _grant_refresh(ctx: SandboxContext, state: VendorState, data: dict[str, Any]) -> Response:
    rt = data.get("refresh_token", "")
    meta = state.extra["refresh_meta"].get(rt)
    if rt not in state.refresh_tokens or meta is None or meta["expires_at"] <= ctx.now:
        return _invalid_grant()
    # Since 2025 a refresh grant rotates: the old access AND refresh tokens are deleted.
    state.refresh_tokens.discard(rt)
    state.extra["refresh_meta"].pop(rt)
    state.access_tokens.pop(meta["access_token"], None)
    return _issue(ctx, state, meta["scope"], data)
