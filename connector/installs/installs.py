"""OAuth installs per vendor with Authlib: authorize URL (state + PKCE S256), code exchange, save, disconnect.

The OAuth app of each vendor (client id/secret, login host, CA file for a sandbox) is `AppConfig`; the web
layer fills it from the connect form or the app's defaults and keeps it, with state and verifier, in the
user's session (encrypted) until the callback. Errors a person can act on are `InstallError(kind)`, and each
kind has a page that says what happened and what to do.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.installs import users
from connector.installs.url_guard import UnsafeVendorUrlError, check_vendor_url
from connector.installs.vault import Vault
from connector.installs.vendor_apps import (
    SPECS,
    AppConfig,
    Scope,
    VendorSpec,
    config_problems,
    oauth_apps_from_sandbox,
)
from connector.store import models as m
from connector.store import repo as store
from integrations.oauth import TokenSet, expires_after
from integrations.redirects import same_origin_redirects, vendor_session
from webhooks.ssrf import Resolver, resolve_host

__all__ = [
    "SPECS",
    "AppConfig",
    "Connected",
    "InstallError",
    "Pending",
    "Scope",
    "VendorSpec",
    "authorization_request",
    "check_account_free",
    "check_callback",
    "config_problems",
    "disconnect",
    "exchange",
    "oauth_apps_from_sandbox",
    "revoke",
    "save",
]

logger = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
TIMEOUT = 20.0


class InstallError(Exception):
    """Something in the OAuth dance a person can act on; `kind` picks the page (see web/oauth.py)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind, self.detail = kind, detail
        super().__init__(f"{kind}: {detail}" if detail else kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """What the callback needs; kept encrypted in the user's session, used once."""

    app: AppConfig
    state: str
    verifier: str
    redirect_uri: str
    created_at: str

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Pending:
        return cls(
            app=AppConfig(**data["app"]),
            state=data["state"],
            verifier=data["verifier"],
            redirect_uri=data["redirect_uri"],
            created_at=data["created_at"],
        )


def _oauth(app: AppConfig, redirect_uri: str) -> OAuth2Session:
    session = OAuth2Session(
        app.client_id,
        app.client_secret,
        scope=SPECS[app.vendor].scope_string,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
    )
    session.register_compliance_hook("access_token_response", _normalise_error_body)
    # The code, verifier and client secret are in the POST body, which a 307/308 would re-send: follow no
    # redirect away from the vetted token URL's origin (integrations.redirects).
    return same_origin_redirects(session, app.vendor)


def _normalise_error_body(resp: requests.Response) -> requests.Response:
    """HubSpot answers token errors as {"status": "BAD_AUTH_CODE", "message": …}, not RFC 6749 `error`."""
    try:
        body = resp.json()
    except ValueError:
        return resp
    if resp.status_code >= 400 and isinstance(body, dict) and "error" not in body and "status" in body:
        code = {"BAD_AUTH_CODE": "invalid_grant", "BAD_REFRESH_TOKEN": "invalid_grant"}.get(
            str(body["status"]), str(body["status"]).lower()
        )
        import json

        resp._content = json.dumps({"error": code, "error_description": body.get("message", "")}).encode()
    return resp


def authorization_request(app: AppConfig, redirect_uri: str, now: datetime) -> tuple[str, Pending]:
    """The vendor URL to send the browser to, and what to remember until it comes back."""
    verifier = generate_token(64)
    state = secrets.token_urlsafe(32)  # 256 bits; bound to this session, single use, 10 minutes
    url, _ = _oauth(app, redirect_uri).create_authorization_url(
        app.base_url.rstrip("/") + SPECS[app.vendor].authorize_path, state=state, code_verifier=verifier
    )
    return url, Pending(
        app=app, state=state, verifier=verifier, redirect_uri=redirect_uri, created_at=now.isoformat()
    )


def check_callback(pending: Pending | None, args: dict[str, str], now: datetime) -> str:
    """The code, once state and vendor answer are checked.

    Raises:
        InstallError: state (missing/mismatch/expired), denied, vendor_error, or missing code.
    """
    if pending is None or not args.get("state"):
        raise InstallError("state", "no sign-in attempt is waiting in this browser")
    if not hmac.compare_digest(pending.state.encode(), args["state"].encode()):
        raise InstallError("state", "the state does not match the one we sent")
    if now - datetime.fromisoformat(pending.created_at) > STATE_TTL:
        raise InstallError("state", "the sign-in attempt is older than 10 minutes")
    error = args.get("error")
    if error == "access_denied":
        raise InstallError("denied", "")
    if error:
        # error_description is free text from the redirect: logged (trimmed), not shown.
        logger.info(
            "vendor error on callback: %s (%s)", _log_text(error), _log_text(args.get("error_description"))
        )
        raise InstallError("vendor_error", f"the vendor reported an error ({safe_error_code(error)})")
    if not args.get("code"):
        raise InstallError("vendor_error", "the vendor sent no authorization code")
    return args["code"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected:
    tokens: TokenSet
    base_url: str
    token_url: str
    vendor_account: str | None
    granted: tuple[str, ...]


# RFC 6749 §5.2 error codes (plus HubSpot's, normalised): the only remote text a person ever sees.
KNOWN_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
        "unsupported_response_type",
        "bad_auth_code",
    }
)


