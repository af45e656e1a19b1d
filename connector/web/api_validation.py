"""The one request-body validation layer of the REST API: every JSON body is checked against the schema
its operation declares in the OpenAPI document (api_docs.document), before any view runs.

A view therefore sees only bodies of the declared shape (types, required fields, no unknown fields), so no
route needs its own type checks, and a wrong type is a 400 problem instead of a TypeError (a 500).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import Response, request
from jsonschema import Draft202012Validator

from connector.web.errors import problem

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
MAX_PROBLEMS = 10


def openapi_path(rule: str) -> str:
    """Flask's `/api/v1/webhooks/<int:endpoint_id>` → OpenAPI's `/api/v1/webhooks/{endpoint_id}`."""
    return _PARAM.sub(r"{\1}", rule)


@lru_cache(maxsize=64)
def _validator(path: str, method: str) -> tuple[Draft202012Validator | None, bool]:
    """(validator of the operation's JSON body or None, whether a body is required)."""
    from connector.web.api_docs import document
    from connector.web.api_schemas import SCHEMAS

    op = document_paths(document).get(path, {}).get(method, {})
    body = op.get("requestBody")
    if not body:
        return None, False
    schema = body["content"]["application/json"]["schema"]
    # Refs are "#/components/schemas/X": resolve them inside one document that carries the components.
    root = {**schema, "components": {"schemas": SCHEMAS}}
    return Draft202012Validator(root), bool(body.get("required"))


def document_paths(document: Any) -> dict[str, Any]:
    paths: dict[str, Any] = document()["paths"]
    return paths


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "…"


def validate_request() -> Response | None:
    """A 400/415 problem when the body does not match the operation's schema; None when it does."""
    if request.url_rule is None or request.method not in {"POST", "PUT", "PATCH"}:
        return None
    validator, required = _validator(openapi_path(request.url_rule.rule), request.method.lower())
    if validator is None:
        return None
    raw = request.get_data(cache=True)
    if not raw and not required:
        return None
    if not request.is_json:
        return problem(
            415, "unsupported_media_type", "Send the body as JSON.", "Set `Content-Type: application/json`."
        )
    body = request.get_json(silent=True)
    if body is None and raw.strip() != b"null":
        return problem(400, "bad_request", "The body is not valid JSON.", "Send one JSON object.")
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    problems = [
        _short(f"{'/'.join(str(p) for p in e.absolute_path) or 'body'}: {e.message}")
        for e in errors[:MAX_PROBLEMS]
    ]
    return problem(
        400,
        "invalid_body",
        "The request body does not match the API's schema.",
        "See /api/openapi.json for the fields and their types.",
        problems=problems,
    )
