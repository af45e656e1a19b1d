"""The API reference, rendered by Swagger UI served from our own static files (no CDN)."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, url_for

from connector.web.blueprints import ui as bp

# Swagger UI sets inline styles and shows data: images; everything else stays 'self' as on every page.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"
)


@bp.get("/docs/api")
def api_docs() -> Any:
    resp = make_response(render_template("ui/api_docs.html", spec_url=url_for("api.openapi")))
    resp.headers["Content-Security-Policy"] = DOCS_CSP
    return resp