def safe_error_code(error: object) -> str:
    """The vendor's error code if it is a standard one, else a neutral word (never remote free text)."""
    code = str(error or "").strip().lower()
    return code if code in KNOWN_ERRORS else "unexpected answer"


def _log_text(value: object) -> str:
    """Remote text for the log: short, printable, no secrets echoed in full."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value or ""))[:200]


def exchange(
    pending: Pending,
    code: str,
    now: datetime,
    *,
    production: bool,
    resolver: Resolver = resolve_host,
) -> Connected:
    """Trade the code (with the PKCE verifier) for tokens and learn which vendor account they belong to.

    The token URL is vetted again right before the POST (DNS may have changed since the form), and a
    Salesforce `instance_url` from the answer must pass the same guard before we store it.

    Raises:
        InstallError: expired_code, missing_scope or vendor_error (with a generic, fixed detail).
    """
    app = pending.app
    token_url = app.api_base + SPECS[app.vendor].token_path
    if app.vendor == "salesforce":
        token_url = app.base_url.rstrip("/") + SPECS[app.vendor].token_path
    try:
        check_vendor_url(app.vendor, token_url, production=production, resolver=resolver)
    except UnsafeVendorUrlError as exc:
        logger.warning("token URL of %s refused: %s", app.vendor, exc.reason)
        raise InstallError("vendor_error", str(exc)) from exc
    oauth = _oauth(app, pending.redirect_uri)
    try:
        token = oauth.fetch_token(
            token_url, code=code, code_verifier=pending.verifier, verify=app.ca_file or True, timeout=TIMEOUT
        )
    except OAuthError as exc:
        # The description is the remote body's text: logs only (trimmed), never the page.
        logger.info(
            "token exchange with %s refused: %s (%s)",
            app.vendor,
            _log_text(exc.error),
            _log_text(exc.description),
        )
        if exc.error in {"invalid_grant", "bad_auth_code"}:
            raise InstallError("expired_code", safe_error_code(exc.error)) from exc
        raise InstallError(
            "vendor_error", f"the token request was refused ({safe_error_code(exc.error)})"
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        raise InstallError(
            "vendor_error", f"the token endpoint did not answer properly ({type(exc).__name__})"
        ) from exc
    if not token.get("access_token"):
        raise InstallError("vendor_error", "the token endpoint answered without an access token")
    tokens = TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token"),
        expires_at=expires_after(now, token.get("expires_in")),  # unreadable: unknown, not a 500
        instance_url=token.get("instance_url"),
        scope=token.get("scope"),
    )
    if tokens.instance_url:
        try:
            check_vendor_url(app.vendor, tokens.instance_url, production=production, resolver=resolver)
        except UnsafeVendorUrlError as exc:
            logger.warning("instance URL from %s refused: %s", app.vendor, exc.reason)
            raise InstallError(
                "vendor_error", "the vendor answered with an instance URL we cannot use"
            ) from exc
    base_url, account, granted = _identify(app, tokens, token)
    missing = [s.name for s in SPECS[app.vendor].scopes if s.required and granted and s.name not in granted]
    if missing:
        raise InstallError("missing_scope", " ".join(missing))
    return Connected(
        tokens=tokens, base_url=base_url, token_url=token_url, vendor_account=account, granted=granted
    )


def _identify(
    app: AppConfig, tokens: TokenSet, token: dict[str, Any]
) -> tuple[str, str | None, tuple[str, ...]]:
    """(API base URL, vendor account id, granted scopes) per vendor's token response."""
    granted = tuple(str(token.get("scope") or "").split())
    if app.vendor == "salesforce":
        # `id` is https://login…/id/<orgId>/<userId>: the org id maps the tenant.
        parts = str(token.get("id", "")).rstrip("/").split("/")
        return (
            (tokens.instance_url or app.base_url).rstrip("/"),
            parts[-2] if len(parts) >= 2 else None,
            granted,
        )
    if app.vendor == "hubspot":
        try:
            info = vendor_session(app.vendor).get(
                f"{app.api_base}/oauth/v1/access-tokens/{tokens.access_token}",
                timeout=TIMEOUT,
                verify=app.ca_file or True,
            )
            data = info.json() if info.ok else {}
        except (requests.RequestException, ValueError):
            data = {}
        hub = data.get("hub_id")
        return app.api_base, str(hub) if hub else None, tuple(data.get("scopes") or granted)
    host = urlsplit(app.base_url).hostname or ""
    try:
        ipaddress.ip_address(host)  # a sandbox or proxy on an IP: no subdomain to speak of
        account = urlsplit(app.base_url).netloc
    except ValueError:
        account = host.split(".")[0] if host.count(".") >= 2 else host
    return app.base_url.rstrip("/"), account, granted


