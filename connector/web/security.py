"""Cross-cutting protection: CSRF on every form, login rate limits, security headers, session lifetime,
the reverse-proxy setting (ProxyFix)."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

logger = logging.getLogger(__name__)
csrf = CSRFProtect()
# Storage comes from the `ratelimit_storage_url` setting (Redis in production, shared by every worker);
# the constructor argument would override the config, so it is not passed here.
limiter = Limiter(get_remote_address, headers_enabled=True)

# Per client address: generous, so one attacker behind a NAT or proxy cannot lock everyone else out.
LOGIN_LIMIT = "30 per minute;300 per hour"
# Per account, counting failed attempts only: windows that grow like a backoff (5 a minute, then 10 per
# 10 minutes, 20 an hour, 50 a day), whatever address they come from.
ACCOUNT_LIMIT = "5 per minute;10 per 10 minutes;20 per hour;50 per day"


# Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that signed in
# to an account before carries a signed cookie naming that account; its sign-ins count against a budget of
# its own, so a guesser who knows an admin's e-mail and spends the account's budget (ACCOUNT_LIMIT) from
# elsewhere locks out unknown browsers only, never the admin's own.
DEVICE_COOKIE = "healthscore_device"
DEVICE_DAYS = 90
_DEVICE_SALT = "healthscore-device-cookie"


def _email_digest(email: str) -> str:
    from connector.installs.users import normalise_email

    # The very normalisation sign-in uses: every spelling that reaches one account counts against it.
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_DEVICE_SALT)


def device_cookie_name() -> str:
    # Over HTTPS the __Host- prefix, as for the session cookie (no cookie tossing from a sibling domain).
    secure = current_app.config["HEALTHSCORE"].public_base_url.startswith("https://")
    return f"{'__Host-' if secure else ''}{DEVICE_COOKIE}"


def _device_nonce(email: str) -> str | None:
    """The nonce of a valid device cookie this browser holds for `email`, or None (absent, forged,
    expired, or made for another account)."""
    raw = request.cookies.get(device_cookie_name())
    if not raw:
        return None
    try:
        data = _device_signer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("a") != _email_digest(email):
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) and nonce else None


def issue_device_cookie(resp: BaseResponse, email: str) -> BaseResponse:
    """After a successful sign-in: remember this browser for this account (one account per cookie)."""
    token = _device_signer().dumps({"a": _email_digest(email), "n": secrets.token_urlsafe(16)})
    secure = current_app.config["HEALTHSCORE"].public_base_url.startswith("https://")
    resp.set_cookie(
        device_cookie_name(),
        token,
        max_age=DEVICE_DAYS * 86400,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
    return resp


def account_key() -> str:
    """Rate-limit key of the account a sign-in names (hashed: e-mails never go into Redis keys); a browser
    with a valid device cookie for that account has a bucket of its own (see DEVICE_COOKIE)."""
    return _account_key_for(request.form.get("email", ""))


def _account_key_for(email: str) -> str:
    nonce = _device_nonce(email)
    if nonce is not None:
        return "login-device:" + hashlib.sha256(f"{_email_digest(email)}:{nonce}".encode()).hexdigest()[:32]
    return "login-account:" + _email_digest(email)


def failed(resp: Response) -> bool:
    return resp.status_code == 401


# The per-account budget (ACCOUNT_LIMIT) is one budget wherever the password is checked: sign-in and the
# change-password form (whose "current password" is the same secret) draw on it under one scope, so a stolen
# session cookie cannot guess the password there faster than sign-in allows (security audit 9).
ACCOUNT_SCOPE = "login-account"


def signed_in_account_key() -> str:
    """The key sign-in would count the signed-in person's attempts under: their browser's own bucket when it
    holds their device cookie (so someone spending the account's budget at sign-in does not lock the owner
    out of this form either; a stolen cookie jar gets one device's budget), else the account's."""
    from connector.web.access import current_user

    viewer = current_user()
    return _account_key_for(viewer.email if viewer is not None else "")


def wrong_current_password(_resp: Response) -> bool:
    """Set by the change-password view when the current password did not match (not for a weak new one)."""
    return bool(g.get("wrong_current_password"))


def _storage_uri(app: Flask) -> str:
    """Where rate-limit counters live; memory:// is limits' memory storage behind a lock (memory_limits)."""
    from connector.web.memory_limits import memory_uri

    settings = app.config["HEALTHSCORE"]
    if settings.ratelimit_storage_url:
        return memory_uri(str(settings.ratelimit_storage_url))
    if settings.env == "production" and settings.broker_url.startswith(("redis://", "rediss://")):
        return str(settings.broker_url)  # shared by every worker, like the task queue
    if settings.env == "production":
        logger.warning("login rate limits are per process: set HEALTHSCORE_RATELIMIT_STORAGE_URL=redis://…")
    return memory_uri("memory://")


# The in-vendor views (HubSpot card, Zendesk sidebar) may be framed by the vendors' own pages, nobody else.
EMBED_FRAME_ANCESTORS = "https://*.hubspot.com https://*.zendesk.com https://*.zdusercontent.com"


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


# Answered whatever the allow-list says: the machine's own names (a browser sends them only for a page of
# this machine, never for an attacker's re-pointed name).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST_HEADER = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?")
WRONG_HOST = (
    "This service is not served under the address you used. Use its public address, or ask its admin to "
    "add this one to HEALTHSCORE_ALLOWED_HOSTS."
)


def allowed_hosts(settings: Any) -> tuple[str, ...]:
    """The Host names the web app answers to: the `allowed_hosts` setting, else the public base URL's host
    and the loopback names."""
    if settings.allowed_hosts:
        return tuple(h.lower() for h in settings.allowed_hosts)
    public = (urlsplit(settings.public_base_url).hostname or "").lower()
    return (f"[{public}]" if ":" in public else public, *LOOPBACK_HOSTS)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """`host` (a Host header, port optional) is one of `allowed` (".example.com": its subdomains)."""
    if "*" in allowed:
        return True
    match = _HOST_HEADER.fullmatch(host.lower())
    if match is None:
        return False
    name = match.group(1)
    return any(name == ref or (ref.startswith(".") and name.endswith(ref)) for ref in allowed)


def _check_host() -> None:
    """Refuse a Host header the service is not served under (400) before anything else: a page whose own
    name an attacker re-points at this machine (DNS rebinding) is the same origin to the browser, and a
    Host someone chose never reaches a view. /healthz stays open to probes by address; /metrics too when a
    metrics token guards it (scrapers address the instance directly)."""
    from flask import abort

    settings = current_app.config["HEALTHSCORE"]
    if request.path == "/healthz" or (request.path == "/metrics" and settings.metrics_token):
        return
    # the raw header (after ProxyFix when proxies are trusted): request.host would validate it first
    if not host_allowed(request.environ.get("HTTP_HOST", ""), allowed_hosts(settings)):
        abort(400, description=WRONG_HOST)


def form_action_sources(extra: str = "") -> str:
    return f"'self' {extra}".strip()


def init_app(app: Flask) -> None:
    settings = app.config["HEALTHSCORE"]
    # Flask's defaults are 31 days and "session"; a working day and our own name are saner here.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)
    # Over HTTPS the name carries the __Host- prefix: browsers then accept the cookie only with Secure,
    # Path=/ and no Domain, so a sibling subdomain (or a plain-HTTP answer) cannot plant or overwrite it
    # (session fixation by cookie tossing). Plain HTTP (local demo) cannot use the prefix at all.
    secure = settings.public_base_url.startswith("https://")
    app.config["SESSION_COOKIE_NAME"] = f"{'__Host-' if secure else ''}healthscore_session"
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(app))
    if settings.trusted_proxies > 0:
        # Only as many proxies as the setting says: X-Forwarded-* from anyone else is ignored (no spoofed
        # client address to dodge the per-address limit).
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    # first of all: nothing else runs for a Host the service is not served under
    app.before_request_funcs.setdefault(None, []).insert(0, _check_host)
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
        # The invitation pages' own URL holds a sign-in token, the OAuth callback's a code and state: no
        # Referer at all from them (not even to us: access logs keep it).
        secret_url = request.path.startswith(("/invite/", "/oauth/")) or request.path == "/invite"
        resp.headers.setdefault("Referrer-Policy", "no-referrer" if secret_url else "same-origin")
        if settings.env == "production":
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith("/static/"):
            # Pages and API answers are per person and may carry secrets shown once (API keys, webhook
            # secrets): no browser or proxy cache keeps them (back button, shared machines).
            resp.headers.setdefault("Cache-Control", "no-store")
        # No page uses these features: none may, whatever a script or a frame asks for.
        resp.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if request.path.startswith("/embed/"):
            resp.headers.setdefault(
                "Content-Security-Policy",
                f"default-src 'none'; frame-ancestors {EMBED_FRAME_ANCESTORS}; form-action 'none'",
            )
        else:
            # A cross-origin window this app opened, or that opened it, gets no handle on it (window.opener).
            resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
            resp.headers.setdefault("X-Frame-Options", "DENY")
            # Forms post to us only; the connect page alone also lets its form go on to the vendor
            # (g.form_action_extra, set by web/oauth.py), as a form's redirect is checked too.
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "base-uri 'none'; object-src 'none'; "
                f"frame-ancestors 'none'; form-action {form_action_sources(g.get('form_action_extra', ''))}",
            )
        return resp
