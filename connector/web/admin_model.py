"""Scoring model admin: view versions, edit with validation, backtest preview, publish (routes on admin.bp)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import delete, select

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.store import models as m
from connector.web import MAX_ID, model_form, ratelimits
from connector.web.access import actor, admin_required, db, settings, tenant_id
from connector.web.blueprints import admin as bp


def _current_yaml() -> str:
    row = readmodels.published_model(db(), tenant_id())
    if row is not None:
        return row.yaml
    return files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


def _suggest_version(live: str) -> str:
    """A fresh draft name: the live version with the next "-editN" suffix not used yet."""
    taken = {v.version for v in readmodels.model_versions(db(), tenant_id())}
    base = model_form.summary(live).version.split("-edit")[0] or "model"
    n = 1
    while f"{base}-edit{n}" in taken:
        n += 1
    return f"{base}-edit{n}"


def _page(text: str, *, mode: str, status: int = 200, **extra: Any) -> Any:
    live = _current_yaml()
    try:
        shown = model_form.summary(text)
        diff = model_form.changes(live, text) if text != live else []
    except model_form.UNREADABLE:
        shown, diff = model_form.summary(live), []
    return render_template(
        "admin/model.html",
        versions=readmodels.model_versions(db(), tenant_id()),
        text=text,
        form=shown,
        diff=diff,
        mode=mode,
        max_weight=model_form.MAX_WEIGHT,
        slider_max=model_form.slider_max(shown),
        version=extra.pop("version", None) or _suggest_version(live),
        published=readmodels.published_model(db(), tenant_id()),
        **extra,
    ), status


@bp.get("/model")
@admin_required
def models() -> Any:
    mode = "yaml" if request.args.get("view") == "yaml" else "form"
    if request.args.get("preview"):
        preview_id = request.args.get("preview", type=int)
        # beyond a 64-bit row id no preview exists (the query overflowed: a 500; security audit 11)
        in_range = preview_id is not None and 0 <= preview_id <= MAX_ID
        return _stored_preview(preview_id if in_range else None, mode)
    return _page(_current_yaml(), mode=mode)


PREVIEW_KEPT = timedelta(days=1)


def _store_preview(text: str, mode: str, version: str, preview: dict[str, Any]) -> int:
    """Keep a preview for the GET after the POST (older ones of the workspace go); its id."""
    session, now = db(), datetime.now(UTC)
    session.execute(
        delete(m.ModelPreview).where(
            m.ModelPreview.tenant_id == tenant_id(), m.ModelPreview.created_at < now - PREVIEW_KEPT
        )
    )
    row = m.ModelPreview(
        tenant_id=tenant_id(),
        created_by=actor()[:320],
        mode=mode,
        version=version[:64],
        yaml=text,
        result=preview,
        created_at=now,
    )
    session.add(row)
    session.commit()
    return row.id


def _stored_preview(preview_id: int | None, mode: str) -> Any:
    """`GET /admin/model?preview=<id>`: the draft and its backtest as the POST that ran it left them."""
    row = None
    if preview_id is not None:
        row = db().scalar(
            select(m.ModelPreview).where(
                m.ModelPreview.tenant_id == tenant_id(), m.ModelPreview.id == preview_id
            )
        )
    if row is None:
        flash(
            "That backtest preview is no longer kept (previews are kept for a day). "
            "Change the weights again and click Preview backtest.",
            "info",
        )
        return redirect(url_for("admin.models", view="yaml" if mode == "yaml" else None), code=303)
    return _page(
        row.yaml,
        mode=row.mode,
        preview=row.result,
        validated=True,
        version=row.version,
    )


@bp.post("/model")
@admin_required
def model_submit() -> Any:
    action = request.form.get("action", "validate")
    mode = "form" if request.form.get("mode") == "form" else "yaml"
    version = request.form.get("version", "").strip()
    if mode == "form":
        # The form edits weights on top of the live model: the draft is the live model with these weights.
        text = model_form.apply_weights(
            _current_yaml(), request.form, version or _suggest_version(_current_yaml())
        )
    else:
        text = request.form.get("yaml", "")
    _model, problems = admin_actions.validate_model(text)
    preview = None
    status = 200
    if problems:
        status = 400
    elif action in {"preview", "save"}:
        # Seconds of CPU each: one budget per workspace with the API's POST /api/v1/backtest. Over it, the
        # page comes back with the draft kept (nothing saved) and says when to try again.
        breach = ratelimits.budgets().spend("backtest", f"tenant:{tenant_id()}")
        if breach is not None:
            return _too_many(text, mode, version, breach)
        preview = admin_actions.backtest_preview(settings(), tenant_id(), text)
        if action == "preview":
            # Post/Redirect/Get: the preview is shown by GET, so a reload or Back does not send the form
            # again (nor run, and pay for, another backtest)
            preview_id = _store_preview(text, mode, version, preview)
            return redirect(url_for("admin.models", preview=preview_id), code=303)
    if not problems and action == "save":
        try:
            row = admin_actions.save_draft(db(), tenant_id(), text, actor(), backtest=preview)
        except admin_actions.ActionError as exc:
            problems, status = exc.problems, 400
            if mode == "form":
                # the weights form has a "Draft name" field, not the YAML's `version:` line
                problems = [_in_form_words(p) for p in problems]
        else:
            db().commit()
            live = readmodels.published_model(db(), tenant_id())
            if _identical_to_live(row, live):
                flash(f"Draft {row.version} saved. {_nothing_to_publish(row, live)}", "info")
            else:
                flash(
                    f"Draft {row.version} saved. Review the backtest and the changes, then publish it.",
                    "success",
                )
            return redirect(url_for("admin.model_version", version_id=row.id), code=303)
    return _page(
        text,
        mode=mode,
        status=status,
        problems=problems,
        preview=preview,
        validated=not problems,
        version=version,
    )


def _in_form_words(problem: str) -> str:
    import re

    taken = re.fullmatch(r"version (.+) exists already; change `version:` for a new draft", problem)
    if taken is None:
        return problem
    name = taken.group(1).strip("'\"")
    return f"A draft named “{name}” exists already: type another draft name (the Versions list shows the names taken)."


def _too_many(text: str, mode: str, version: str, breach: ratelimits.Breach) -> Any:
    flash(
        f"Backtests in this workspace are limited to {breach.limit}, and that is used up. Your draft is "
        f"kept below, not saved: preview or save it again in {breach.retry_after} s.",
        "error",
    )
    body, status = _page(text, mode=mode, status=429, validated=True, version=version)
    return body, status, {"Retry-After": str(breach.retry_after)}


@bp.get("/model/<int:version_id>")
@admin_required
def model_version(version_id: int) -> Any:
    row = readmodels.model_version(db(), tenant_id(), version_id)
    if row is None:
        abort(404, description="No such model version in your workspace.")
    live = readmodels.published_model(db(), tenant_id())
    try:
        shown = model_form.summary(row.yaml)
        diff = model_form.changes(_current_yaml(), row.yaml) if live is None or live.id != row.id else []
    except model_form.UNREADABLE:
        shown, diff = None, []
    identical = _identical_to_live(row, live)
    return render_template(
        "admin/model_version.html", row=row, form=shown, diff=diff, live=live, identical=identical
    )


def _identical_to_live(row: Any, live: Any) -> bool:
    """A draft that scores exactly as the published model (only its name differs): nothing to publish.
    With no published model yet, publishing the first version is allowed (it pins the workspace's model)."""
    return (
        row is not None
        and live is not None
        and row.status == "draft"
        and row.id != live.id
        and model_form.same_model(live.yaml, row.yaml)
    )


def _nothing_to_publish(row: Any, live: Any) -> str:
    return (
        f"Draft {row.version} is identical to the live model {live.version} (only the name differs), so there "
        "is nothing to publish. Change a weight, band or metric and save it as a new draft."
    )


@bp.post("/model/<int:version_id>/publish")
@admin_required
def model_publish(version_id: int) -> Any:
    draft = readmodels.model_version(db(), tenant_id(), version_id)
    live = readmodels.published_model(db(), tenant_id())
    if _identical_to_live(draft, live):
        flash(_nothing_to_publish(draft, live), "error")
        return redirect(url_for("admin.model_version", version_id=version_id), code=303)
    try:
        row = admin_actions.publish(db(), tenant_id(), version_id, actor())
    except admin_actions.ActionError as exc:
        if exc.problems == ["no such model version"]:
            abort(404, description="No such model version in your workspace.")
        flash("; ".join(exc.problems), "error")
        return redirect(url_for("admin.model_version", version_id=version_id), code=303)
    db().commit()
    flash(f"Model {row.version} is published; the next scoring pass uses it.", "success")
    return redirect(url_for("admin.models"), code=303)
