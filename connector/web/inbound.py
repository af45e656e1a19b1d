"""POST /inbound/<vendor>/<tenant>: vendor webhooks (Zendesk, HubSpot v3, Salesforce outbound messages).

Answers fast: verify, record, enqueue; 4xx with a reason code for anything that fails a check.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from connector import inbound
from connector.store import utcnow
from connector.web.errors import problem
from webhooks.inbound import salesforce_ack

logger = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__, url_prefix="/inbound")


def _handle(vendor: str, slug: str, token: str | None = None) -> Any:
    settings = current_app.config["HEALTHSCORE"]
    body = request.get_data(cache=False)
    try:
        tenant_id, events = inbound.verify(
            settings,
            vendor,
            slug,
            request.headers,
            body,
            method=request.method,
            path=request.path,
            token=token,
            now=utcnow(),
        )
    except inbound.InboundRejectedError as exc:
        logger.warning("inbound %s webhook refused: %s", vendor, exc.reason, extra={"vendor": vendor})
        return problem(
            exc.status, exc.reason, exc.message, "check the webhook's signing secret and URL in the vendor"
        )
    accepted = inbound.record(settings, tenant_id, vendor, events)
    inbound.dispatch(settings, accepted)
    if vendor == "salesforce":
        return Response(salesforce_ack(), status=200, content_type="text/xml; charset=utf-8")
    return {"accepted": len(accepted.event_ids), "duplicates": accepted.duplicates}, 202


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
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # vendors sign requests; there is no browser session to protect
