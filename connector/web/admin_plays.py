"""Plays admin (routes on the shared admin blueprint): define and edit plays, dry-run one over the current
book, enable or disable it; and the `account_plays` template helper behind the account page's partial."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from connector.admin import plays as actions
from connector.jobs import nudge
from connector.readmodels.plays import PlayTaskRow, account_plays
from connector.web.access import actor, admin_required, current_user, db, settings, tenant_id
from connector.web.blueprints import admin as bp


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def plays_for(account_id: int) -> list[PlayTaskRow]:
        if current_user() is None:
            return []
        return account_plays(db(), tenant_id(), account_id)

    return {"account_plays": plays_for}


def _page(status: int = 200, **extra: Any) -> Any:
    session, tid = db(), tenant_id()
    actions.ensure_starter(session, tid)
    try:
        session.commit()
    except IntegrityError:  # another first visit made the starter at the same instant (one-name index)
        session.rollback()
    edit = actions.get(session, tid, request.args.get("edit", type=int))
    dry_play = actions.get(session, tid, request.args.get("dry", type=int))
    if dry_play is not None and status == 200:  # `?dry=<id>`: a dry run writes nothing, so a GET shows it
        extra.update(dry=actions.dry_run(session, tid, dry_play), dry_play=dry_play)
    unknown = (edit is None and request.args.get("edit")) or (dry_play is None and request.args.get("dry"))
    if unknown and status == 200:
        # a deleted, mistyped or other workspace's play: say so rather than show the New play form silently
        extra["errors"] = [
            "No such play in your workspace (deleted already?). Pick one from the list, "
            "or fill in the form below to make a new one."
        ]
        status = 404
    return render_template(
        "admin/plays.html",
        plays=actions.list_plays(session, tid),
        bands=actions.band_names(session, tid),
        segments=actions.segment_names(session, tid),
        edit=extra.pop("edit", None) or edit,
        days=actions.DRY_RUN_DAYS,
        **extra,
    ), status


@bp.get("/plays")
@admin_required
def plays() -> Any:
    return _page()


@bp.post("/plays")
@admin_required
def play_save() -> Any:
    session, tid = db(), tenant_id()
    fields, errors = actions.parse_form(
        request.form, actions.band_names(session, tid), actions.segment_names(session, tid)
    )
    play_id = request.form.get("play_id", type=int)
    editing = actions.get(session, tid, play_id)  # kept through an error: fixing it must not make a copy
    if not errors and (answer := _twin_answer(fields, editing)) is not None:
        return answer
    if errors:
        return _page(400, errors=errors, form=fields, edit=editing)
    try:
        row = actions.save(session, tid, fields, actor(), play_id)
        session.flush()
    except IntegrityError:
        # The same form sent at the same instant (or another play given this name): the other request
        # saved between our check and our write, and the database's one-name index (migration 0012)
        # refused ours. Answer as the check does.
        session.rollback()
        editing = actions.get(session, tid, play_id)
        if (answer := _twin_answer(fields, editing)) is not None:
            return answer
        raise
    result = actions.dry_run(session, tid, row)
    session.commit()
    # the play stays off until turned on: say what turning it on would do, not "Turning it on now", which
    # read as if it were being turned on
    prefix = "It is off; turned on now, it" if not row.enabled else "Dry run: it"
    flash(f"Saved “{row.name}”. {prefix} {result.summary}.", "success")
    return redirect(url_for("admin.plays"))  # the notice above has the dry run


def _twin_answer(fields: dict[str, Any], editing: Any) -> Any | None:
    """The answer when another play of the workspace has this name (None when none does): the same New
    play form again is 'already saved'; any other play or rename to a taken name is refused."""
    session, tid = db(), tenant_id()
    twin = actions.named(session, tid, fields["name"], other_than=editing.id if editing else None)
    if twin is None:
        return None
    if editing is None and actions.same_fields(twin, fields):
        # the same New play form sent twice (a double click, a resubmitted reload): no second play
        flash(f"“{twin.name}” is already saved.", "info")
        return redirect(url_for("admin.plays"))
    errors = [
        f"There is already a play named “{twin.name}”: edit that one from the list, or give this one another name."
    ]
    return _page(400, errors=errors, form=fields, edit=editing)


@bp.post("/plays/<int:play_id>/dry-run")
@admin_required
def play_dry_run(play_id: int) -> Any:
    if actions.get(db(), tenant_id(), play_id) is None:
        abort(404)
    # Post/Redirect/Get: the result is shown by `GET ?dry=`, so a reload does not ask to resubmit
    return redirect(url_for("admin.plays", dry=play_id, _anchor="dry-run"), code=303)


@bp.get("/plays/<int:play_id>/dry-run")
@admin_required
def play_dry_run_old_link(play_id: int) -> Any:
    """The dry run's address before it was Post/Redirect/Get (bookmarks, browser history, shared links): a
    GET of the button's POST URL. The dry run writes nothing, so send the reader to its result's address
    (or to the list when the play is gone) instead of the 'not possible here' page."""
    row = actions.get(db(), tenant_id(), play_id)
    if row is None:
        flash(
            "That dry-run link is for a play that is not in your workspace (deleted already?). "
            "Pick a play below and click Dry run.",
            "error",
        )
        return redirect(url_for("admin.plays"), code=303)
    flash(
        f"That dry-run link is from an older version; here is the dry run of “{row.name}”. "
        "Bookmark this page to see it again.",
        "info",
    )
    return redirect(url_for("admin.plays", dry=play_id, _anchor="dry-run"), code=303)


@bp.post("/plays/<int:play_id>/enabled")
@admin_required
def play_enable(play_id: int) -> Any:
    on = request.form.get("enabled") == "1"
    done = actions.set_enabled(db(), tenant_id(), play_id, on, actor())
    if done is None:
        abort(404)
    row, backfill = done
    db().commit()
    if not on:
        text = "off (its open tasks stay open)"
    elif backfill is None:
        text = "already on"
    elif not (backfill.creates or backfill.closes):
        text = f"on: {backfill.summary}"
    elif nudge.request_write_back(settings(), tenant_id()):
        text = (
            f"on: {backfill.summary}; sending them to the CRM now (the account pages show each task's state)"
        )
    else:
        text = f"on: {backfill.summary}; the next scheduled pass sends them to the CRM"
    flash(f"“{row.name}” is {text}.", "success")
    return redirect(url_for("admin.plays"))
