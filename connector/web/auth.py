"""Sign-in, sign-out and accepting an invitation (people of a tenant; API keys live in api.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for

from connector.installs import users as auth
from connector.store.repo import audit
from connector.web.access import close_db, current_user, db, login_required, sign_in, sign_out
from connector.web.security import (
    ACCOUNT_LIMIT,
    ACCOUNT_SCOPE,
    LOGIN_LIMIT,
    account_key,
    failed,
    issue_device_cookie,
    limiter,
    signed_in_account_key,
    wrong_current_password,
)

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.teardown_appcontext(close_db)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"viewer": current_user()}


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirect through ?next=."""
    if not target:
        return url_for("ui.portfolio")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui.portfolio")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@limiter.shared_limit(
    ACCOUNT_LIMIT, scope=ACCOUNT_SCOPE, methods=["POST"], key_func=account_key, deduct_when=failed
)
def login() -> Any:
    if request.method == "GET":
        viewer = current_user()
        if viewer is not None:
            # signed in already (a bookmark, an old tab's Sign in link): the sign-in form under a bar that
            # names them read as if they were signed out; go where signing in would have gone
            flash(f"You are signed in as {viewer.email}. To use another account, sign out first.", "info")
            onward = request.args.get("next") or (
                url_for("ui.support") if viewer.role == "support_lead" else ""
            )
            return redirect(_safe_next(onward))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    user = auth.authenticate(db(), email, password) if email and password else None
    if user is None:
        return (
            render_template(
                "auth/login.html",
                next=request.form.get("next", ""),
                email=email,
                error="That e-mail and password do not match. Check both, or ask your admin for an invitation.",
            ),
            401,
        )
    audit(db(), user.tenant_id, user.email, "user.sign_in")
    sign_in(user)
    db().commit()
    target = request.form.get("next")
    if not target and user.role == "support_lead":
        target = url_for("ui.support")  # a support lead's day starts at the ticket workbench
    return issue_device_cookie(redirect(_safe_next(target)), user.email)


@bp.get("/logout")
@bp.get("/logout/everywhere")
def logout_page() -> Any:
    """/logout typed, bookmarked or in the history: a page with the sign-out buttons instead of 'That action
    is not possible here'. Signing out stays a POST with a CSRF token: a link elsewhere cannot sign anyone
    out."""
    if current_user() is None:
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html")


@bp.post("/logout")
def logout() -> Any:
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
def logout_everywhere() -> Any:
    """End every session of this person (a lost laptop, a shared computer): all cookies stop working."""
    viewer = current_user()
    if viewer is not None:
        audit(db(), viewer.tenant_id, viewer.email, "user.signed_out_everywhere")
    sign_out(everywhere=True)
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])  # it checks a password: guessing it is slowed as at sign-in
# ... and per account, on sign-in's own budget: a wrong current password counts as a failed sign-in
@limiter.shared_limit(
    ACCOUNT_LIMIT,
    scope=ACCOUNT_SCOPE,
    methods=["POST"],
    key_func=signed_in_account_key,
    deduct_when=wrong_current_password,
)
@login_required
def change_password() -> Any:
    """The signed-in person changes their own password (the current one is asked). Their other sessions
    end (a stolen cookie, a computer left signed in); this one stays signed in, on a fresh session."""
    from connector.store import models as m

    if request.method == "GET":
        return render_template("auth/password.html")
    viewer = current_user()
    user = db().get(m.User, viewer.id) if viewer is not None else None
    if user is None:  # pragma: no cover - login_required found them a moment ago
        return redirect(url_for("auth.login"))
    try:
        auth.change_password(
            db(),
            user,
            request.form.get("current", ""),
            request.form.get("password", ""),
            request.form.get("confirm", ""),
        )
    except auth.AuthError as exc:
        # a wrong current password spends one of the account's sign-in attempts (ACCOUNT_LIMIT)
        g.wrong_current_password = isinstance(exc, auth.WrongPasswordError)
        # nothing else is typed on this form: the passwords are not sent back into the page
        return render_template("auth/password.html", errors=exc.problems), 400
    audit(db(), user.tenant_id, user.email, "user.password_changed")
    auth.end_all_sessions(db(), user.id)
    sign_in(user)  # a fresh session for this browser: the old id, wherever it was copied, opens nothing
    db().commit()
    flash(
        "Your password is changed. You are signed out everywhere else; sign in there with the new one.",
        "success",
    )
    return redirect(url_for("ui.portfolio"))


def _invitee(token: str) -> dict[str, str] | None:
    """Who the link is for (e-mail, workspace name): the e-mail is how they sign in from now on."""
    from connector.store import models as m

    user = auth.invited(db(), token)
    if user is None:
        return None
    tenant = db().get(m.Tenant, user.tenant_id)
    # someone who had a password and whose admin made them a new sign-in link (forgot their password)
    returning = "yes" if auth.status(user) == auth.RESET else ""
    return {
        "email": user.email,
        "workspace": tenant.name if tenant is not None else "",
        "returning": returning,
    }


# The invitation token travels in the link's path (/invite/<token>). Opening it keeps the token in this
# browser's session and the page moves the address bar to /invite/ (app.js, data-replace-url), whose form
# posts there: the token leaves the address bar, the history and every later request's Referer and path
# (security audit 10). The pages also send Referrer-Policy: no-referrer (security.py).
INVITE_SESSION_KEY = "invite_token"


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def accept(token: str) -> Any:
    return _accept(token)


@bp.route("/invite/", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def accept_pending() -> Any:
    """The invitation opened in this browser (its link put the token in the session)."""
    from flask import session

    token = session.get(INVITE_SESSION_KEY)
    if not isinstance(token, str) or not token:
        errors = ["this page needs the link from your invitation; open that link again"]
        return render_template("auth/invite.html", errors=errors, dead=True), 400
    return _accept(token)


def _accept(token: str) -> Any:
    from flask import session

    clean = url_for("auth.accept_pending")
    if request.method == "GET":
        problems = auth.invite_problems(db(), token)
        if problems:  # say so before a password is chosen, and offer no form that cannot work
            session.pop(INVITE_SESSION_KEY, None)
            return render_template("auth/invite.html", errors=problems, dead=True), 400
        session[INVITE_SESSION_KEY] = token
        return render_template("auth/invite.html", person=_invitee(token), clean_url=clean)
    session[INVITE_SESSION_KEY] = token  # a form sent back with a problem posts to /invite/
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return render_template(
            "auth/invite.html", person=_invitee(token), errors=["the two passwords differ"], clean_url=clean
        ), 400
    try:
        user = auth.accept_invite(db(), token, password)
    except auth.AuthError as exc:
        person = _invitee(token)
        if person is None:
            session.pop(INVITE_SESSION_KEY, None)
        return render_template(
            "auth/invite.html", person=person, errors=exc.problems, dead=person is None, clean_url=clean
        ), 400
    audit(db(), user.tenant_id, user.email, "user.accepted_invite")
    sign_in(user)  # a fresh session: the token kept in the old one goes with it
    db().commit()
    flash("Welcome! Your password is set.", "success")
    # where a sign-in lands them: a support lead's day starts at the ticket workbench
    return redirect(url_for("ui.support" if user.role == "support_lead" else "ui.portfolio"))
