"""Read-only record pages at the vendors' own deep-link paths, for a person clicking "Open in …" in the demo.

The product links each record to the vendor's web app: Salesforce Lightning `/lightning/r/<Object>/<id>/view`,
HubSpot `/contacts/<portal>/company/<id>` (and `/contacts/<portal>/record/<type id>/<id>`), Zendesk
`/agent/tickets/<id>` and `/agent/organizations/<id>`. Against the emulators those links answered 404 (the
emulators serve APIs only) over TLS with a throwaway CA, so a browser warned first. These pages answer
exactly those paths and show the record as the emulator holds it: its fields, including what our product
wrote back (health score, band, drivers …), and the tasks and tickets our plays created on it. A picklist
value reads as its label, as the vendor's own UI shows it (`red` → "Red"), taken from the emulator's field
metadata (Salesforce describe `picklistValues`, HubSpot property `options`, Zendesk `custom_field_options`;
for HubSpot tasks and Zendesk tickets' system fields, the option labels the emulators keep beside their
allowed values: `NOT_STARTED` → "Not started", `hold` → "On-hold"); a value no metadata lists reads as is.

They are registered on the control API's server (plain HTTP on 127.0.0.1: no certificate warning, nothing
to trust), not on the vendor API servers, so they never count as API calls nor take scripted faults. The
demo sets each installation's `web_url` to that server (connector/demo/run.py). One server holds all three
vendors' pages: the paths do not overlap. GET only; every value is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response
from markupsafe import Markup, escape

from integrations.sandbox.context import SandboxContext

SALESFORCE_OBJECTS = ("Account", "Case", "Contact", "Opportunity")
HUBSPOT_TYPES = {"0-2": "companies", "0-5": "tickets", "0-1": "contacts", "0-3": "deals"}
HUBSPOT_NAMES = {"companies": "Company", "tickets": "Ticket", "contacts": "Contact", "deals": "Deal"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · {vendor} (emulator)</title>
<style>body{{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330}}
.note{{background:#fff7e0;border:1px solid #e6c96a;padding:.5rem .8rem;border-radius:6px}}
table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}th,td{{text-align:left;padding:.25rem .8rem .25rem 0;
vertical-align:top;border-bottom:1px solid #e3e6ec}}th{{font-weight:600;white-space:nowrap}}
td{{white-space:pre-wrap}}</style></head>
<body><p class="note">{vendor} emulator: a read-only page standing in for the record in {vendor}
(the healthscore demo; in production this link opens {vendor} itself).</p>
<h1>{title}</h1>{body}</body></html>"""


Labels = Mapping[str, Mapping[str, str]]  # field name -> {picklist value -> label}


def _shown(labels: Labels, name: str, value: Any) -> Any:
    """What the vendor's UI shows for `value` of field `name`: its picklist label, else the value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return labels.get(name, {}).get(value, value)
    return value


def _heading(name: str, names: Mapping[str, str]) -> str:
    """A row's heading as the vendor's UI shows it: the field's label ("Health Band"), with the API name
    (Health_Band__c) kept as the tooltip for whoever maps fields; the API name where there is no label."""
    label = names.get(name)
    if not label or label == name:
        return f"<th>{escape(name)}</th>"
    return f'<th title="{escape(name)}">{escape(label)}</th>'


def _table(
    fields: Mapping[str, Any], labels: Labels | None = None, names: Mapping[str, str] | None = None
) -> Markup:
    rows = "".join(
        f"<tr>{_heading(k, names or {})}<td>{escape(_shown(labels or {}, k, v))}</td></tr>"
        for k, v in fields.items()
        if k != "attributes"
    )
    return Markup(f"<table>{rows}</table>")  # noqa: S704 - every value escaped above


def _list(
    heading: str,
    items: Iterable[Mapping[str, Any]],
    empty: str,
    labels: Labels | None = None,
    names: Mapping[str, str] | None = None,
) -> Markup:
    tables = [_table(i, labels, names) for i in items]
    inner = "".join(tables) if tables else f"<p>{escape(empty)}</p>"
    return Markup(f"<h2>{escape(heading)}</h2>{inner}")  # noqa: S704 - heading escaped, tables built escaped


def _page(vendor: str, title: str, *parts: Markup) -> Response:
    html = _PAGE.format(vendor=escape(vendor), title=escape(title), body="".join(parts))
    return Response(html, 200, mimetype="text/html")


def _missing(vendor: str, what: str) -> Response:
    html = _PAGE.format(vendor=escape(vendor), title=escape(f"No {what} with that id"), body="")
    return Response(html, 404, mimetype="text/html")


def _notes(name: str, value: Any) -> Any:
    """A HubSpot task's notes (hs_task_body) are rich text: shown as HubSpot renders them (sanitised HTML)."""
    from integrations.sandbox.hubspot.tasks_api import notes_html

    return notes_html(str(value)) if name == "hs_task_body" else value


def _salesforce(ctx: SandboxContext, sobject: str, rid: str) -> Response:
    from integrations.sandbox.salesforce.query import full_record
    from integrations.sandbox.salesforce.render import rendered
    from integrations.sandbox.salesforce.writes import describe

    name = next((o for o in SALESFORCE_OBJECTS if o.lower() == sobject.lower()), None)
    if name is None:
        return _missing("Salesforce", "such object")
    with ctx.lock:
        row = next((r for r in rendered(ctx, name) if r["Id"] == rid and not r.get("IsDeleted")), None)
        if row is None:
            return _missing("Salesforce", name)
        record = full_record(ctx, name, row)
        fields = describe(ctx, name)["fields"]
        labels = {
            f["name"]: {p["value"]: p["label"] for p in f["picklistValues"] if p.get("label")}
            for f in fields
            if f["picklistValues"]
        }
        names = {f["name"]: str(f.get("label") or "") for f in fields}
        tasks = [
            {k: t.get(k) for k in ("Id", "Subject", "Status", "Priority", "ActivityDate", "Description")}
            for t in rendered(ctx, "Task")
            if t.get("WhatId") == rid
        ]
    title = str(record.get("Name") or record.get("Subject") or record.get("CaseNumber") or rid)
    parts = [_table(record, labels, names)]
    if name == "Account":
        parts.append(_list("Tasks", tasks, "No tasks on this account."))
    return _page("Salesforce", f"{name}: {title}", *parts)


