"""REST API: plays (routes on api.bp): list, get, create, update (incl. turning on/off), delete, dry run, and
the plays fired for an account with their tasks' state. Writes and the dry run need an admin-scope key
(api.ACTIONS); bodies were checked against api_play_schemas by the validation layer before a view runs,
and the band/segment names against the tenant's model here (422, naming the allowed ones), and the name
against the workspace's other plays (422, naming the play that has it, as the admin form refuses it)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from connector.admin import plays as actions
from connector.jobs import nudge
from connector.pipeline.play_backfill import Backfill
from connector.readmodels import jsonable
from connector.readmodels import plays as reads
from connector.store import models as m
from connector.web.access import db, settings
from connector.web.blueprints import BadRequestError
from connector.web.blueprints import api as bp
from connector.web.errors import problem

FIELDS = (
    "name", "to_band", "from_bands", "segments", "subject", "next_step", "due_days", "cooldown_days",
    "zendesk_ticket", "on_recovery",
)  # fmt: skip


def _play(
    row: m.Play, counts: dict[int, dict[str, int]], backfill: tuple[Backfill, bool] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        **{k: getattr(row, k) for k in FIELDS},
        "from_bands": list(row.from_bands or []),
        "segments": list(row.segments or []),
        "next_step": row.next_step or "",
        "enabled": row.enabled,
        "created_at": jsonable(row.created_at),
        "updated_at": jsonable(row.updated_at),
        "tasks": counts.get(row.id, {}),
    }
    if backfill is not None:
        # sending_now: the queued tasks are on their way to the CRM (false: the next scheduled pass sends them)
        out["backfill"] = {**_dry(backfill[0]), "sending_now": backfill[1]}
    return out


def _sent(backfill: Backfill | None, tenant_id: int) -> tuple[Backfill, bool] | None:
    """After a play was turned on (committed): send what its backfill queued now, not at the next pass."""
    if backfill is None:
        return None
    work = bool(backfill.creates or backfill.closes)
    return backfill, work and nudge.request_write_back(settings(), tenant_id)


def _dry(result: Backfill) -> dict[str, Any]:
    return {
        "play_id": result.play_id,
        "creates": result.creates,
        "closes": result.closes,
        "no_crm": result.no_crm,
        "lookback_days": result.lookback_days,
        "as_of": jsonable(result.as_of),
        "written": result.written,
        "summary": result.summary,
        "accounts": [{"id": i, "name": n} for i, n in result.accounts],
    }


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequestError("send a JSON object")
    return body


def _invalid(errors: list[str]) -> Response:
    return problem(422, "invalid_play", "The play cannot be saved.", errors[0], problems=errors)


def _name_taken(name: str, other_than: int | None = None) -> Response | None:
    """422 when another play of the workspace has this name (case and spaces ignored), as the admin form
    refuses it: two plays of one name are told apart by nobody (a retried create would make a twin whose
    tasks double the first's once both are on)."""
    twin = actions.named(db(), g.api_tenant_id, name, other_than=other_than)
    if twin is None:
        return None
    taken = (
        f"There is already a play named “{twin.name}” (id {twin.id}): change that one with "
        f"PATCH /api/v1/plays/{twin.id}, or give this one another name."
    )
    return _invalid([taken])


def _lost_race(name: str, other_than: int | None = None) -> Response | None:
    """After an IntegrityError: when another request gave a play this name between our check and our write
    (the database's one-name index, migration 0012, refused ours), the same 422 as the check; nothing of
    this request is saved. None when no play has the name (another constraint: the caller re-raises)."""
    db().rollback()
    return _name_taken(name, other_than=other_than)


def _missing() -> Response:
    return problem(404, "not_found", "No such play.", "List the plays with GET /api/v1/plays.")


def _validated(merged: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    session, tid = db(), g.api_tenant_id
    return actions.parse_form(merged, actions.band_names(session, tid), actions.segment_names(session, tid))


@bp.get("/v1/plays")
def list_plays() -> Response:
    session, tid = db(), g.api_tenant_id
    actions.ensure_starter(session, tid)  # as the admin page: every tenant starts with a disabled starter
    try:
        session.commit()
    except IntegrityError:  # another first call made the starter at the same instant (one-name index)
        session.rollback()
    counts = reads.task_counts(session, tid)
    return jsonify({"data": [_play(r, counts) for r in actions.list_plays(session, tid)]})


@bp.post("/v1/plays")
def create_play() -> Any:
    body = _json()
    fields, errors = _validated({k: v for k, v in body.items() if k != "enabled"})
    if errors:
        return _invalid(errors)
    if (taken := _name_taken(fields["name"])) is not None:
        return taken
    session, tid = db(), g.api_tenant_id
    try:
        row = actions.save(session, tid, fields, g.api_key_name)
        backfill = None
        if body.get("enabled") is True:
            done = actions.set_enabled(session, tid, row.id, True, g.api_key_name)
            backfill = done[1] if done else None
        session.commit()
    except IntegrityError:
        if (taken := _lost_race(fields["name"])) is None:
            raise
        return taken
    return jsonify(_play(row, reads.task_counts(session, tid), _sent(backfill, tid))), 201


@bp.get("/v1/plays/<int:play_id>")
def get_play(play_id: int) -> Any:
    row = actions.get(db(), g.api_tenant_id, play_id)
    if row is None:
        return _missing()
    return jsonify(_play(row, reads.task_counts(db(), g.api_tenant_id)))


@bp.patch("/v1/plays/<int:play_id>")
def update_play(play_id: int) -> Any:
    session, tid = db(), g.api_tenant_id
    row = actions.get(session, tid, play_id)
    if row is None:
        return _missing()
    body = _json()
    changes = {k: v for k, v in body.items() if k != "enabled"}
    backfill = None
    if changes:
        current = {k: getattr(row, k) for k in FIELDS}
        fields, errors = _validated({**current, **changes})
        if errors:
            return _invalid(errors)
        if (taken := _name_taken(fields["name"], other_than=row.id)) is not None:
            return taken
    try:
        if changes:
            actions.save(session, tid, fields, g.api_key_name, row.id)
        if "enabled" in body:
            done = actions.set_enabled(session, tid, row.id, bool(body["enabled"]), g.api_key_name)
            backfill = done[1] if done else None
        session.commit()
    except IntegrityError:
        if not changes or (taken := _lost_race(fields["name"], other_than=play_id)) is None:
            raise
        return taken
    return jsonify(_play(row, reads.task_counts(session, tid), _sent(backfill, tid)))


@bp.delete("/v1/plays/<int:play_id>")
def delete_play(play_id: int) -> Any:
    if actions.delete(db(), g.api_tenant_id, play_id, g.api_key_name) is None:
        return _missing()
    db().commit()
    return Response(status=204)


@bp.post("/v1/plays/<int:play_id>/dry-run")
def play_dry_run(play_id: int) -> Any:
    row = actions.get(db(), g.api_tenant_id, play_id)
    if row is None:
        return _missing()
    return jsonify(_dry(actions.dry_run(db(), g.api_tenant_id, row)))


@bp.get("/v1/accounts/<int:account_id>/plays")
def account_plays(account_id: int) -> Any:
    session, tid = db(), g.api_tenant_id
    if not reads.has_account(session, tid, account_id):
        return problem(404, "not_found", "No such account.")
    raw = request.args.get("limit", "50")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 4 and 1 <= int(raw) <= 200):
        raise BadRequestError("`limit` must be a whole number between 1 and 200", "e.g. limit=50")
    rows = reads.account_plays(session, tid, account_id, limit=int(raw))
    return jsonify(
        {
            "data": [
                {
                    "id": r.id,
                    "play_id": r.play_id,
                    "play": r.play,
                    "subject": r.subject,
                    "state": r.code,
                    "state_text": r.state,
                    "vendor": r.vendor,
                    "vendor_task_id": r.vendor_task_id,
                    "ticket_id": r.ticket_id,
                    "fired_at": jsonable(r.fired_at),
                    "due_at": jsonable(r.due_at),
                    "closed_at": jsonable(r.closed_at),
                    "problem": r.problem,
                }
                for r in rows
            ]
        }
    )
