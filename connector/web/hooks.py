"""Admin pages for our outbound webhooks: endpoints, secret rotation, delivery log, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.admin.webhooks import ROTATION_DEFAULT_HOURS, ROTATION_MAX_HOURS, ROTATION_MIN_HOURS
from connector.clock import wall_clock
from connector.web import reveals
from connector.web.access import actor, admin_required, db, settings, tenant_id

bp = Blueprint("hooks", __name__, url_prefix="/admin/webhooks")


def _types() -> list[str]:
    from webhooks.events import EventType

    return [e.value for e in EventType]


def _list(**extra: Any) -> str:
    endpoints = admin_actions.current_endpoints(db(), settings(), tenant_id())
    db().commit()  # a rotation whose end passed was finished on reading
    now = wall_clock()
    # Endpoints whose old secret still signs, and for how long (an end alone, with one secret, is not a rotation).
    rotating = {
        ep.id: time_left(ep.rotation_ends_at, now)
        for ep in endpoints
        if ep.rotation_ends_at is not None and admin_actions.secret_count(settings(), ep) > 1
    }
    return render_template(
        "admin/webhooks.html",
        endpoints=endpoints,
        rotating=rotating,
        types=_types(),
        **extra,
    )


@bp.get("/")
@admin_required
def endpoints() -> Any:
    shown = reveals.take("webhook_endpoint")
    payload = shown.payload or {}
    return _list(secret=payload.get("secret"), secret_for=payload.get("url"), reveal_notice=shown.notice)


@bp.post("/")
@admin_required
def create() -> Any:
    try:
        created = admin_actions.create_endpoint(
            db(),
            settings(),
            tenant_id(),
            url=request.form.get("url", "").strip(),
            description=request.form.get("description", "").strip(),
            event_types=request.form.getlist("event_types"),
            actor=actor(),
        )
    except admin_actions.ActionError as exc:
        return _list(errors=exc.problems, form=request.form), 400
    # Post/Redirect/Get: the secret is shown by the GET, once (a reload does not add the endpoint again)
    reveal_id = reveals.keep("webhook_endpoint", url=created.endpoint.url, secret=created.secret)
    db().commit()
    return redirect(url_for("hooks.endpoints", reveal=reveal_id), code=303)


def _endpoint(endpoint_id: int) -> Any:
    ep = admin_actions.current_endpoint(db(), settings(), tenant_id(), endpoint_id)
    if ep is None:
        abort(404, description="No such webhook endpoint in your workspace.")
    db().commit()  # a rotation whose end passed was finished on reading
    return ep


def time_left(ends: datetime, now: datetime) -> str:
    """How long until `ends`, in words: 'in 40 minutes', 'in 23 hours', 'in 3 days' (nearest unit)."""
    minutes = round((ends - now).total_seconds() / 60)
    if minutes <= 0:
        return "now"
    if minutes < 60:
        count, unit = minutes, "minute"
    elif minutes < 48 * 60:
        count, unit = round(minutes / 60), "hour"
    else:
        count, unit = round(minutes / (24 * 60)), "day"
    return f"in {count} {unit}{'s' if count != 1 else ''}"


def _detail(ep: Any, *, secret: str | None = None, notice: str | None = None, errors: Any = None) -> str:
    signing = admin_actions.secret_count(settings(), ep)
    ends = ep.rotation_ends_at if signing > 1 else None
    deliveries = readmodels.deliveries(db(), tenant_id(), ep.id)
    return render_template(
        "admin/webhook.html",
        ep=ep,
        secret=secret,
        reveal_notice=notice,
        errors=errors,
        deliveries=deliveries,
        subjects=readmodels.delivery_subjects(db(), tenant_id(), [d.msg_id for d in deliveries]),
        delivery_total=readmodels.delivery_count(db(), tenant_id(), ep.id),
        types=_types(),
        # a rotation in progress (two secrets sign) shows its note and the button that finishes it; only the
        # rotate answer itself used to, so a rotation left that page could not be finished from the UI
        signing=signing,
        rotation_ends=ends,
        rotation_left=time_left(ends, wall_clock()) if ends else None,
        rotation_hours=(ROTATION_MIN_HOURS, ROTATION_DEFAULT_HOURS, ROTATION_MAX_HOURS),
    )


@bp.get("/<int:endpoint_id>")
@admin_required
def detail(endpoint_id: int) -> Any:
    ep = _endpoint(endpoint_id)
    shown = reveals.take("webhook_rotation")
    payload = shown.payload or {}
    if payload and payload.get("endpoint_id") != ep.id:  # another endpoint's rotation: not this page's
        payload, shown = {}, reveals.Reveal(notice=reveals.notice("webhook_rotation", named=payload))
    return _detail(ep, secret=payload.get("secret"), notice=shown.notice)


@bp.post("/<int:endpoint_id>/rotate")
@admin_required
def rotate(endpoint_id: int) -> Any:
    try:
        rotated = admin_actions.rotate_secret(
            db(), settings(), tenant_id(), endpoint_id, actor(), hours=request.form.get("hours")
        )
    except LookupError:
        abort(404, description="No such webhook endpoint in your workspace.")
    except admin_actions.ActionError as exc:
        db().rollback()
        return _detail(_endpoint(endpoint_id), errors=exc.problems), 400
    # Post/Redirect/Get: the secret is shown by the GET, once (a reload used to rotate again, dropping
    # the secret just shown from the signing pair)
    reveal_id = reveals.keep(
        "webhook_rotation", endpoint_id=rotated.endpoint.id, url=rotated.endpoint.url, secret=rotated.secret
    )
    db().commit()
    return redirect(url_for("hooks.detail", endpoint_id=endpoint_id, reveal=reveal_id), code=303)


@bp.post("/<int:endpoint_id>/finish-rotation")
@admin_required
def finish_rotation(endpoint_id: int) -> Any:
    try:
        admin_actions.finish_rotation(db(), settings(), tenant_id(), endpoint_id, actor())
    except LookupError:
        abort(404, description="No such webhook endpoint in your workspace.")
    db().commit()
    flash("Only the newest secret signs now.", "success")
    return redirect(url_for("hooks.detail", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/toggle")
@admin_required
def toggle(endpoint_id: int) -> Any:
    ep = _endpoint(endpoint_id)
    admin_actions.update_endpoint(db(), settings(), tenant_id(), endpoint_id, actor(), enabled=not ep.enabled)
    db().commit()
    if ep.enabled:  # paused: the page's own note says so ('Paused by …; events queue until …'), once
        flash("Endpoint enabled.", "success")
    return redirect(url_for("hooks.detail", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/delete")
@admin_required
def delete(endpoint_id: int) -> Any:
    try:
        admin_actions.delete_endpoint(db(), tenant_id(), endpoint_id, actor())
    except LookupError:
        if readmodels.audited(db(), tenant_id(), "webhook.deleted", f"endpoint:{endpoint_id}"):
            flash("That endpoint was already deleted.", "info")  # a second tab or a double click
            return redirect(url_for("hooks.endpoints"), code=303)
        abort(404, description="No such webhook endpoint in your workspace.")
    db().commit()
    flash("Endpoint deleted.", "success")
    return redirect(url_for("hooks.endpoints"), code=303)


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@admin_required
def replay(endpoint_id: int, delivery_id: int) -> Any:
    try:
        admin_actions.replay_delivery(db(), tenant_id(), endpoint_id, delivery_id, actor())
    except LookupError:
        abort(404, description="No such delivery in your workspace.")
    db().commit()
    flash("Queued again with the same webhook-id; it goes out with the next delivery run.", "success")
    return redirect(url_for("hooks.detail", endpoint_id=endpoint_id), code=303)
