"""Owners (GET /crm/v3/owners) and pipelines (GET /crm/v3/pipelines/{objectType}) as HubSpot renders them:
the names behind `hubspot_owner_id`, `dealstage` and `hs_pipeline_stage`.

Owners are the book's account owners (the same people, and e-mails, the Salesforce sandbox has as Users).
The deal pipeline is HubSpot's default "Sales Pipeline" with its default stage ids and labels.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.api import _json, _require, _validation
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import _owner_id

OWNERS_SCOPE = "crm.objects.owners.read"
# HubSpot's default deal pipeline: stage id → (label, probability); the ids are what `dealstage` holds.
DEAL_PIPELINE = {
    "appointmentscheduled": ("Appointment Scheduled", "0.2"),
    "qualifiedtobuy": ("Qualified To Buy", "0.4"),
    "presentationscheduled": ("Presentation Scheduled", "0.6"),
    "decisionmakerboughtin": ("Decision Maker Bought-In", "0.8"),
    "contractsent": ("Contract Sent", "0.9"),
    "closedwon": ("Closed Won", "1.0"),
    "closedlost": ("Closed Lost", "0.0"),
}
TICKET_PIPELINE = {"1": "New", "2": "Waiting on contact", "3": "Waiting on us", "4": "Closed"}


def owner_email(owner: str) -> str:
    """The convention the Salesforce sandbox uses for the same person's User.Email."""
    return owner.lower().replace(" ", ".") + "@sandbox-crm.example"


def _owner(ctx: SandboxContext, name: str) -> dict[str, Any]:
    first, _, last = name.partition(" ")
    stamp = hs_time(ctx.book.now - timedelta(days=1200))
    oid = _owner_id(name)
    return {
        "id": oid,
        "email": owner_email(name),
        "type": "PERSON",
        "firstName": first,
        "lastName": last,
        "userId": int(oid) * 7,
        "userIdIncludingInactive": int(oid) * 7,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


def _stage(ctx: SandboxContext, sid: str, label: str, order: int, metadata: dict[str, str]) -> dict[str, Any]:
    stamp = hs_time(ctx.book.now - timedelta(days=1500))
    return {
        "id": sid,
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _register_names(app: Flask, ctx: SandboxContext) -> None:
    @app.get("/crm/v3/owners/")
    @app.get("/crm/v3/owners")
    def owners() -> Response:
        try:
            limit = min(int(request.args.get("limit", "100")), 500)
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        with ctx.lock:
            _require(ctx, OWNERS_SCOPE)
            names = sorted({c.owner for c in ctx.book.customers.values() if c.owner}, key=_owner_id)
            page = [_owner(ctx, n) for n in names[after : after + limit]]
        out: dict[str, Any] = {"results": page}
        if after + limit < len(names):
            nxt = str(after + limit)
            out["paging"] = {"next": {"after": nxt, "link": f"{request.base_url}?after={nxt}"}}
        return _json(out)

    @app.get("/crm/v3/pipelines/<object_type>")
    def pipelines(object_type: str) -> Response:
        with ctx.lock:
            if object_type == "deals":
                _require(ctx, "crm.objects.deals.read")
                stages = [
                    _stage(
                        ctx,
                        sid,
                        label,
                        i,
                        {"isClosed": str(sid.startswith("closed")).lower(), "probability": p},
                    )
                    for i, (sid, (label, p)) in enumerate(DEAL_PIPELINE.items())
                ]
                pipeline_id, label = "default", "Sales Pipeline"
            elif object_type == "tickets":
                _require(ctx, "tickets")
                stages = [
                    _stage(ctx, sid, label, i, {"ticketState": "CLOSED" if sid == "4" else "OPEN"})
                    for i, (sid, label) in enumerate(TICKET_PIPELINE.items())
                ]
                pipeline_id, label = "0", "Support Pipeline"
            else:
                raise _validation(f"Unable to infer object type from: {object_type}")
            stamp = hs_time(ctx.book.now - timedelta(days=1500))
        return _json(
            {
                "results": [
                    {
                        "id": pipeline_id,
                        "label": label,
                        "displayOrder": 0,
                        "stages": stages,
                        "createdAt": stamp,
                        "updatedAt": stamp,
                        "archived": False,
                    }
                ]
            }
        )
