"""Incremental exports: tickets (cursor-based, sideloads), ticket events (time-based, comment events) and
organizations (time-based), with the minute of export lag Zendesk applies.
"""

from __future__ import annotations

import binascii
import bisect
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.zendesk.cache import _Cache
from integrations.sandbox.zendesk.responses import (
    _b64,
    _dump,
    _dumped,
    _dumped_users,
    _err,
    _int_arg,
    _json_response,
    _Raw,
    _unb64,
)
from integrations.sandbox.zendesk.state import _LAST, API, EXPORT_LAG, EXPORT_MAX_PER_PAGE, _ts, org_id
from integrations.sandbox.zendesk.tickets_api import export_entries, export_metric_set
from integrations.sandbox.zendesk.view import _View

# ------------------------------------------------------------------------------------- incremental exports


def _export_routes(app: Flask, ctx: SandboxContext, cache: _Cache) -> None:
    @app.route(f"{API}/incremental/tickets/cursor.json", methods=["GET"])
    def ticket_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        include = request.args.get("include", "")
        cursor = request.args.get("cursor")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if cursor:
                try:
                    gts, tid, per_page, include = _decode_cursor(cursor)
                except (ValueError, binascii.Error, UnicodeDecodeError):
                    return _err(400, "InvalidPaginationParameter", "Invalid cursor")
                position: tuple[int, int] = (gts, tid)
            elif start is None:
                return _err(400, "InvalidPaginationParameter", "start_time or cursor is required")
            elif start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            else:
                position = (start, -1)
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url, cache)
            cache.index(view)
            lo = bisect.bisect_right(cache.ticket_keys, position)
            hi = bisect.bisect_right(cache.ticket_keys, (cutoff, _LAST))
            candidates: list[tuple[tuple[int, int], Any]] = list(cache.tickets[lo:hi])
            if request.args.get("exclude_deleted") == "true":
                candidates = [(k, t) for k, t in candidates if t.deleted_at is None]
            created = export_entries(ctx, position, (cutoff, _LAST))  # tickets made through the API
            if created:
                candidates = sorted(candidates + created, key=lambda kt: kt[0])
            page = candidates[:per_page]
            book = [(k, t) for k, t in page if not isinstance(t, dict)]
            last = page[-1][0] if page else position
            after = _encode_cursor(last, per_page, include)
            before = _encode_cursor(page[0][0], per_page, include) if page else None
            base = f"{request.host_url.rstrip('/')}{API}/incremental/tickets/cursor.json"
            body: dict[str, Any] = {
                "tickets": _Raw(
                    [
                        _dump(t) if isinstance(t, dict) else cache.rendered("ticket", t, _dumped(view.ticket))
                        for _, t in page
                    ]
                ),
                "after_url": f"{base}?cursor={after}",
                "after_cursor": after,
                "before_url": f"{base}?cursor={before}" if before else None,
                "before_cursor": before,
                "end_of_stream": len(candidates) <= per_page,
            }
            sideloads = set(filter(None, include.split(",")))
            if "metric_sets" in sideloads:
                body["metric_sets"] = _Raw(
                    [
                        _dump(export_metric_set(t))
                        if isinstance(t, dict)
                        else cache.rendered("metric_set", t, _dumped(view.metric_set))
                        for _, t in page
                    ]
                )
            if "users" in sideloads:
                users: dict[int, str] = {}
                for _, t in book:
                    for uid, text in cache.rendered(
                        "users", t, lambda t: _dumped_users(view.ticket_users(t))
                    ):
                        users.setdefault(uid, text)
                body["users"] = _Raw(list(users.values()))
            if (
                "groups" in sideloads
            ):  # Zendesk sideloads each ticket's group (id, name, ...) like /groups.json
                names = sorted({t.group for _, t in book if t.group})
                body["groups"] = [view.group(n) for n in names]
            if "organizations" in sideloads:
                orgs = {view.ticket_org(t) for _, t in book} | {
                    t.get("organization_id") for _, t in page if isinstance(t, dict)
                }
                orgs -= {None}
                body["organizations"] = [
                    view.organization(c) for c in view.zendesk_customers() if org_id(c.key) in orgs
                ]
        return _json_response(body)

    @app.route(f"{API}/incremental/ticket_events.json", methods=["GET"])
    @app.route(f"{API}/incremental/ticket_events", methods=["GET"])
    def ticket_event_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        include = request.args.get("include", "")
        with_comments = "comment_events" in include.split(",")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if start is None:
                return _err(400, "InvalidPaginationParameter", "start_time is required")
            if start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url, cache)
            events, keys = cache.events(view)
            lo = bisect.bisect_left(keys, (start, -1))
            hi = bisect.bisect_right(keys, (cutoff, _LAST))
            page = events[lo : min(hi, lo + per_page)]
            kind = "events+comments" if with_comments else "events"
            items = _Raw(
                [
                    cache.rendered(kind, t, lambda t: [_dump(e) for e in view.events(t, with_comments)])[n]
                    for _, t, n in page
                ]
            )
            end_time = page[-1][0][0] if page else start
            query = {"start_time": str(end_time), **({"include": include} if include else {})}
            if request.args.get("per_page"):
                query["per_page"] = str(per_page)
            body = {
                "ticket_events": items,
                "count": len(items),
                "end_time": end_time,
                # like Zendesk's time-based exports, the next page starts AT end_time: edge items repeat
                "next_page": f"{request.host_url.rstrip('/')}{API}/incremental/ticket_events.json?"
                + urlencode(query),
                "end_of_stream": hi - lo <= per_page,
            }
        return _json_response(body)

    @app.route(f"{API}/incremental/organizations.json", methods=["GET"])
    def org_export() -> Response:
        try:
            start = _int_arg("start_time")
            per_page = _int_arg("per_page", EXPORT_MAX_PER_PAGE) or EXPORT_MAX_PER_PAGE
        except ValueError:
            return _err(400, "InvalidPaginationParameter", "start_time and per_page must be integers")
        with ctx.lock:
            cutoff = _ts(ctx.now) - EXPORT_LAG
            if start is None:
                return _err(400, "InvalidPaginationParameter", "start_time is required")
            if start > cutoff:
                return _err(
                    400, "StartTimeTooRecent", "Too recent start_time. Use a start_time older than 1 minute."
                )
            if not 1 <= per_page <= EXPORT_MAX_PER_PAGE:
                return _err(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            view = _View(ctx, request.host_url)
            keyed = sorted(
                ((_ts(view.org_updated_at(c)), org_id(c.key)), c)
                for c in view.zendesk_customers()
                if start <= _ts(view.org_updated_at(c)) <= cutoff
            )
            page = keyed[:per_page]
            end_of_stream = len(keyed) <= per_page
            end_time = page[-1][0][0] if page else start
            if end_of_stream:
                end_time = max(end_time, cutoff) if not page else end_time
            base = f"{request.host_url.rstrip('/')}{API}/incremental/organizations.json"
            extra = f"&per_page={per_page}" if request.args.get("per_page") else ""
            body = {
                "organizations": [view.organization(c) for _, c in page],
                "count": len(page),
                "end_time": end_time,
                "next_page": f"{base}?start_time={end_time}{extra}",
                "end_of_stream": end_of_stream,
            }
        return jsonify(body)


def _encode_cursor(position: tuple[int, int], per_page: int, include: str) -> str:
    return _b64(f"{position[0]}|{position[1]}|{per_page}|{include}")


def _decode_cursor(token: str) -> tuple[int, int, int, str]:
    gts, tid, per_page, include = _unb64(token).split("|", 3)
    return int(gts), int(tid), int(per_page), include
