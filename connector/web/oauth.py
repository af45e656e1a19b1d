"""Connect a vendor: the connect form, the redirect to the vendor, the callback, progress, disconnect."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.exc import IntegrityError

from connector import readmodels
from connector.installs import installs, onboarding
from connector.installs.vault import Vault, VaultError
from connector.store.repo import audit
from connector.web.access import actor, admin_required, db, settings, tenant_id

logger = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__)

PENDING_KEY = "oauth_pending"
ASK_FOR_IT = "enter the client secret of your OAuth app"  # installs.config_problems' words

ERRORS: dict[str, tuple[str, str, str]] = {
    # kind: (title, what happened, what to do)
    "denied": (
        "You did not allow access",
        "The consent screen was declined, so {vendor} gave us no access.",
        "Connect again and choose Allow. If your company's policy blocks the app, ask your {vendor} admin to "
        "approve it first.",
    ),
    "state": (
        "This sign-in link is no longer valid",
        "The answer from {vendor} did not match a connection attempt started in this browser ({detail}). "
        "This happens when the attempt is older than 10 minutes, was already used, or started in another tab.",
        "Start again from the Integrations page. If it keeps happening, allow cookies for this site.",
    ),
    "expired_code": (
        "The authorization code expired",
        "{vendor} refused the one-time code ({detail}). Codes are valid for a few minutes and only once.",
        "Start the connection again; finish it without going back or reloading the page.",
    ),
    "missing_scope": (
        "Some permissions were not granted",
        "{vendor} did not grant these scopes: {detail}. healthscore needs all of them (the connect page says why).",
        "Connect again and grant every requested permission, or ask your {vendor} admin to allow them for the app.",
    ),
    "account_in_use": (
        "This {vendor} account is connected to another workspace",
        "{vendor} account {detail} is already connected to another healthscore workspace. One {vendor} "
        "account can feed one workspace only (its app card finds the workspace by the account), so nothing "
        "was connected here and no tokens were kept.",
        "If this workspace should have it: sign in to the other workspace (or ask its admin) and disconnect "
        "{vendor} there on Admin → Integrations, then connect it here again. Otherwise connect another "
        "{vendor} account here.",
    ),
    "vendor_error": (
        "{vendor} returned an error",
        "{vendor} could not complete the connection: {detail}",
        "Check the client id, secret and URL on the connect page; if they are right, try again in a few minutes.",
    ),
}


def _apps() -> dict[str, dict[str, str]]:
    """Defaults for the connect form: app.config["OAUTH_APPS"], else instance/oauth-apps.json (the demo
    writes it from the running sandboxes with installs.oauth_apps_from_sandbox)."""
    apps: dict[str, dict[str, str]] | None = current_app.config.get("OAUTH_APPS")
    if apps is None:
        import json
        from pathlib import Path

        path = Path(settings().instance_path) / "oauth-apps.json"
        try:
            loaded = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError):
            logger.warning("ignoring unreadable %s", path)
            loaded = {}
        apps = loaded if isinstance(loaded, dict) else {}
    return apps


def _vendor(vendor: str) -> installs.VendorSpec:
    spec = installs.SPECS.get(vendor)
    if spec is None:
        abort(404, description="Unknown integration.")
    return spec


def _redirect_uri(vendor: str) -> str:
    return settings().public_base_url.rstrip("/") + url_for("oauth.callback", vendor=vendor)


def _form_config(vendor: str) -> installs.AppConfig:
    defaults = _apps().get(vendor, {})
    form = request.form
    ca_file = defaults.get("ca_file")
    if settings().env != "production" and form.get("ca_file", "").strip():
        ca_file = form["ca_file"].strip()
    return installs.AppConfig(
        vendor=vendor,
        base_url=form.get("base_url", "").strip() or defaults.get("base_url", ""),
        api_base_url=form.get("api_base_url", "").strip() or defaults.get("api_base_url", ""),
        client_id=form.get("client_id", "").strip() or defaults.get("client_id", ""),
        client_secret=form.get("client_secret", "").strip() or defaults.get("client_secret", ""),
        ca_file=ca_file or None,
    )


def _allow_form_to_vendor(vendor: str) -> None:
    """The connect form's POST is answered with a redirect to the vendor, which CSP form-action also
    checks: allow the vendor's hosts (production) or https and local sandboxes (elsewhere) on this page."""
    from flask import g

    if settings().env == "production":
        g.form_action_extra = {
            "salesforce": "https://login.salesforce.com https://test.salesforce.com https://*.my.salesforce.com "
            "https://*.sandbox.my.salesforce.com",
            "hubspot": "https://app.hubspot.com https://app-eu1.hubspot.com",
            "zendesk": "https://*.zendesk.com",
        }.get(vendor, "")
    else:
        g.form_action_extra = "https: http://127.0.0.1:* http://localhost:*"


