"""Cursor-based (CBP) reads: users, organizations, tickets' comments, satisfaction ratings, organization
fields, single records.
"""

from __future__ import annotations

import binascii
import bisect
import functools
import json
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.cache import _Cache
from integrations.sandbox.zendesk.responses import _b64, _err, _int_arg, _unb64
from integrations.sandbox.zendesk.state import API, CBP_MAX, _state, _ts, comment_id, group_id, org_id
from integrations.sandbox.zendesk.view import _score, _View
from integrations.sandbox.zendesk.writes import _job_body

# ------------------------------------------------------------------------------------------- CBP reading


def _cbp(items: list[tuple[tuple[Any, ...], Any]], key: str, default_size: int = CBP_MAX) -> Response:
    """Cursor-based pagination as Zendesk renders it: `meta.has_more`, `links.next`, `page[after]`.

    An item's body may be a callable: only the page's items are rendered (a full read of n items would
    otherwise render n²/size bodies)."""
    try:
        size = int(request.args.get("page[size]", default_size))
    except ValueError:
        return _err(400, "InvalidPaginationParameter", "page[size] must be an integer")
    if not 1 <= size <= CBP_MAX:
        return _err(400, "InvalidPaginationParameter", "page[size] must be between 1 and 100")
    after = request.args.get("page[after]")
    items = sorted(items, key=lambda kv: kv[0])
    if after:
        try:
            position = tuple(json.loads(_unb64(after)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _err(400, "InvalidPaginationParameter", "page[after] is invalid")
        items = items[bisect.bisect_right([kv[0] for kv in items], position) :]
    page = items[:size]
    has_more = len(items) > size
    after_cursor = _b64(json.dumps(list(page[-1][0]))) if page else None
    before_cursor = _b64(json.dumps(list(page[0][0]))) if page else None
    args = {k: v for k, v in request.args.items() if k not in ("page[after]", "page[before]")}
    args["page[size]"] = str(size)
    base = f"{request.host_url.rstrip('/')}{request.path}"
    nxt = f"{base}?{urlencode({**args, 'page[after]': after_cursor})}" if has_more and after_cursor else None
    return jsonify(
        {
            key: [body() if callable(body) else body for _, body in page],
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
            "links": {"next": nxt, "prev": None},
        }
    )


def _after_position(token: str | None) -> tuple[Any, ...] | None:
    """A CBP `page[after]` cursor's key, or None when absent or unreadable (_cbp answers that with a 400)."""
    if not token:
        return None
    try:
        return tuple(json.loads(_unb64(token)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _read_routes(app: Flask, ctx: SandboxContext, cache: _Cache) -> None:
    @app.route(f"{API}/organizations.json", methods=["GET"])
    def organizations() -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            items = [
                ((org_id(c.key),), functools.partial(view.organization, c))
                for c in view.zendesk_customers()
                if view.org_deleted_at(c) is None
            ]
            return _cbp(items, "organizations")

    @app.route(f"{API}/groups.json", methods=["GET"])
    def groups() -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            names = sorted({t.group for t in view.zendesk_tickets()})
            items = [((group_id(n),), view.group(n)) for n in names]
            return _cbp(items, "groups")

    @app.route(f"{API}/users.json", methods=["GET"])
    def users() -> Response:
        wanted = set(request.args.getlist("role[]") + request.args.getlist("role")) or {"end-user", "agent"}
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            cache.index(view)
            if wanted <= {"agent", "admin"}:  # agents are few: cached until the tickets change
                if cache.agents is None:
                    cache.agents = view.users_in_roles([t for _, t in cache.tickets], {"agent"})
                found = cache.agents if "agent" in wanted else []
            else:
                found = view.users_in_roles([t for _, t in cache.tickets], wanted)
            return _cbp([((int(u["id"]),), u) for u in found], "users")

    @app.route(f"{API}/organizations/<int:oid>.json", methods=["GET"])
    def organization(oid: int) -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url)
            for c in view.zendesk_customers():
                if org_id(c.key) == oid and view.org_deleted_at(c) is None:
                    return jsonify({"organization": view.organization(c)})
        return _err(404, "RecordNotFound", "Not found")

    @app.route(f"{API}/tickets/<int:tid>/comments.json", methods=["GET"])
    def comments(tid: int) -> Response:
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            t = view.ticket_by_id(tid)
            if t is not None and t.deleted_at is None:
                items = [((_ts(c.created_at), comment_id(c.key)), view.comment(t, c)) for c in t.comments]
                return _cbp(items, "comments")
        return _err(404, "RecordNotFound", "Not found")

    @app.route(f"{API}/satisfaction_ratings", methods=["GET"])
    @app.route(f"{API}/satisfaction_ratings.json", methods=["GET"])
    def satisfaction_ratings() -> Response:
        try:
            start = _int_arg("start_time")
            end = _int_arg("end_time")
        except ValueError:
            return _err(400, "InvalidValue", "start_time and end_time must be integers")
        score = request.args.get("score")
        with ctx.lock:
            view = _View(ctx, request.host_url, cache)
            ratings, keys = cache.ratings(view), cache.rating_keys
            # The ratings are kept sorted by key: a page bisects to its window instead of filtering every
            # rating per request (a full read of n ratings cost n²/100 at 10k accounts). At most one page
            # plus one (has_more) is handed on; _cbp validates page[size] and page[after] itself.
            lo = bisect.bisect_left(keys, (start,)) if start is not None else 0
            hi = bisect.bisect_left(keys, (end + 1,)) if end is not None else len(keys)
            if after := _after_position(request.args.get("page[after]")):
                lo = max(lo, bisect.bisect_right(keys, after))
            items: list[tuple[tuple[Any, ...], Any]] = []
            for i in range(lo, hi):
                key, s, t = ratings[i]
                if score not in ("good", "bad") or _score(s) == score:
                    items.append((key, functools.partial(view.rating, s, t)))
                    if len(items) > CBP_MAX:
                        break
            return _cbp(items, "satisfaction_ratings")

    @app.route(f"{API}/organization_fields.json", methods=["GET"])
    def organization_fields() -> Response:
        with ctx.lock:
            fields = sorted(_state(ctx).custom_fields.values(), key=lambda f: f["position"])
            return jsonify(
                {
                    "organization_fields": fields,
                    "next_page": None,
                    "previous_page": None,
                    "count": len(fields),
                }
            )

    @app.route(f"{API}/job_statuses/show_many.json", methods=["GET"])
    def job_statuses() -> Response:
        """Show Many Job Statuses: `ids` comma-separated (at most 100); unknown ids are left out."""
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            return _err(400, "InvalidEndpoint", "ids: between 1 and 100 job ids, comma-separated")
        with ctx.lock:
            state = _state(ctx)
            found = [state.extra["jobs"][i] for i in ids if i in state.extra["jobs"]]
            for record in found:
                record["polls"] += 1
            polls = state.extra["job_polls_to_complete"]
            return jsonify({"job_statuses": [_job_body(r, polls) for r in found]})

    @app.route(f"{API}/job_statuses/<job>.json", methods=["GET"])
    def job_status(job: str) -> Response:
        with ctx.lock:
            state = _state(ctx)
            record = state.extra["jobs"].get(job)
            if record is None:
                return _err(404, "RecordNotFound", "Not found")
            record["polls"] += 1
            return jsonify({"job_status": _job_body(record, state.extra["job_polls_to_complete"])})