# Vendors whose signed requests find their workspace by the vendor account alone (the HubSpot card: portal
# id → installation, readmodels.installation_by_vendor_account). Such an account may be connected to one
# workspace only, or one workspace's card could show another's scores. Zendesk and Salesforce requests name
# their workspace in the URL, and one Zendesk may serve several workspaces (the demo's two tenants share one).
ONE_WORKSPACE_PER_ACCOUNT = frozenset({"hubspot"})


def check_account_free(session: Session, tenant_id: int, vendor: str, vendor_account: str | None) -> None:
    """Refuse to connect a vendor account that another workspace has connected (not disconnected).

    Raises:
        InstallError: account_in_use (detail: the vendor account id, which the person just signed in to).
    """
    if vendor not in ONE_WORKSPACE_PER_ACCOUNT or not vendor_account:
        return
    elsewhere = session.scalar(
        select(m.Installation.id)
        .where(
            m.Installation.vendor == vendor,
            m.Installation.vendor_account == vendor_account,
            m.Installation.tenant_id != tenant_id,
            m.Installation.status != "disconnected",
        )
        .limit(1)
    )
    if elsewhere is not None:
        raise InstallError("account_in_use", vendor_account)


def save(session: Session, vault: Vault, tenant_id: int, app: AppConfig, conn: Connected) -> m.Installation:
    """Store the install with tokens and client secret encrypted (store.save_installation).

    Raises:
        sqlalchemy.exc.IntegrityError: another workspace stored this HubSpot portal since
            `check_account_free` ran (the one-workspace index, migration 0011); the caller rolls back.
    """
    inst = store.save_installation(
        session,
        vault,
        tenant_id=tenant_id,
        vendor=app.vendor,
        base_url=conn.base_url,
        token_url=conn.token_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        tokens=conn.tokens,
        ca_file=app.ca_file,
        vendor_account=conn.vendor_account,
    )
    inst.account_shared = False  # (re)connected: the one-workspace constraint holds for it from now on
    session.flush()
    return inst


def revoke(inst: m.Installation, vault: Vault) -> str | None:
    """Revoke the tokens at the vendor; returns a problem text, or None when the vendor confirmed."""
    if not inst.tokens_enc:
        return None
    tokens = store.token_from_dict(vault.decrypt_json(inst.tokens_enc))
    verify: Any = inst.ca_file or True
    http = vendor_session(inst.vendor)  # the token travels in the body or URL: same-origin redirects only
    try:
        if inst.vendor == "salesforce":
            base = (tokens.instance_url or inst.base_url).rstrip("/")
            resp = http.post(
                f"{base}/services/oauth2/revoke",
                data={"token": tokens.refresh_token or tokens.access_token},
                timeout=TIMEOUT,
                verify=verify,
            )
        elif inst.vendor == "hubspot":
            resp = http.delete(
                f"{inst.base_url.rstrip('/')}/oauth/v1/refresh-tokens/{tokens.refresh_token}",
                timeout=TIMEOUT,
                verify=verify,
            )
        else:
            resp = http.delete(
                f"{inst.base_url.rstrip('/')}/api/v2/oauth/tokens/current.json",
                headers={"Authorization": f"Bearer {tokens.access_token}"},
                timeout=TIMEOUT,
                verify=verify,
            )
    except requests.RequestException as exc:
        return f"could not reach {SPECS[inst.vendor].label} to revoke ({type(exc).__name__})"
    if resp.status_code in {200, 204}:
        return None
    return f"{SPECS[inst.vendor].label} answered {resp.status_code} to the revoke request"


def disconnect(
    session: Session, vault: Vault, tenant_id: int, vendor: str
) -> tuple[bool, str | None, list[m.ApiKey]]:
    """Revoke at the vendor, then delete the install here (cursors go with it), and revoke the API keys
    bound to it (the Zendesk sidebar's: they must stop with it). (found, revoke problem, keys revoked)."""
    inst = session.scalar(
        select(m.Installation).where(m.Installation.tenant_id == tenant_id, m.Installation.vendor == vendor)
    )
    if inst is None:
        return False, None, []
    problem = revoke(inst, vault)
    keys = users.revoke_installation_keys(session, tenant_id, inst.id)
    session.execute(
        delete(m.Installation).where(m.Installation.id == inst.id, m.Installation.tenant_id == tenant_id)
    )
    if inst.account_shared:  # a portal shared from before migration 0011: if one workspace is left, guard it
        _unshare_if_alone(session, inst.vendor, inst.vendor_account)
    return True, problem, keys


def _unshare_if_alone(session: Session, vendor: str, vendor_account: str | None) -> None:
    live = (
        m.Installation.vendor == vendor,
        m.Installation.vendor_account == vendor_account,
        m.Installation.status != "disconnected",
    )
    left = list(session.scalars(select(m.Installation).where(*live).limit(2)))
    if len(left) == 1:
        left[0].account_shared = False


def utcnow() -> datetime:
    return datetime.now(UTC)