@bp.get("/admin/integrations/<vendor>/connect")
@admin_required
def connect(vendor: str) -> Any:
    spec = _vendor(vendor)
    _allow_form_to_vendor(vendor)
    inst = readmodels.installation(db(), tenant_id(), vendor)
    defaults = _apps().get(vendor) or (_saved_form(inst) if inst is not None else {})
    return render_template(
        "oauth/connect.html",
        spec=spec,
        inst=inst,
        defaults=defaults,
        secret_saved_on=_secret_saved_on(inst, defaults),
        redirect_uri=_redirect_uri(vendor),
        show_ca=settings().env != "production",
    )


def _saved_form(inst: Any) -> dict[str, str]:
    """The connect form as the installation was connected, for Reconnect when the server configures no
    OAuth app (oauth-apps.json / OAUTH_APPS): URL and client id, never the secret. The stored base_url is the
    API base (Salesforce: the instance URL; HubSpot: the API host), so the form's own URL is taken from where
    it differs: Salesforce's login host from the token URL, HubSpot's app host for the public API host."""
    base, api = inst.base_url.rstrip("/"), ""
    if inst.vendor == "salesforce" and inst.token_url.endswith(installs.SPECS["salesforce"].token_path):
        base = inst.token_url[: -len(installs.SPECS["salesforce"].token_path)].rstrip("/")
    elif inst.vendor == "hubspot" and base == "https://api.hubapi.com":
        base, api = "https://app.hubspot.com", base
    form = {"base_url": base, "api_base_url": api, "client_id": inst.client_id}
    if settings().env != "production" and inst.ca_file:
        form["ca_file"] = inst.ca_file
    return form


def _secret_saved_on(inst: Any, defaults: Any) -> Any:
    """When the installation's client secret was saved (its last connect), if a blank secret field may keep
    it: the server configures no secret for the form and the installation has one. None otherwise."""
    if (
        inst is None
        or not inst.client_secret_enc
        or defaults.get("client_secret")
        or _apps().get(inst.vendor, {}).get("client_secret")
    ):
        return None
    from sqlalchemy import select

    from connector.store import models as m

    last = db().scalar(
        select(m.AuditEntry.created_at)
        .where(
            m.AuditEntry.tenant_id == inst.tenant_id,
            m.AuditEntry.action == "integration.connected",
            m.AuditEntry.target == inst.vendor,
        )
        .order_by(m.AuditEntry.created_at.desc())
        .limit(1)
    )
    return last or inst.created_at


CHANGED_APP_NOTE = (
    "the URL or client id differ from the saved connection, so its saved client secret is not used: enter the "
    "client secret of this OAuth app (or put back the saved URL and client id to keep the saved secret)"
)
UNREADABLE_NOTE = (
    "the saved client secret cannot be read (the encryption keys changed): enter the client secret of your "
    "OAuth app"
)


