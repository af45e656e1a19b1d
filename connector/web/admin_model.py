"""Scoring model admin: view versions, edit with validation, backtest preview, publish (routes on admin.bp)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from connector import readmodels
from connector.admin import actions as admin_actions
from connector.web.access import actor, admin_required, db, settings, tenant_id
from connector.web.blueprints import admin as bp


def _current_yaml() -> str:
    row = readmodels.published_model(db(), tenant_id())
    if row is not None:
        return row.yaml
    return files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


@bp.get("/model")
@admin_required
def models() -> Any:
    return render_template(
        "admin/model.html",
        versions=readmodels.model_versions(db(), tenant_id()),
        text=_current_yaml(),
        published=readmodels.published_model(db(), tenant_id()),
    )


@bp.post("/model")
@admin_required
def model_submit() -> Any:
    text = request.form.get("yaml", "")
    action = request.form.get("action", "validate")
    _model, problems = admin_actions.validate_model(text)
    preview = None
    status = 200
    if problems:
        status = 400
    elif action in {"preview", "save"}:
        preview = admin_actions.backtest_preview(settings(), tenant_id(), text)
    if not problems and action == "save":
        try:
            row = admin_actions.save_draft(db(), tenant_id(), text, actor(), backtest=preview)
        except admin_actions.ActionError as exc:
            problems, status = exc.problems, 400
        else:
            db().commit()
            flash(f"Draft {row.version} saved. Review the backtest, then publish it.", "success")
            return redirect(url_for("admin.model_version", version_id=row.id), code=303)
    return render_template(
        "admin/model.html",
        versions=readmodels.model_versions(db(), tenant_id()),
        text=text,
        problems=problems,
        preview=preview,
        validated=not problems,
        published=readmodels.published_model(db(), tenant_id()),
    ), status


@bp.get("/model/<int:version_id>")
@admin_required
def model_version(version_id: int) -> Any:
    row = readmodels.model_version(db(), tenant_id(), version_id)
    if row is None:
        abort(404, description="No such model version in your workspace.")
    return render_template("admin/model_version.html", row=row)


@bp.post("/model/<int:version_id>/publish")
@admin_required
def model_publish(version_id: int) -> Any:
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
