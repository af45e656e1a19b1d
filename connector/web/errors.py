"""Errors as JSON problem details for the API (and for any client that asks for JSON)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import RequestRedirect as RoutingRedirect
from werkzeug.wrappers import Response as BaseResponse


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deep for the parser is a ValueError (so a 400, or None
    for `get_json(silent=True)`) instead of a RecursionError, which went out as a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


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


def _own_headers(exc: HTTPException) -> list[tuple[str, str]]:
    """The exception's own headers (405 `Allow`, 401 `WWW-Authenticate`): they belong to the answer
    whatever body replaces the default one."""
    return [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]


def _same_site_redirect() -> BaseResponse | None:
    """Werkzeug's own redirects (a missing trailing slash, merged slashes) with a relative Location.

    Werkzeug builds an absolute URL from the request's Host header, and Flask returns that redirect
    before any error handler, so `Host: evil.example` on /admin/webhooks was answered
    `308 Location: http://evil.example/admin/webhooks/` (host-header poisoning of a generated link: a
    proxy or cache keyed on the path alone hands it to others). Runs before the views, where the
    routing exception is already known."""
    from urllib.parse import urlsplit

    from flask import redirect

    exc = request.routing_exception
    if isinstance(exc, NotFound):
        return _without_trailing_slash()
    if not isinstance(exc, RoutingRedirect):
        return None
    parts = urlsplit(exc.new_url)
    path = "/" + parts.path.lstrip("/")  # never '//host': the path stays on this site
    return redirect(path + (f"?{parts.query}" if parts.query else ""), code=exc.code)


def _without_trailing_slash() -> BaseResponse | None:
    """/accounts/12/ (a typed or pasted address with a trailing slash) to /accounts/12 when that is a page;
    it was the 404 'We could not find that page', while /admin/webhooks already went on to /admin/webhooks/.
    GET and HEAD only; the Location is relative (same site, like the redirects above)."""
    from flask import redirect

    path = request.path
    if request.method not in ("GET", "HEAD") or len(path) < 2 or not path.endswith("/"):
        return None
    candidate = "/" + path.strip("/")
    try:
        current_app.url_map.bind_to_environ(request.environ).match(candidate, method=request.method)
    except HTTPException:
        return None
    query = request.query_string.decode("latin-1")
    return redirect(candidate + (f"?{query}" if query else ""), code=308)


def init_app(app: Flask) -> None:
    app.json = SafeJSONProvider(app)
    app.before_request(_same_site_redirect)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            resp = problem(exc.code or 500, code, exc.description or exc.name or "error")
            resp.headers.extend(_own_headers(exc))
            return resp
        if exc.code is None or exc.code < 400 or isinstance(exc, RoutingRedirect):
            return exc
        return (*error_page(exc.code, exc.description), _own_headers(exc))

    @app.errorhandler(500)
    def _server_error(exc: Exception) -> Any:
        # Unhandled exceptions arrive here wrapped in InternalServerError; the log has the traceback.
        if wants_json():
            return problem(500, "internal_server_error", "Something went wrong on our side.", "Try again.")
        return error_page(500, None)


PAGES: dict[int | str, tuple[str, str]] = {
    400: ("That request did not make sense", "Check the address or the form and try again."),
    401: ("Please sign in", "Sign in, then open the page again."),
    403: ("You do not have access to this page", "Ask an admin of your workspace if you need it."),
    404: ("We could not find that page", "It may have moved, or the link is wrong. Use the menu above."),
    413: ("That form is too large", "Go back, send less (fewer fields or a smaller file) and try again."),
    405: ("That action is not possible here", "Go back and use the buttons on the page."),
    # a GET of a button's address (bookmark, history, shared or typed link): say so and link the page
    "405-get": (
        "This address is a button, not a page",
        "Opening it from a bookmark, the browser's history or a link does nothing. "
        "Open the page it belongs to and use the button there.",
    ),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: (
        "Something went wrong on our side",
        "Try again in a moment; if it keeps happening, tell your admin.",
    ),
}


def page_above(path: str, *, fixed: bool = False) -> str | None:
    """The nearest page (an address that answers GET) above a button's address, for a GET of the button:
    /admin/webhooks/3/rotate → /admin/webhooks/3, /admin/users/invite → /admin/users. None when only the
    home page is above it (the error page links that anyway). `fixed`: only a page without an id in its
    address (for a 404, where the item the id names is what is missing: /admin/webhooks/99/rotate →
    /admin/webhooks/, not /admin/webhooks/99)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    parts = path.rstrip("/").split("/")
    while len(parts) > 2:
        parts.pop()
        candidate = "/".join(parts)
        try:
            _, args = adapter.match(candidate, method="GET")
        except RoutingRedirect as exc:  # the page's own address ends with a slash
            if fixed and _has_args(adapter, exc.new_url):
                continue
            return candidate + "/" if exc.new_url.endswith("/") else candidate
        except HTTPException:
            continue
        if fixed and args:
            continue
        return candidate
    return None


def _has_args(adapter: Any, url: str) -> bool:
    try:
        return bool(adapter.match(urlsplit(url).path, method="GET")[1])
    except HTTPException:
        return True


def error_page(status: int, description: str | None) -> tuple[str, int]:
    """A styled page with the navigation, what happened and what to do next (never a traceback)."""
    from flask import render_template

    page_url = None
    key: int | str = status
    if status == 405 and request.method in ("GET", "HEAD"):
        key, page_url = "405-get", page_above(request.path)
    elif status == 404:  # the list the missing item would be in, as the next step
        page_url = page_above(request.path, fixed=True)
    title, action = PAGES.get(key, (f"Error {status}", "Go back and try again."))
    generic = description is None or description.startswith(
        ("The requested URL", "The server", "The method is not allowed")
    )
    return (
        render_template(
            "error.html",
            title=title,
            message=None if generic else description,
            action=action,
            status=status,
            page_url=page_url,
            page_label="Open the page above" if status == 404 else "Open the page",
        ),
        status,
    )
