"""Admin pages: integrations, unmatched review, users, API keys, audit log (model editing: admin_model.py;
plays: admin_plays.py; the CRM write-back rule: admin_write_rule.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.installs import installs
from connector.installs import users as auth
from connector.store.repo import audit
from connector.web import blueprints, reveals
from connector.web.access import actor, admin_required, current_user, db, settings, tenant_id

bp = blueprints.admin


@bp.get("/")
@admin_required
def index() -> Any:
    return redirect(url_for("admin.integrations"))


@bp.get("/integrations")
@admin_required
def integrations() -> Any:
    return integrations_page()


def integrations_page(status: int = 200, **extra: Any) -> Any:
    """The Integrations page; `extra` for a refused form shown again (admin_write_rule: `write_rule_form`)."""
    insts = {i.vendor: i for i in readmodels.installations(db(), tenant_id())}
    runs = readmodels.runs(db(), tenant_id(), limit=10)
    last_install = {}
    for r in runs:
        vendor = (r.report or {}).get("vendor")
        if r.kind == "install" and vendor and vendor not in last_install:
            last_install[vendor] = r
    shared = readmodels.accounts_shared_elsewhere(db(), tenant_id()) & installs.ONE_WORKSPACE_PER_ACCOUNT
    shown = reveals.take("salesforce_inbound")
    sf = insts.get("salesforce")
    stored = (sf.settings or {}) if sf is not None else {}
    from connector.web.oauth import STOPPED_NOTE, run_status

    return render_template(
        "admin/integrations.html",
        specs=installs.SPECS,
        insts=insts,
        runs=runs,
        run_status={r.run_id: run_status(r) for r in runs},
        stopped_note=STOPPED_NOTE,
        last_install=last_install,
        shared=shared,
        inbound_set=bool(stored.get("inbound_token_enc") or stored.get("inbound_token")),
        inbound_url=(shown.payload or {}).get("url"),
        inbound_replaced=(shown.payload or {}).get("replaced", True),
        reveal_notice=shown.notice,
        **extra,
    ), status


@bp.post("/integrations/salesforce/rotate-inbound")
@admin_required
def rotate_inbound() -> Any:
    """A new token in the Salesforce inbound URL (the Outbound Messages' endpoint): the old URL is refused
    from the commit on (this process at once, other web processes within inbound.INSTALL_TTL_S). The new
    URL is shown once, by the GET after this POST."""
    import secrets

    from connector.installs.vault import Vault
    from connector.realtime import inbound
    from connector.store import models as m

    inst = readmodels.installation(db(), tenant_id(), "salesforce")
    if inst is None or inst.status == "disconnected":
        # a page from before a Disconnect (another tab): Integrations says so and offers Connect
        flash("Salesforce is not connected, so it has no inbound URL: connect it first.", "info")
        return redirect(url_for("admin.integrations"), code=303)
    had = bool(inbound.inbound_token(inst, Vault(settings())))
    token = secrets.token_urlsafe(32)
    inbound.set_inbound_token(inst, Vault(settings()), token)
    tenant = db().get(m.Tenant, tenant_id())
    slug = tenant.slug if tenant is not None else ""
    url = settings().public_base_url.rstrip("/") + url_for("inbound.salesforce", slug=slug, token=token)
    audit(db(), tenant_id(), actor(), "integration.inbound_url_rotated", "salesforce", replaced=had)
    reveal_id = reveals.keep("salesforce_inbound", url=url, replaced=had)
    db().commit()
    # To the URL shown once (top of the page), not the card below it: on a phone the card's anchor
    # scrolled the only copy of the new URL out of view.
    return redirect(url_for("admin.integrations", reveal=reveal_id, _anchor="inbound-url"), code=303)


@bp.get("/review")
@admin_required
def review() -> Any:
    """Unmatched organizations with their likeliest CRM accounts (reason + confidence). Nothing below the
    chosen confidence is preselected; each row searches on its own (`row` + `q`)."""
    from connector.readmodels import review as rq

    threshold, problems = _review_threshold(request.args.get("min"), rq.DEFAULT_THRESHOLD)
    q = (request.args.get("q") or "").strip()[:100]
    row = request.args.get("row", type=int)
    rows = readmodels.review_queue(db(), tenant_id())
    shown = rows[:50]
    search = {row: q} if row is not None and q else {}
    cands = rq.candidates(
        db(), tenant_id(), [(r.source_id, r.source_name, r.source_domains) for r in shown], search=search
    )
    return render_template(
        "admin/review.html",
        rows=shown,
        total=len(rows),
        cands=cands,
        threshold=threshold,
        q=q,
        row=row,
        decisions=rq.recent_decisions(db(), tenant_id()),
        problems=problems,
    ), 400 if problems else 200


REVIEW_NEVER = 1.01  # the filter's "never" choice: above every confidence, so nothing is preselected


def _review_threshold(raw: str | None, default: float) -> tuple[float, list[str]]:
    """The review page's `min` (a confidence from 0 to 1, or the "never" choice), or the default with what
    was wrong with it: a typed or edited link (`min=abc`, `min=60` for 60 %) was used silently (abc as
    the default, 60 as 100 %), and "never" was clamped to 1, preselecting every 100 % suggestion."""
    import math

    if raw is None or not raw.strip():
        return default, []
    shown = f"{default * 100:.0f} %"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return default, [
            f"“{raw[:40]}” is not a confidence: use a number from 0 to 1 (0.6 is 60 %). Showing {shown}."
        ]
    if 1 < value <= REVIEW_NEVER:
        return REVIEW_NEVER, []
    if not 0 <= value <= 1:
        hint = f" (for {value:g} % use {value / 100:g})" if 1 < value <= 100 else ""
        return default, [f"{raw.strip()[:40]} is not a confidence from 0 to 1{hint}. Showing {shown}."]
    return value, []


@bp.post("/review/<int:source_id>")
@admin_required
def decide(source_id: int) -> Any:
    raw = request.form.get("crm_account_id", "").strip()
    decision = request.form.get("decision", "link")
    if decision == "none":
        target = None
    else:
        try:
            target = int(raw)
        except ValueError:
            flash("Pick the CRM account this organization belongs to (or search for it in its row).", "error")
            return redirect(url_for("admin.review", _anchor=f"review-{source_id}"), code=303)
    try:
        admin_actions.decide_link(db(), tenant_id(), source_id, target, actor())
    except LookupError:
        abort(404, description="That organization or account is not in your workspace.")
    db().commit()
    flash(
        "Saved. This decision sticks: automatic matching will not change it. Undo it below if it was a mistake.",
        "success",
    )
    return redirect(url_for("admin.review", min=request.form.get("min") or None), code=303)


@bp.post("/review/<int:source_id>/undo")
@admin_required
def undo_decision(source_id: int) -> Any:
    try:
        admin_actions.undo_link(db(), tenant_id(), source_id, actor())
    except LookupError:
        flash("There is no decision on that organization to undo.", "error")
        return redirect(url_for("admin.review"), code=303)
    db().commit()
    flash("Undone: the organization is back as it was before the decision.", "success")
    return redirect(url_for("admin.review", _anchor=f"review-{source_id}"), code=303)


@bp.get("/users")
@admin_required
def users() -> Any:
    shown = reveals.take("invitation")
    payload = shown.payload or {}
    return render_template(
        "admin/users.html",
        users=readmodels.users(db(), tenant_id()),
        key_warnings=readmodels.key_warnings(db(), tenant_id()),
        status=auth.status,
        roles=auth.ROLES,
        invite_link=payload.get("link"),
        invited=payload.get("email"),
        renewed=payload.get("renewed", False),
        reset=payload.get("reset", False),
        invite_days=auth.INVITE_TTL.days,
        reveal_notice=shown.notice,
    )


@bp.post("/users/invite")
@admin_required
def invite() -> Any:
    try:
        user, token = auth.invite(
            db(), tenant_id(), request.form.get("email", ""), request.form.get("role", "viewer")
        )
    except auth.AuthError as exc:
        return render_template(
            "admin/users.html",
            users=readmodels.users(db(), tenant_id()),
            key_warnings=readmodels.key_warnings(db(), tenant_id()),
            status=auth.status,
            roles=auth.ROLES,
            errors=exc.problems,
            form=request.form,
            invite_days=auth.INVITE_TTL.days,
        ), 400
    audit(db(), tenant_id(), actor(), "user.invited", user.email, role=user.role)
    return _show_link_once(user.email, token)


def _show_link_once(email: str, token: str, **kind: bool) -> Any:
    """Commit, then show a sign-in link on the users page once. Post/Redirect/Get: the GET shows it, so a
    reload does not send the form again; `kind` tells the page which words to use (renewed, reset)."""
    link = settings().public_base_url.rstrip("/") + url_for("auth.accept", token=token)
    reveal_id = reveals.keep("invitation", link=link, email=email, **kind)
    db().commit()
    return redirect(url_for("admin.users", reveal=reveal_id), code=303)


@bp.post("/users/<int:user_id>/new-invite-link")
@admin_required
def renew_invite(user_id: int) -> Any:
    """A new link for an invitation nobody accepted yet (the link was lost, or it expired): the old link
    stops working and the new one is shown once, as a new invitation's is."""
    try:
        user, token = auth.renew_invite(db(), tenant_id(), user_id)
    except auth.AuthError as exc:
        flash("; ".join(exc.problems) + ". The list below is up to date.", "error")
        return redirect(url_for("admin.users"), code=303)
    audit(db(), tenant_id(), actor(), "user.invite_renewed", user.email, role=user.role)
    # a reset's link renewed is still a sign-in link for an account, not an invitation
    return _show_link_once(user.email, token, renewed=True, reset=auth.status(user) == auth.RESET)


@bp.post("/users/<int:user_id>/reset-password")
@admin_required
def reset_password(user_id: int) -> Any:
    """A person who forgot their password: it is cleared, their sessions end, and a new sign-in link is
    shown once (an invitation link: they choose a new password on it). Not for the admin's own account."""
    viewer = current_user()
    by = viewer.id if viewer is not None else 0
    try:
        user, token = auth.reset_password(db(), tenant_id(), user_id, by_user_id=by)
    except auth.AuthError as exc:
        flash("; ".join(exc.problems) + ".", "error")
        return redirect(url_for("admin.users"), code=303)
    audit(db(), tenant_id(), actor(), "user.password_reset", user.email, role=user.role)
    return _show_link_once(user.email, token, reset=True)


@bp.post("/users/<int:user_id>/role")
@admin_required
def set_role(user_id: int) -> Any:
    try:
        user = auth.set_role(db(), tenant_id(), user_id, request.form.get("role", ""))
    except auth.AuthError as exc:
        flash("; ".join(exc.problems), "error")
        return redirect(url_for("admin.users"), code=303)
    audit(db(), tenant_id(), actor(), "user.role_changed", user.email, role=user.role)
    revoked = auth.revoke_creator_keys(db(), tenant_id(), user, user.role, actor())
    db().commit()
    flash(
        (
            f"{user.email} is now {auth.ROLE_LABELS.get(user.role, user.role)}; their open sessions ended. "
            + auth.revoked_keys_sentence(revoked)
        ).rstrip(),
        "success",
    )
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/remove")
@admin_required
def remove_user(user_id: int) -> Any:
    """Remove a person: their sessions end at once (the next request with their cookie signs them out)."""
    revoked: list[Any] = []
    try:
        user = auth.remove_user(
            db(),
            tenant_id(),
            user_id,
            before_delete=lambda u: revoked.extend(
                auth.revoke_creator_keys(db(), tenant_id(), u, None, actor())
            ),
        )
    except auth.AuthError as exc:
        flash("; ".join(exc.problems), "error")
        return redirect(url_for("admin.users"), code=303)
    audit(db(), tenant_id(), actor(), "user.removed", user.email)
    db().commit()
    flash(
        f"{user.email} is removed and signed out everywhere. {auth.revoked_keys_sentence(revoked)}".rstrip(),
        "success",
    )
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/cancel-invite")
@admin_required
def cancel_invite(user_id: int) -> Any:
    """Withdraw an invitation nobody accepted yet: the link stops working (the pending user is deleted)."""
    try:
        email = auth.cancel_invite(db(), tenant_id(), user_id).email
    except auth.AuthError as exc:
        problems = "; ".join(exc.problems)
        flash(problems[:1].upper() + problems[1:] + ".", "error")
        return redirect(url_for("admin.users"), code=303)
    audit(db(), tenant_id(), actor(), "user.invite_cancelled", email)
    db().commit()
    flash(f"The invitation for {email} is cancelled; its link no longer works.", "success")
    return redirect(url_for("admin.users"), code=303)


def _creators() -> dict[int, str]:
    """Who created each of the workspace's keys, in words (the keys page's "Created by")."""
    return readmodels.key_creators(db(), tenant_id(), readmodels.api_keys(db(), tenant_id()))


@bp.get("/keys")
@admin_required
def keys() -> Any:
    shown = reveals.take("api_key")
    return render_template(
        "admin/keys.html",
        keys=readmodels.api_keys(db(), tenant_id()),
        creators=_creators(),
        scopes=auth.API_KEY_SCOPES,
        expiry_days=auth.API_KEY_EXPIRY_DAYS,
        new=shown.payload,
        reveal_notice=shown.notice,
    )


def _key_twin_answer(name: str, scope: str) -> Any | None:
    """The answer when a live key of this name exists already (None when none does)."""
    twin = auth.live_key_named(db(), tenant_id(), name) if name.strip() else None
    if twin is None:
        return None
    if twin.scope == scope:
        # the same Create form sent twice (a double click, a resubmitted reload): no second key; the
        # first sending's answer showed the secret, which is never shown again
        flash(
            f"A key named “{twin.name}” (hsk_{twin.prefix}_…) already exists, so no second one was made. "
            "Its secret is shown only once, when it is created: if you did not copy it, revoke that key "
            "and create it again (to replace a key still in use, create the new one under another name first).",
            "info",
        )
        return redirect(url_for("admin.keys"), code=303)
    return render_template(
        "admin/keys.html",
        keys=readmodels.api_keys(db(), tenant_id()),
        creators=_creators(),
        scopes=auth.API_KEY_SCOPES,
        expiry_days=auth.API_KEY_EXPIRY_DAYS,
        form=request.form,
        errors=[
            f"There is already a key named “{twin.name}” (scope {twin.scope}): give this one another "
            "name, so the list tells them apart when you revoke one."
        ],
    ), 400


@bp.post("/keys")
@admin_required
def create_key() -> Any:
    name, scope = request.form.get("name", ""), request.form.get("scope", "read")
    expires = request.form.get("expires", "never").strip()
    # never (the default, as before expiry existed) or 30/90/365 days; anything else is refused as such
    numeric = expires.isascii() and expires.isdigit() and len(expires) < 6  # not '²' (int() refuses it)
    expires_days = None if expires in {"", "never"} else int(expires) if numeric else -1
    if (answer := _key_twin_answer(name, scope)) is not None:
        return answer
    try:
        maker = current_user()
        new = auth.create_api_key(
            db(),
            tenant_id(),
            name,
            scope,
            expires_days=expires_days,
            created_by=maker.id if maker is not None else None,
        )
    except IntegrityError:
        # The same form sent at the same instant: the other sending inserted its key between our check and
        # our insert, and the database's one-name index (migration 0012) refused ours. Answer as the check.
        db().rollback()
        if (answer := _key_twin_answer(name, scope)) is not None:
            return answer
        raise
    except auth.AuthError as exc:
        return render_template(
            "admin/keys.html",
            keys=readmodels.api_keys(db(), tenant_id()),
            creators=_creators(),
            scopes=auth.API_KEY_SCOPES,
            expiry_days=auth.API_KEY_EXPIRY_DAYS,
            errors=exc.problems,
            form=request.form,
        ), 400
    audit(
        db(),
        tenant_id(),
        actor(),
        "api_key.created",
        f"key:{new.prefix}",
        scope=new.scope,
        expires_days=expires_days,
    )
    # Post/Redirect/Get: the secret is shown by the GET, once (a reload does not send the form again)
    reveal_id = reveals.keep("api_key", name=new.name, prefix=new.prefix, secret=new.secret)
    db().commit()
    return redirect(url_for("admin.keys", reveal=reveal_id), code=303)


@bp.post("/keys/<int:key_id>/revoke")
@admin_required
def revoke_key(key_id: int) -> Any:
    if not auth.revoke_api_key(db(), tenant_id(), key_id):
        if any(k.id == key_id and k.revoked_at for k in readmodels.api_keys(db(), tenant_id())):
            flash("That key was already revoked.", "info")  # a second tab or a double click
            return redirect(url_for("admin.keys"), code=303)
        abort(404, description="No such active key in your workspace.")
    key = next(k for k in readmodels.api_keys(db(), tenant_id()) if k.id == key_id)
    # the key's prefix, as its api_key.created entry names it (its id said nothing to a reader)
    audit(db(), tenant_id(), actor(), "api_key.revoked", f"key:{key.prefix}", name=key.name)
    db().commit()
    flash("The key is revoked; requests with it now get 401.", "success")
    return redirect(url_for("admin.keys"), code=303)


AUDIT_PAGE = 50


@bp.get("/audit")
@admin_required
def audit_log() -> Any:
    """Who changed what: filter by person, kind of change, target text and dates; 50 a page."""
    from datetime import UTC, date, datetime, timedelta

    from connector.web.ui_support import FIRST_DAY, LAST_DAY

    problems: list[str] = []

    def day(name: str) -> datetime | None:
        raw = (request.args.get(name) or "").strip()
        if not raw:
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            problems.append(f"{raw!r} is not a date; use YYYY-MM-DD.")
            return None
        if not FIRST_DAY <= value <= LAST_DAY:  # 9999-12-31 + 1 day overflows
            problems.append(f"{raw} is out of range; pick a date between {FIRST_DAY} and {LAST_DAY}.")
            return None
        return datetime.combine(value, datetime.min.time(), tzinfo=UTC)

    since, until = day("from"), day("to")
    filters: dict[str, Any] = {
        "actor": request.args.get("actor") or None,
        "action": request.args.get("action") or None,
        "q": (request.args.get("q") or "").strip()[:100] or None,
        "since": since,
        "until": until + timedelta(days=1) if until else None,
    }
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = readmodels.audit_count(db(), tenant_id(), **filters)
    pages = max(1, -(-total // AUDIT_PAGE))
    status = 400 if problems else 200
    if total and page > pages:
        problems.append(f"Page {page} does not exist: there are {pages}.")
        status = 404
    entries = readmodels.audit_log(
        db(), tenant_id(), limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE, **filters
    )
    actors, actions = readmodels.audit_facets(db(), tenant_id())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        args=args,
        actors=actors,
        actions=actions,
        kinds=sorted({a.split(".")[0] + "." for a in actions}),
        shown=readmodels.audit_shown(db(), tenant_id(), entries),
        problems=problems,
    ), status


# The model editor's routes live on this blueprint but in their own module (kept small).
