"""Tasks (the engagement object our plays create), from HubSpot's "Activities | Tasks" reference:

- `POST /crm/v3/objects/tasks/batch/create` (≤ 100 inputs, 201): `properties` + `associations`
  (`to.id`, `types[{associationCategory, associationTypeId}]`); `hs_timestamp` is required, statuses and
  priorities are enumerations, `hubspot_owner_id` must be an owner; one invalid input refuses the batch
  (400 VALIDATION_ERROR); each result echoes the input's `objectWriteTraceId`.
- `POST /crm/v3/objects/tasks/batch/update` (207 multi-status for unknown ids), `GET /crm/v3/objects/tasks`
  (list: `limit`, `after`, `properties`, `associations=companies`), `GET /crm/v3/objects/tasks/<id>`.
- v4 associations both ways: `GET /crm/v4/objects/tasks/<id>/associations/companies` and
  `GET /crm/v4/objects/companies/<id>/associations/tasks` (type 192 task→company, 191 company→task).
Scopes: `crm.objects.contacts.read` / `.write` (HubSpot files tasks under the contacts scopes).
Tasks live in `VendorState.extra["tasks"]` (id → {properties, companies, created, updated}).
`hs_task_body` (Notes) is rich text in HubSpot: the record pages show it as HubSpot does, as HTML with
scripts, styles, event handlers and non-web links removed (`notes_html`).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from html.parser import HTMLParser
from typing import Any

from flask import Flask, Response, request
from markupsafe import Markup

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.api import HubSpotError, _body, _json, _props_arg, _require, _validation
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import _owner_id, _state, company_id
from integrations.sandbox.hubspot.schema import BATCH_LIMIT, LIST_LIMIT, VENDOR

READ, WRITE = "crm.objects.contacts.read", "crm.objects.contacts.write"
TASK_TO_COMPANY, COMPANY_TO_TASK = 192, 191
STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
TYPES = ("TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING", "LINKED_IN_CONNECT", "LINKED_IN_MESSAGE")
# The options' labels, as HubSpot's task properties define them (GET /crm/v3/properties/tasks): a person
# reads these, the API carries the values (the record pages, integrations/sandbox/pages.py, show them).
OPTION_LABELS: dict[str, dict[str, str]] = {
    "hs_task_status": {
        "NOT_STARTED": "Not started",
        "IN_PROGRESS": "In progress",
        "WAITING": "Waiting",
        "COMPLETED": "Completed",
        "DEFERRED": "Deferred",
    },
    "hs_task_priority": {"NONE": "None", "LOW": "Low", "MEDIUM": "Medium", "HIGH": "High"},
    "hs_task_type": {
        "TODO": "To-do",
        "CALL": "Call",
        "EMAIL": "Email",
        "LINKED_IN": "LinkedIn",
        "MEETING": "Meeting",
        "LINKED_IN_CONNECT": "Sales Navigator - Connection Request",
        "LINKED_IN_MESSAGE": "Sales Navigator - InMail",
    },
}
PROPERTIES = (
    "hs_timestamp",
    "hs_task_subject",
    "hs_task_body",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hubspot_owner_id",
)
DEFAULT_READ = ("hs_task_subject", "hs_task_status", "hs_timestamp")
COUNTER = f"{VENDOR}.tasks"  # a second ledger: task calls, for the write-back benchmark


# What survives in a task's notes on the emulator's pages: text formatting and web links, no attributes but
# a link's http(s)/mailto href (HubSpot sanitises rich text the same way: no scripts, styles or handlers).
_NOTES_TAGS = frozenset(
    [
        "p",
        "br",
        "div",
        "span",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "strike",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "code",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
    ]
)
_NOTES_VOID = frozenset({"br", "hr"})
_NOTES_DROP = frozenset({"script", "style", "template", "iframe", "object", "noscript", "textarea", "title"})


class _Notes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _NOTES_DROP:
            self.dropping += 1
        if self.dropping or tag not in _NOTES_TAGS:
            return
        extra = ""
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.strip().lower().startswith(("https://", "http://", "mailto:")):
            extra = f' href="{escape(href.strip())}" rel="noopener"'
        self.out.append(f"<{tag}{extra}>")
        if tag not in _NOTES_VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _NOTES_VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _NOTES_DROP:
            self.dropping = max(self.dropping - 1, 0)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:  # close what was left open inside it
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))


def notes_html(value: str) -> Markup:
    """A task's notes as HubSpot shows them: the stored HTML with only formatting and web links kept."""
    parser = _Notes()
    parser.feed(value)
    parser.close()
    parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
    return Markup("".join(parser.out))  # noqa: S704 - built from an allow-list, every text escaped