def _keep_saved_secret(vendor: str, app_config: installs.AppConfig) -> tuple[installs.AppConfig, str | None]:
    """A blank client secret on Reconnect keeps the installation's saved one: only this workspace's own
    installation (tenant from the signed-in admin's session), only with the same URL(s) and client id it
    was connected with, and only into this state-bound start (the secret goes to the encrypted pending
    attempt, never to the page or the log). (config, problem replacing 'enter the client secret')."""
    if app_config.client_secret or _apps().get(vendor, {}).get("client_secret"):
        return app_config, None
    inst = readmodels.installation(db(), tenant_id(), vendor)
    if inst is None or not inst.client_secret_enc:
        return app_config, None
    saved = _saved_form(inst)
    same = (
        app_config.client_id == saved["client_id"]
        and app_config.base_url.rstrip("/") == saved["base_url"]
        and app_config.api_base == inst.base_url.rstrip("/")
        if vendor == "hubspot"
        else app_config.client_id == saved["client_id"]
        and app_config.base_url.rstrip("/") == saved["base_url"]
        and not app_config.api_base_url
    )
    if not same:
        return app_config, CHANGED_APP_NOTE
    try:
        secret = Vault(settings()).decrypt(inst.client_secret_enc)
    except VaultError:
        return app_config, UNREADABLE_NOTE
    return dataclasses.replace(app_config, client_secret=secret), None


def _resolver() -> Any:
    """DNS for the URL guard; tests inject a fake one (no network) through app.config."""
    from webhooks.ssrf import resolve_host

    return current_app.config.get("HEALTHSCORE_RESOLVER", resolve_host)


CA_PROBLEM = (
    "the CA file cannot be used: give the path of a PEM certificate bundle in the instance folder or the "
    "sandbox's temporary folder"
)


def _ca_file_ok(path: str, default: str | None) -> bool:
    """A usable PEM bundle inside an allowed folder. Every failure reads the same to the person (one
    message), so the field cannot be used to probe which paths exist on the server."""
    import tempfile
    from pathlib import Path

    try:
        resolved = Path(path).resolve()
        roots = [Path(settings().instance_path).resolve(), Path(tempfile.gettempdir()).resolve()]
        if default:
            roots.append(Path(default).resolve().parent)
        if not any(resolved.is_relative_to(root) for root in roots):
            return False
        if not resolved.is_file() or resolved.stat().st_size > 1024 * 1024:
            return False
        return b"-----BEGIN CERTIFICATE-----" in resolved.read_bytes()
    except (OSError, ValueError):
        return False


def _url_problems(app_config: installs.AppConfig) -> list[str]:
    from connector.installs.url_guard import UnsafeVendorUrlError, check_vendor_url

    problems: list[str] = []
    for value in dict.fromkeys(u for u in (app_config.base_url, app_config.api_base_url) if u):
        try:
            check_vendor_url(
                app_config.vendor, value, production=settings().env == "production", resolver=_resolver()
            )
        except UnsafeVendorUrlError as exc:
            logger.warning("connect form URL refused for %s: %s", app_config.vendor, exc.reason)
            problems.append(str(exc))
    return problems


@bp.post("/admin/integrations/<vendor>/connect")
@admin_required
def start(vendor: str) -> Any:
    spec = _vendor(vendor)
    app_config, secret_problem = _keep_saved_secret(vendor, _form_config(vendor))
    problems = installs.config_problems(app_config)
    if secret_problem:
        problems = [secret_problem if p == ASK_FOR_IT else p for p in problems]
    if not problems:
        problems = _url_problems(app_config)
    if app_config.ca_file and not _ca_file_ok(app_config.ca_file, _apps().get(vendor, {}).get("ca_file")):
        problems.append(CA_PROBLEM)
    if problems:
        _allow_form_to_vendor(vendor)
        return (
            render_template(
                "oauth/connect.html",
                spec=spec,
                inst=None,
                defaults=request.form,
                secret_saved_on=_secret_saved_on(readmodels.installation(db(), tenant_id(), vendor), {}),
                errors=problems,
                redirect_uri=_redirect_uri(vendor),
                show_ca=settings().env != "production",
            ),
            400,
        )
    url, pending = installs.authorization_request(app_config, _redirect_uri(vendor), installs.utcnow())
    # The client secret travels with state and verifier: encrypt, as the session cookie is only signed.
    session[PENDING_KEY] = Vault(settings()).encrypt_json(pending.dump())
    return redirect(url, code=303)


def _pop_pending() -> installs.Pending | None:
    raw = session.pop(PENDING_KEY, None)  # single use: a replayed callback finds nothing
    if not raw:
        return None
    try:
        return installs.Pending.load(Vault(settings()).decrypt_json(raw))
    except (VaultError, KeyError, TypeError, ValueError):
        return None


