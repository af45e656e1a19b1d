"""POST /inbound/<vendor>/<tenant>: vendor webhooks (Zendesk, HubSpot v3, Salesforce outbound messages).

Answers fast: verify, record, enqueue; the refresh runs elsewhere. Anything that fails a check gets a 4xx
with a reason code in the JSON body and changes nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from connector.realtime import inbound
from connector.web import ratelimits
from connector.web.errors import problem
from connector.web.security import csrf
from webhooks.inbound import salesforce_ack

logger = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__, url_prefix="/inbound")
# Vendors sign requests; there is no browser session to protect. Exempt at import (like api.py): the
# CSRF extension is initialised by connector.web.security, which registers after this module.
csrf.exempt(bp)
_HINT = "check the webhook's URL and signing secret in the vendor's settings"
# What each vendor sends; anything else is refused before the body is read or parsed.
CONTENT_TYPES = {
    "zendesk": frozenset({"application/json"}),
    "hubspot": frozenset({"application/json"}),
    "salesforce": frozenset({"text/xml", "application/xml", "application/soap+xml"}),
}


def _handle(vendor: str, slug: str, token: str | None = None) -> Any:
    started = time.perf_counter()
    settings = current_app.config["HEALTHSCORE"]
    if request.mimetype not in CONTENT_TYPES[vendor]:
        logger.warning("inbound %s webhook refused: unsupported_media_type", vendor, extra={"vendor": vendor})
        return problem(
            415,
            "unsupported_media_type",
            f"{vendor} webhooks are {' or '.join(sorted(CONTENT_TYPES[vendor]))}",
            _HINT,
        )
    body = request.get_data(cache=False)
    try:
        verified = inbound.verify(
            settings,
            vendor,
            slug,
            dict(request.headers),
            body,
            method=request.method,
            path=request.path,
            token=token,
        )
        # Spent only by requests that verified: an unknown URL or a wrong signature never reaches it, so
        # it answers the same bytes whatever the budget says (no telling which installations exist or
        # are busy), and nobody without the secret can spend a real installation's budget.
        breach = ratelimits.budgets().spend("inbound", f"{verified.tenant_id}:{vendor}")
        if breach is not None:
            logger.warning(
                "inbound %s webhook refused: rate_limited (%s)",
                vendor,
                breach.limit,
                extra={"vendor": vendor, "tenant": verified.tenant_id},
            )
            return _too_many(vendor, breach)
        accepted = inbound.record(settings, verified)
    except inbound.InboundRejectedError as exc:
        # The reason code only: never the headers, the body or the token in the path.
        logger.warning("inbound %s webhook refused: %s", vendor, exc.log_reason, extra={"vendor": vendor})
        return problem(exc.status, exc.reason, exc.message, _HINT)
    inbound.dispatch(settings, accepted)
    logger.info(
        "inbound %s webhook: %d new, %d duplicate events in %.1f ms",
        vendor,
        len(accepted.event_ids),
        accepted.duplicates,
        (time.perf_counter() - started) * 1000,
        extra={"vendor": vendor, "tenant": accepted.tenant_id},
    )
    if vendor == "salesforce":
        # Salesforce retries until it reads <Ack>true</Ack>, duplicates included.
        return Response(salesforce_ack(), status=200, content_type="text/xml; charset=utf-8")
    return {"accepted": len(accepted.event_ids), "duplicates": accepted.duplicates}, 202


# A SOAP 1.1 fault: Salesforce retries every answer without <Ack>true</Ack> (with a growing interval, for
# up to 24 hours) and shows the faultstring as the delivery failure reason in Setup → Outbound Messages.
_SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    "<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{}</faultstring></soapenv:Fault>"
    "</soapenv:Body></soapenv:Envelope>"
)


def _too_many(vendor: str, breach: ratelimits.Breach) -> Response:
    """429 with Retry-After, which each vendor retries: HubSpot and Zendesk retry a 429 (Zendesk only with
    a short Retry-After: the windows are at most a minute, see config.rate_limit_problems), Salesforce
    retries anything but an Ack. Nothing was recorded, so the retry is a new delivery, not a replay."""
    message = f"too many webhooks for this installation (limit {breach.limit}); retry later"
    if vendor == "salesforce":
        resp = Response(_SOAP_FAULT.format(message), status=429, content_type="text/xml; charset=utf-8")
    else:
        resp = problem(
            429,
            "too_many_requests",
            message,
            f"the vendor retries after Retry-After ({breach.retry_after} s)",
        )
    resp.headers["Retry-After"] = str(breach.retry_after)
    return resp


@bp.post("/zendesk/<slug>")
def zendesk(slug: str) -> Any:
    return _handle("zendesk", slug)


@bp.post("/hubspot/<slug>")
def hubspot(slug: str) -> Any:
    return _handle("hubspot", slug)


@bp.post("/salesforce/<slug>/<token>")
def salesforce(slug: str, token: str) -> Any:
    return _handle("salesforce", slug, token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