def _store(ctx: SandboxContext) -> dict[str, dict[str, Any]]:
    tasks: dict[str, dict[str, Any]] = _state(ctx).extra.setdefault("tasks", {})
    return tasks


def _json_task(
    tid: str, task: dict[str, Any], props: list[str] | None, assoc: bool = False
) -> dict[str, Any]:
    names = list(
        dict.fromkeys([*(props or DEFAULT_READ), "hs_object_id", "hs_lastmodifieddate", "hs_createdate"])
    )
    values = {
        **task["properties"],
        "hs_object_id": tid,
        "hs_createdate": hs_time(task["created"]),
        "hs_lastmodifieddate": hs_time(task["updated"]),
    }
    out: dict[str, Any] = {
        "id": tid,
        "properties": {n: values.get(n) for n in names if n in values or n in PROPERTIES},
        "createdAt": hs_time(task["created"]),
        "updatedAt": hs_time(task["updated"]),
        "archived": False,
    }
    if assoc and task["companies"]:
        out["associations"] = {
            "companies": {"results": [{"id": c, "type": "task_to_company"} for c in task["companies"]]}
        }
    return out


def _check_properties(ctx: SandboxContext, props: Any, *, creating: bool) -> dict[str, str | None]:
    if not isinstance(props, dict):
        raise _validation("Invalid input JSON: properties must be an object")
    bad = [p for p in props if p not in PROPERTIES]
    if bad:
        raise _validation(
            "Property values were not valid: " + ", ".join(f'Property "{p}" does not exist' for p in bad)
        )
    if creating and not props.get("hs_timestamp"):
        raise _validation('Property values were not valid: "hs_timestamp" is required')
    for name, allowed in (
        ("hs_task_status", STATUSES),
        ("hs_task_priority", PRIORITIES),
        ("hs_task_type", TYPES),
    ):
        if props.get(name) is not None and props[name] not in allowed:
            raise _validation(
                f'Property values were not valid: {props[name]} was not one of the allowed options for "{name}"'
            )
    owner = props.get("hubspot_owner_id")
    if owner and owner not in {_owner_id(c.owner) for c in ctx.book.customers.values() if c.owner}:
        raise _validation(
            f'Property values were not valid: {owner} is not a valid owner id for "hubspot_owner_id"'
        )
    if props.get("hs_timestamp"):
        _parse_time(str(props["hs_timestamp"]))
    return {k: None if v is None else str(v) for k, v in props.items()}


def _parse_time(value: str) -> datetime:
    try:
        if value.isdigit():
            from datetime import UTC

            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _validation(
            f'Property values were not valid: {value} is not a valid datetime for "hs_timestamp"'
        ) from None


def _companies(ctx: SandboxContext, associations: Any) -> list[str]:
    live = {company_id(c.key) for c in ctx.book.customers.values() if c.hubspot.present and not c.deleted_at}
    out = []
    for a in associations or []:
        to = str(((a or {}).get("to") or {}).get("id", ""))
        types = (a or {}).get("types") or []
        if to not in live:
            raise _validation(f"One or more associations are invalid: no company with id {to}")
        if not any(
            t.get("associationTypeId") == TASK_TO_COMPANY
            and t.get("associationCategory") == "HUBSPOT_DEFINED"
            for t in types
        ):
            raise _validation(
                f"One or more associations are invalid: type {types} cannot link a task to a company"
            )
        out.append(to)
    return out


