"""Cross-cutting protection: CSRF on every form, login rate limits, security headers, session lifetime."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()
# In-memory counters by default (one process); set app.config["RATELIMIT_STORAGE_URI"] = "redis://…" when
# several workers serve the app (the constructor argument would override the config, so it is not passed).
limiter = Limiter(get_remote_address, headers_enabled=True)

LOGIN_LIMIT = "10 per minute;50 per hour"


def init_app(app: Flask) -> None:
    # Flask's defaults are 31 days and "session"; a working day and our own name are saner here.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)
    app.config["SESSION_COOKIE_NAME"] = "healthscore_session"
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    csrf.init_app(app)
    limiter.init_app(app)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> tuple[str, int]:
        from flask import render_template

        return (
            render_template(
                "error.html",
                title="This form expired",
                message="The form was missing its security token or it had expired.",
                action="Go back, reload the page and submit the form again.",
            ),
            400,
        )

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/embed/"):
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; form-action 'self' https: http:",
            )
        return resp
