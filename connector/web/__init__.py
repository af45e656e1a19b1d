"""Blueprints of the web app; `register` wires them and the cross-cutting pieces (errors, metrics)."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from connector.web import errors, health


def register(app: Flask) -> None:
    """Register every blueprint module of connector.web that exposes `bp` (and `init_app` if present)."""
    errors.init_app(app)
    health.init_app(app)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda mod: mod.name):
        if info.name in {"errors", "health"}:
            continue
        module = importlib.import_module(f"connector.web.{info.name}")
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
        elif getattr(module, "bp", None) is not None:
            app.register_blueprint(module.bp)