def _register_tasks(app: Flask, ctx: SandboxContext) -> None:
    base = "/crm/v3/objects/tasks"

    def _count() -> None:
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        ctx.counters.record(COUNTER, f"{request.method} {rule}")

    @app.post(f"{base}/batch/create")
    def tasks_batch_create() -> Response:
        _count()
        inputs = (_body() or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}")
        with ctx.lock:
            _require(ctx, WRITE)
            planned = [
                (
                    _check_properties(ctx, i.get("properties"), creating=True),
                    _companies(ctx, i.get("associations")),
                    i,
                )
                for i in inputs
            ]  # every input is checked before any is created: one bad input refuses the batch
            store, state = _store(ctx), _state(ctx)
            results = []
            for props, companies, inp in planned:
                state.extra["task_seq"] = int(state.extra.get("task_seq", 0)) + 1
                tid = str(80_000_000_000 + state.extra["task_seq"])
                props.setdefault("hs_task_status", "NOT_STARTED")
                store[tid] = {
                    "properties": props,
                    "companies": companies,
                    "created": ctx.now,
                    "updated": ctx.now,
                }
                out = _json_task(tid, store[tid], list(props))
                if inp.get("objectWriteTraceId"):
                    out["objectWriteTraceId"] = str(inp["objectWriteTraceId"])
                results.append(out)
        body = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        return _json(body, 201)

    @app.post(f"{base}/batch/update")
    def tasks_batch_update() -> Response:
        _count()
        inputs = (_body() or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _validation("Invalid input JSON: inputs is required")
        if len(inputs) > BATCH_LIMIT:
            raise _validation(f"Too many inputs: {len(inputs)} > {BATCH_LIMIT}")
        with ctx.lock:
            _require(ctx, WRITE)
            store = _store(ctx)
            checked = [
                (str(i.get("id")), _check_properties(ctx, i.get("properties"), creating=False))
                for i in inputs
            ]
            results, missing = [], []
            for tid, props in checked:
                if tid not in store:
                    missing.append(tid)
                    continue
                store[tid]["properties"].update(props)
                store[tid]["updated"] = ctx.now
                results.append(_json_task(tid, store[tid], list(props)))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": hs_time(ctx.now),
            "completedAt": hs_time(ctx.now),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some TASK objects, they may be deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return _json(out, 207)
        return _json(out)

    @app.get(base)
    def tasks_list() -> Response:
        try:
            limit = int(request.args.get("limit", "10"))
            after = int(request.args.get("after") or 0)
        except ValueError:
            raise _validation("limit and after must be integers") from None
        if limit < 1 or limit > LIST_LIMIT:
            raise _validation(f"limit must be between 1 and {LIST_LIMIT}")
        assoc = "companies" in [a for raw in request.args.getlist("associations") for a in raw.split(",")]
        with ctx.lock:
            _require(ctx, READ)
            store = _store(ctx)
            ids = sorted((t for t in store if int(t) > after), key=int)
            page = ids[:limit]
            out: dict[str, Any] = {"results": [_json_task(t, store[t], _props_arg(), assoc) for t in page]}
        if len(ids) > limit:
            out["paging"] = {"next": {"after": page[-1], "link": None}}
        return _json(out)

    @app.get(f"{base}/<task_id>")
    def tasks_get(task_id: str) -> Response:
        with ctx.lock:
            _require(ctx, READ)
            task = _store(ctx).get(task_id)
            if task is not None:
                return _json(_json_task(task_id, task, _props_arg()))
        raise HubSpotError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")

    def _assoc(to_id: str, type_id: int) -> dict[str, Any]:
        return {
            "toObjectId": int(to_id),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
        }

    @app.get("/crm/v4/objects/tasks/<task_id>/associations/companies")
    def task_companies(task_id: str) -> Response:
        with ctx.lock:
            _require(ctx, READ)
            task = _store(ctx).get(task_id)
            ids = task["companies"] if task else []
        return _json({"results": [_assoc(c, TASK_TO_COMPANY) for c in ids]})

    @app.get("/crm/v4/objects/companies/<company>/associations/tasks")
    def company_tasks(company: str) -> Response:
        with ctx.lock:
            _require(ctx, READ)
            ids = sorted((t for t, v in _store(ctx).items() if company in v["companies"]), key=int)
        return _json({"results": [_assoc(t, COMPANY_TO_TASK) for t in ids]})
