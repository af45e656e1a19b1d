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


def register(app: Flask) -> None:
    """Register every blueprint module of connector.web that exposes `bp` (and `init_app` if present)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _bounded_ids)
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