def error_page(vendor: str, kind: str, detail: str, status: int = 400) -> Any:
    spec = installs.SPECS[vendor]
    title, what, todo = ERRORS.get(kind, ERRORS["vendor_error"])
    fmt = {"vendor": spec.label, "detail": detail or "no details given"}
    return (
        render_template(
            "oauth/error.html",
            spec=spec,
            kind=kind,
            title=title.format(**fmt),
            what=what.format(**fmt),
            todo=todo.format(**fmt),
        ),
        status,
    )


@bp.get("/oauth/<vendor>/callback")
@admin_required
def callback(vendor: str) -> Any:
    spec = _vendor(vendor)
    pending = _pop_pending()
    if pending is not None and pending.app.vendor != vendor:
        pending = None
    now = installs.utcnow()
    try:
        code = installs.check_callback(pending, request.args.to_dict(), now)
        assert pending is not None  # check_callback raised otherwise  # noqa: S101
        connected = installs.exchange(
            pending, code, now, production=settings().env == "production", resolver=_resolver()
        )
        # One workspace per HubSpot portal: the card finds its workspace by portal id alone.
        installs.check_account_free(db(), tenant_id(), vendor, connected.vendor_account)
    except installs.InstallError as exc:
        return _refused(spec, exc)
    try:
        installs.save(db(), Vault(settings()), tenant_id(), pending.app, connected)
        audit(
            db(), tenant_id(), actor(), "integration.connected", spec.vendor, account=connected.vendor_account
        )
        db().commit()
    except IntegrityError:
        # Another workspace's callback stored this portal between our check and our save (the one-workspace
        # index, migration 0011): the same refusal as the check's, not a 500.
        db().rollback()
        try:
            installs.check_account_free(db(), tenant_id(), vendor, connected.vendor_account)
        except installs.InstallError as exc:
            return _refused(spec, exc)
        raise
    run_id = onboarding.start(
        settings(), tenant_id(), vendor, background=current_app.config.get("INSTALL_IN_BACKGROUND", True)
    )
    return redirect(url_for("oauth.progress_page", vendor=vendor, run_id=run_id))


def _refused(spec: installs.VendorSpec, exc: installs.InstallError) -> Any:
    """The callback's refusal: logged, audited as connect_failed with its reason, and the error page."""
    logger.info("install of %s refused: %s", spec.vendor, exc.kind, extra={"tenant": tenant_id()})
    audit(db(), tenant_id(), actor(), "integration.connect_failed", spec.vendor, reason=exc.kind)
    db().commit()
    return error_page(spec.vendor, exc.kind, exc.detail, status=409 if exc.kind == "account_in_use" else 400)


@bp.get("/admin/integrations/<vendor>/progress/<run_id>")
@admin_required
def progress_page(vendor: str, run_id: str) -> Any:
    spec = _vendor(vendor)
    run = _run(run_id)
    return render_template(
        "oauth/progress.html",
        spec=spec,
        run=run,
        status=run_status(run),
        stopped_note=STOPPED_NOTE,
        labels=onboarding.STEP_LABELS,
        steps=onboarding.STEPS,
        resync=_set_up_before(vendor, run),
    )


def _set_up_before(vendor: str, run: Any) -> bool:
    """Whether `vendor` was set up already when `run` started: an earlier run of it since it was connected
    finished (ok or partial), or a whole pass did (a workspace set up by `healthscore demo` or the CLI has
    passes but no set-up run: its 'Sync now' read 'Setting up Zendesk … create the health fields'). Then
    the run is a sync ('Sync now', a reconnect), not the set-up."""
    inst = readmodels.installation(db(), tenant_id(), vendor)
    for earlier in readmodels.runs(db(), tenant_id(), limit=200):
        if (
            earlier.id < run.id
            and earlier.status in {"ok", "partial"}
            and (
                earlier.kind == "pass"
                or (earlier.kind == "install" and (earlier.report or {}).get("vendor") == vendor)
            )
            and (inst is None or earlier.started_at >= inst.created_at)
        ):
            return True
    return False


def _run(run_id: str) -> Any:
    found = [r for r in readmodels.runs(db(), tenant_id(), limit=200) if r.run_id == run_id]
    if not found:
        abort(404, description="No such run in your workspace.")
    return found[0]


