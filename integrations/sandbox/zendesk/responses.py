"""Response helpers shared by the Zendesk route modules: pre-serialised JSON pages, Zendesk error bodies,
base64 cursors, integer arguments and scripted faults in Zendesk's own format.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from flask import Response, jsonify, request

from integrations.sandbox.context import Fault
from integrations.sandbox.zendesk.state import _INVALID_TOKEN

# ---------------------------------------------------------------------------------- pre-serialised pages


class _Raw(list[str]):
    """Items that are already JSON text: the cache keeps renderings serialised (a string is a fraction of
    the memory of its dicts, and a page is then a join instead of an encode of 1,000 nested objects)."""


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _dumped(render: Any) -> Any:
    return lambda t: _dump(render(t))


def _dumped_users(users: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(int(u["id"]), _dump(u)) for u in users]


def _json_response(body: dict[str, Any]) -> Response:
    """A JSON object whose `_Raw` values are spliced in as arrays of pre-serialised items."""
    fields = [
        f"{_dump(k)}:[{','.join(v)}]" if isinstance(v, _Raw) else f"{_dump(k)}:{_dump(v)}"
        for k, v in body.items()
    ]
    return Response("{" + ",".join(fields) + "}", mimetype="application/json")


# ------------------------------------------------------------------------------------------ small helpers


def _err(status: int, error: str, description: str, **extra: Any) -> Response:
    resp = jsonify({"error": error, "description": description, **extra})
    resp.status_code = status
    return resp


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


def _render_fault(fault: Fault) -> Response | None:
    if fault.kind == "rate_limit":
        resp = _err(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
        resp.headers["Retry-After"] = str(int(fault.retry_after))
        return resp
    if fault.kind == "server_error":
        if fault.status == 503:  # Zendesk's maintenance/overload page is not JSON
            return Response("Service Unavailable", status=503, mimetype="text/plain")
        return _err(fault.status, "InternalServerError", fault.message or "Something went wrong")
    if fault.kind in ("slow", "timeout"):
        time.sleep(fault.delay)
        if fault.kind == "timeout":
            return Response("Gateway Timeout", status=504, mimetype="text/plain")
        return None
    if fault.kind == "expired_token":
        resp = jsonify(_INVALID_TOKEN)
        resp.status_code = 401
        return resp
    if fault.kind == "malformed_page":
        if fault.message == "shape":
            return jsonify({"unexpected": "shape", "count": None})
        return Response('{"tickets": [{"id": 1, "subject": "trunc', status=200, mimetype="application/json")
    if fault.kind == "quota":
        return _err(429, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
    return None  # revoked_refresh / reject_rows are read inside their handlers
