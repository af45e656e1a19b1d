"""Errors as JSON problem details for the API (and for any client that asks for JSON)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException


def problem(status: int, code: str, message: str, hint: str | None = None, **extra: Any) -> Response:
    """A JSON error body {"error", "message", "hint"} (RFC 9457 fields type/title/status included)."""
    body: dict[str, Any] = {
        "error": code,
        "message": message,
        "hint": hint,
        "type": f"about:blank#{code}",
        "title": message,
        "status": status,
        **extra,
    }
    resp = jsonify(body)
    resp.status_code = status
    resp.content_type = "application/problem+json"
    return resp


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/inbound/", "/embed/api/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return problem(exc.code or 500, code, exc.description or exc.name or "error")
        return exc