def _hubspot(ctx: SandboxContext, portal: str, object_type: str, oid: str) -> Response:
    from integrations.sandbox.hubspot.render import get_objects, property_defs
    from integrations.sandbox.hubspot.tasks_api import OPTION_LABELS

    state = ctx.vendors["hubspot"]
    if portal != str(state.extra.get("portal_id")):
        return _missing("HubSpot", "portal")
    with ctx.lock:
        obj = get_objects(ctx, object_type, [oid]).get(oid)
        if obj is None:
            return _missing("HubSpot", HUBSPOT_NAMES[object_type].lower())
        props = dict(sorted(obj.properties.items()))
        defs = property_defs(ctx, object_type)
        labels = {
            name: {str(o["value"]): str(o["label"]) for o in p.get("options") or [] if o.get("label")}
            for name, p in defs.items()
            if p.get("options")
        }
        names = {name: str(p.get("label") or "") for name, p in defs.items()}
        tasks = [
            {"id": tid, **{k: _notes(k, v) for k, v in t["properties"].items() if v not in (None, "")}}
            for tid, t in state.extra.get("tasks", {}).items()
            if oid in t.get("companies", ())
        ]
    title = str(props.get("name") or props.get("subject") or props.get("dealname") or oid)
    parts = [_table({"id": oid, **props}, labels, {"id": "Record ID", **names})]
    if object_type == "companies":
        parts.append(_list("Tasks", tasks, "No tasks on this company.", OPTION_LABELS))
    return _page("HubSpot", f"{HUBSPOT_NAMES[object_type]}: {title}", *parts)


def _zendesk_ticket(ctx: SandboxContext, tid: int) -> Response:
    from integrations.sandbox.zendesk.tickets_api import FIELD_LABELS
    from integrations.sandbox.zendesk.view import _View

    with ctx.lock:
        created = ctx.vendors["zendesk"].extra.get("created_tickets", {}).get(str(tid))
        if created is not None:
            body = dict(created)
        else:
            view = _View(ctx, "")
            ticket = view.ticket_by_id(tid)
            if ticket is None or ticket.created_at > ctx.book.now:
                return _missing("Zendesk", "ticket")
            body = view.ticket(ticket)
    body.pop("url", None)
    return _page("Zendesk", f"Ticket #{tid}: {body.get('subject') or ''}", _table(body, FIELD_LABELS))


def _zendesk_org(ctx: SandboxContext, oid: int) -> Response:
    from integrations.sandbox.zendesk.state import org_id
    from integrations.sandbox.zendesk.tickets_api import FIELD_LABELS
    from integrations.sandbox.zendesk.view import _View

    with ctx.lock:
        view = _View(ctx, "")
        customer = next((c for c in view.zendesk_customers() if org_id(c.key) == oid), None)
        if customer is None:
            return _missing("Zendesk", "organization")
        org = view.organization(customer)
        labels = {
            key: {
                str(o["value"]): str(o["name"]) for o in f.get("custom_field_options") or [] if o.get("name")
            }
            for key, f in ctx.vendors["zendesk"].custom_fields.items()
            if f.get("custom_field_options")
        }
        names = {key: str(f.get("title") or "") for key, f in ctx.vendors["zendesk"].custom_fields.items()}
        tickets = [
            {k: t.get(k) for k in ("id", "subject", "status", "priority", "type", "due_at", "description")}
            for t in ctx.vendors["zendesk"].extra.get("created_tickets", {}).values()
            if t.get("organization_id") == oid
        ]
    org.pop("url", None)
    fields = org.pop("organization_fields", {}) or {}
    return _page(
        "Zendesk",
        f"Organization: {org.get('name')}",
        _table(org),
        _list("Organization fields", [fields] if fields else [], "No organization fields.", labels, names),
        _list("Tickets created through the API", tickets, "None.", FIELD_LABELS),
    )


def register_record_pages(app: Flask, ctx: SandboxContext) -> None:
    """Add the vendors' deep-link paths to `app` (the control API's plain-HTTP server)."""
    app.add_url_rule(
        "/lightning/r/<sobject>/<rid>/view", "sf_record", lambda sobject, rid: _salesforce(ctx, sobject, rid)
    )
    app.add_url_rule(
        "/contacts/<portal>/company/<oid>",
        "hs_company",
        lambda portal, oid: _hubspot(ctx, portal, "companies", oid),
    )

    def hs_record(portal: str, type_id: str, oid: str) -> Response:
        object_type = HUBSPOT_TYPES.get(type_id)
        if object_type is None:
            return _missing("HubSpot", "such object type")
        return _hubspot(ctx, portal, object_type, oid)

    app.add_url_rule("/contacts/<portal>/record/<type_id>/<oid>", "hs_record", hs_record)
    app.add_url_rule("/agent/tickets/<int:tid>", "zd_ticket", lambda tid: _zendesk_ticket(ctx, tid))
    app.add_url_rule("/agent/organizations/<int:oid>", "zd_org", lambda oid: _zendesk_org(ctx, oid))