@bp.get("/admin/runs/<run_id>.json")
@admin_required
def progress(run_id: str) -> Any:
    run = _run(run_id)
    return jsonify(
        {
            "run_id": run.run_id,
            "kind": run.kind,
            "status": run_status(run),
            "report": run.report,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    )


@bp.post("/admin/integrations/<vendor>/disconnect")
@admin_required
def disconnect(vendor: str) -> Any:
    spec = _vendor(vendor)
    found, problem, keys = installs.disconnect(db(), Vault(settings()), tenant_id(), vendor)
    if not found:
        # a second tab or a double click: the page that sent it was out of date, not the address wrong
        flash(f"{spec.label} is not connected (disconnected already?); the page below is up to date.", "info")
        return redirect(url_for("admin.integrations"), code=303)
    audit(db(), tenant_id(), actor(), "integration.disconnected", vendor, revoke_problem=problem)
    for key in keys:  # as the keys page's Revoke records it, with why
        audit(
            db(),
            tenant_id(),
            actor(),
            "api_key.revoked",
            f"key:{key.prefix}",
            name=key.name,
            reason=f"{spec.label} disconnected",
        )
    db().commit()
    named = ", ".join(f"“{k.name}”" for k in keys)
    also = (
        f" The API key{'s' if len(keys) > 1 else ''} {named} bound to it {'are' if len(keys) > 1 else 'is'} "
        f"revoked: the {spec.label} sidebar stops working until you reconnect and create a new key."
        if keys
        else ""
    )
    if problem:
        flash(
            f"{spec.label} is disconnected here, but {problem}. Remove the app in {spec.label} too.{also}",
            "warning",
        )
    else:
        flash(f"{spec.label} is disconnected and its tokens are revoked.{also}", "success")
    return redirect(url_for("admin.integrations"))


# A sync still "running" after this long died with its process: it no longer holds the next one back.
RUNNING_FOR_AT_MOST = timedelta(hours=2)
STOPPED_NOTE = (
    "No end was recorded: the process running it stopped (a restart, a crash, Ctrl+C). "
    "Nothing waits for it; the next run goes ahead as usual."
)


def run_status(run: Any) -> str:
    """A run's status as pages show it: one still 'running' after RUNNING_FOR_AT_MOST died with its process
    ('stopped'); the Integrations page and the progress page showed it as running for ever."""
    if run.status != "running":
        return str(run.status)
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    return "stopped" if started < installs.utcnow() - RUNNING_FOR_AT_MOST else "running"


def _sync_running(vendor: str) -> str | None:
    """The run id of this vendor's sync (install run) still under way for this workspace, if any."""
    since = installs.utcnow() - RUNNING_FOR_AT_MOST
    for run in readmodels.runs(db(), tenant_id(), since=since, kind="install", limit=50):
        if run.status == "running" and (run.report or {}).get("vendor") == vendor:
            return str(run.run_id)
    return None


@bp.post("/admin/integrations/<vendor>/sync")
@admin_required
def sync_now(vendor: str) -> Any:
    spec = _vendor(vendor)
    if readmodels.installation(db(), tenant_id(), vendor) is None:
        # sent from a page older than a Disconnect (another tab): say so where Connect is
        flash(f"{spec.label} is not connected, so there is nothing to sync: connect it first.", "info")
        return redirect(url_for("admin.integrations"), code=303)
    running = _sync_running(vendor)
    if running is not None:
        # One sync per vendor at a time: each click started another full sync and scoring pass on a thread
        # of the web process, so repeated clicks (or a script) piled up without bound.
        flash(f"A {spec.label} sync is already running; this is its progress.", "info")
        return redirect(url_for("oauth.progress_page", vendor=vendor, run_id=running))
    run_id = onboarding.start(
        settings(), tenant_id(), vendor, background=current_app.config.get("INSTALL_IN_BACKGROUND", True)
    )
    audit(db(), tenant_id(), actor(), "integration.sync_requested", vendor)
    db().commit()
    return redirect(url_for("oauth.progress_page", vendor=vendor, run_id=run_id))
