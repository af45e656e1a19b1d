"""Scores inside the vendors: the backend of the HubSpot app card (`hubspot.fetch`, v3-signed).

The Zendesk sidebar needs no endpoint here: it calls the REST API (/api/v1/health/zendesk/<org>, /api/v1/
tickets/zendesk/<id>) through Zendesk's proxy with an installation-scoped API key kept in a secure setting.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector import readmodels
from connector.installs.vault import Vault, VaultError
from connector.readmodels import jsonable
from connector.web import ratelimits
from connector.web.access import db, settings
from connector.web.errors import problem
from connector.web.formatting import FORMER_UNSCORED, band_text
from connector.web.security import csrf

logger = logging.getLogger(__name__)
bp = Blueprint("embed", __name__, url_prefix="/embed")
_DECOY_SECRET = secrets.token_urlsafe(32)  # checks requests for portals no workspace has connected
_decoy_ciphertexts: dict[tuple[str, ...], str] = {}  # the decoy secret encrypted, per set of vault keys
CARD_MAX_BODY = 64 * 1024  # our card sends a GET; a POST carries a few ids
csrf.exempt(bp)  # authenticated by HubSpot's request signature, not a cookie


def _public_uri() -> str:
    """The URL exactly as HubSpot called it: our public base URL + path + query (not request.url behind a proxy)."""
    query = request.query_string.decode("latin-1")
    return settings().public_base_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def _verify(secret: str, body: bytes) -> str | None:
    """None when the v3 signature is valid, else the reason."""
    from webhooks.errors import WebhookVerificationError
    from webhooks.inbound import verify_hubspot_v3

    try:
        verify_hubspot_v3(
            dict(request.headers),
            body,
            secret,
            method=request.method,
            uri=_public_uri(),
            now=datetime.now(UTC),
        )
    except WebhookVerificationError as exc:
        return str(getattr(exc, "reason", exc))
    return None


def _decoy_ciphertext(vault: Vault) -> str:
    """The decoy secret as the vault stores a client secret (encrypted once per process and key set)."""
    key = (settings().instance_path, *settings().token_keys)
    if key not in _decoy_ciphertexts:
        _decoy_ciphertexts[key] = vault.encrypt(_DECOY_SECRET)
    return _decoy_ciphertexts[key]


def _arg(body: dict[str, Any], *names: str) -> str:
    for name in names:
        value = request.args.get(name) or body.get(name)
        if value:
            return str(value)
    return ""


@bp.route("/hubspot/card", methods=["GET", "POST"])
def hubspot_card() -> Response:
    """The CRM card's data. Its budget is per installation and spent only once the signature verifies:
    every card fetch comes through HubSpot's shared servers, so a per-address limit (600 a minute, until
    this session's audit) was one that anyone's own HubSpot app, aimed at this URL with bad signatures,
    could spend for every customer's card."""
    raw = request.get_data(cache=True)
    if len(raw) > CARD_MAX_BODY:
        # Parsed before the signature is checked (portalId may be in it): bounded, as nobody is rate-limited yet.
        return problem(413, "body_too_large", f"the card's request body is over {CARD_MAX_BODY} bytes")
    body = request.get_json(silent=True) if raw else None
    body = body if isinstance(body, dict) else {}
    portal = _arg(body, "portalId")
    company = _arg(body, "companyId", "objectId", "hs_object_id")
    if not portal.isdigit():
        return problem(
            400, "bad_request", "portalId is missing", "HubSpot adds it to every hubspot.fetch call"
        )
    inst = readmodels.installation_by_vendor_account(db(), "hubspot", portal)
    # A portal that is not a customer's is checked against a secret nobody has, so it gets the very answer a
    # customer's portal gets for the same bad signature (its reason included): portal ids are small
    # numbers, and a different answer listed which portals use healthscore (security audit 7). The decoy's
    # secret is decrypted as a customer's is: without that, a customer's portal answered ~0.2 ms later
    # (the vault's work), which listed the portals just the same to anyone timing requests (audit 8).
    vault = Vault(settings())
    try:
        secret = vault.decrypt(inst.client_secret_enc if inst is not None else _decoy_ciphertext(vault))
    except VaultError:
        logger.exception(
            "cannot decrypt the HubSpot client secret", extra={"tenant": inst.tenant_id} if inst else {}
        )
        return problem(500, "server_error", "The installation's secret cannot be read.")
    reason = _verify(secret, raw)
    if inst is None:
        reason = reason or "no_matching_signature"  # not reached: nothing verifies against the decoy
    if reason is not None or inst is None:
        tenant = {"tenant": inst.tenant_id} if inst is not None else {}
        logger.info(
            "HubSpot card request refused: %s%s",
            reason,
            "" if inst else " (not a customer's portal)",
            extra=tenant,
        )
        return problem(401, "unauthorized", "The request signature could not be verified.", reason)
    breach = ratelimits.budgets().spend("card", f"inst:{inst.id}")
    if breach is not None:
        return ratelimits.api_too_many(
            breach, "for this HubSpot portal's card", "Raise card_rate_limit if the portal's users need more."
        )
    if not company:
        return problem(
            400, "bad_request", "companyId is missing", "send the record's hs_object_id as companyId"
        )
    acc = readmodels.resolve_crm_account(db(), inst.tenant_id, "hubspot", company)
    if acc is None:
        return jsonify({"status": "not_found", "message": "healthscore has not scored this company yet."})
    detail = readmodels.account_detail(db(), inst.tenant_id, acc.id, tickets=0)
    assert detail is not None  # noqa: S101 - resolved within the same tenant
    colours = {b["name"]: b["colour"] for b in detail.bands}
    unscored: dict[str, str] = {}
    if detail.score is None:
        # what the account page says: a former customer is skipped by scoring, not waiting for data
        unscored = (
            {"title": FORMER_UNSCORED, "message": "This customer has left (churned in the CRM, or its "
             "renewal was lost), so scoring skips it."}
            if detail.former
            else {"title": "Not scored yet", "message": "Waiting for data: the next scoring pass scores it."}
        )  # fmt: skip
    return jsonify(
        {
            "status": "ok" if detail.score is not None else "unscored",
            **unscored,
            "name": detail.name,
            "score": detail.score,
            "band": detail.band,
            "former": detail.former,
            "band_label": band_text(detail.band, detail.former),
            "band_colour": colours.get(detail.band or ""),
            "trend_30d": detail.trend_30d,
            "drivers": [d.get("text") for d in detail.drivers[:3] if isinstance(d, dict)],
            "recommended_action": detail.recommended_action,
            "as_of": jsonable(detail.as_of),
            "url": settings().public_base_url.rstrip("/") + f"/accounts/{acc.id}",
        }
    )
