"""Blueprints of the web app; `register` wires them and the cross-cutting pieces (errors, metrics)."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from connector.web import errors, health

MAX_ID = 2**63 - 1  # BIGINT / SQLite INTEGER


def _bounded_ids() -> None:
    """A path id beyond a 64-bit row id cannot exist: 404 before any view (not an overflow, a 500)."""
    from flask import abort, request

    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            abort(404, description="No such item.")


MAX_PAGE = 10**9  # far beyond any list; (page - 1) * per_page stays inside a 64-bit OFFSET
UNSTORABLE = "The request contains a NUL character (%00, \\u0000) or a lone surrogate (\\ud800); remove it."


def _json_unstorable() -> bool:
    """A JSON body whose strings cannot be stored: NUL, or a lone UTF-16 surrogate ("\\ud800"), which no
    UTF-8 encoder accepts (a 500 on SQLite and PostgreSQL alike). Walked without recursion (deep bodies)."""
    from flask import request

    stack = [request.get_json(silent=True)]  # cached: views and signature checks see the same body
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _storable_text() -> None:
    """NUL cannot be stored or even compared in PostgreSQL text ("text fields cannot contain NUL"), so a
    %00 in any path, query, form or JSON value was a 500 on every route that reached the database
    (sign-in included); lone surrogates in JSON failed every engine. No legitimate value holds either:
    400 before any view."""
    from flask import abort, request

    values = [request.path, *(f"{k}{v}" for k, v in request.args.items(multi=True))]
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        values.extend(f"{k}{v}" for k, v in request.form.items(multi=True))
    if any("\x00" in value for value in values) or (request.is_json and _json_unstorable()):
        abort(400, description=UNSTORABLE)


def _bounded_pages() -> None:
    """A page number no list can have is 404 before the query (its OFFSET overflowed 64 bits: a 500)."""
    from flask import abort, request

    for name in ("page", "before"):
        raw = request.args.get(name, "")
        if raw.isascii() and raw.isdigit() and len(raw) < 4000 and int(raw) > MAX_PAGE:
            abort(404, description=f"There is no {name} {raw[:30]}; lists start at page 1.")


def register(app: Flask) -> None:
    """Register every blueprint module of connector.web that exposes `bp` (and `init_app` if present)."""
    app.before_request_funcs.setdefault(None, [])[0:0] = [_storable_text, _bounded_ids, _bounded_pages]
    errors.init_app(app)
    health.init_app(app)
    # Import every module first: several add routes to one shared blueprint (connector.web.blueprints), and
    # Flask refuses routes added to a blueprint after it is registered.
    modules = [
        importlib.import_module(f"connector.web.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda mod: mod.name)
        if info.name not in {"errors", "health"}
    ]
    registered: set[int] = set()
    for module in modules:
        init = getattr(module, "init_app", None)
        bp = getattr(module, "bp", None)
        if init is not None:
            init(app)
        elif bp is not None and id(bp) not in registered:
            registered.add(id(bp))
            app.register_blueprint(bp)
