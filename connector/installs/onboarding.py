"""After an OAuth install: check the connection, create our fields, run a first sync and scoring pass.

Runs in a background thread started by the callback; progress is a `runs` row of kind "install" whose
report lists the steps, so the browser can poll it (web/oauth.py `progress`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from connector.config import Settings
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction

logger = logging.getLogger(__name__)

STEPS: tuple[str, ...] = ("check", "fields", "sync", "score")
STEP_LABELS = {
    "check": "Checking permissions and fields",
    "fields": "Creating the health fields",
    "sync": "Reading accounts, deals, tickets and surveys",
    "score": "Linking, scoring and writing scores back",
}


def start(settings: Settings, tenant_id: int, vendor: str, *, background: bool = True) -> str:
    """Create the progress run and start the work; returns the run id."""
    with transaction(settings.sqlalchemy_url) as session:
        run = store.start_run(session, tenant_id, "install")
        run.report = {"vendor": vendor, "steps": {s: {"state": "waiting"} for s in STEPS}}
        run_id = run.run_id
    if background:
        threading.Thread(
            target=run_install,
            args=(settings, tenant_id, vendor, run_id),
            name=f"install-{vendor}",
            daemon=True,
        ).start()
    else:
        run_install(settings, tenant_id, vendor, run_id)
    return run_id


def _set(
    settings: Settings, tenant_id: int, run_id: str, report: dict[str, Any], status: str = "running"
) -> None:
    with transaction(settings.sqlalchemy_url) as session:
        session.execute(
            update(m.Run)
            .where(m.Run.tenant_id == tenant_id, m.Run.run_id == run_id)
            .values(report=report, status=status)
        )


def run_install(settings: Settings, tenant_id: int, vendor: str, run_id: str) -> dict[str, Any]:
    """Every step in order; a failed check stops before syncing (nothing useful can follow)."""
    report: dict[str, Any] = {"vendor": vendor, "steps": {s: {"state": "waiting"} for s in STEPS}}
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "check": lambda: _check(settings, tenant_id, vendor),
        "fields": lambda: _fields(settings, tenant_id, vendor),
        "sync": lambda: _sync(settings, tenant_id, vendor),
        "score": lambda: _score(settings, tenant_id),
    }
    status = "ok"
    for name in STEPS:
        report["steps"][name] = {"state": "running"}
        _set(settings, tenant_id, run_id, report)
        try:
            result = steps[name]()
        except Exception as exc:
            logger.exception("install step %s failed", name, extra={"tenant": tenant_id, "vendor": vendor})
            result = {"state": "failed", "message": f"{type(exc).__name__}: {exc}"[:500]}
        report["steps"][name] = result
        if result.get("state") == "failed":
            status = "failed" if name in {"check", "sync"} else "partial"
            if name in {"check", "sync"}:
                for rest in STEPS[STEPS.index(name) + 1 :]:
                    report["steps"][rest] = {"state": "skipped"}
                break
    store.finish_run(settings.sqlalchemy_url, tenant_id, run_id, status, report)
    if status == "failed":
        _mark(settings, tenant_id, vendor, "error", _first_problem(report))
    return report


def _first_problem(report: dict[str, Any]) -> str:
    for step in report["steps"].values():
        if step.get("state") == "failed":
            return str(step.get("message", "failed"))
    return "failed"


def _installation(settings: Settings, tenant_id: int, vendor: str) -> m.Installation:
    with transaction(settings.sqlalchemy_url) as session:
        inst = session.scalar(
            select(m.Installation).where(
                m.Installation.tenant_id == tenant_id, m.Installation.vendor == vendor
            )
        )
        if inst is None:
            raise LookupError(f"{vendor} is not connected")
        session.expunge(inst)
        return inst


def _adapter(settings: Settings, tenant_id: int, vendor: str) -> Any:
    try:
        from connector.installs.connections import adapter_for
    except ImportError as exc:  # pragma: no cover - the connector module is part of the lead's work
        raise RuntimeError("the adapter layer is not available yet") from exc
    return adapter_for(settings, _installation(settings, tenant_id, vendor))


def _check(settings: Settings, tenant_id: int, vendor: str) -> dict[str, Any]:
    adapter = _adapter(settings, tenant_id, vendor)
    try:
        report = adapter.check()
    finally:
        adapter.close()
    problems = [{"message": p.message, "hint": p.hint} for p in report.problems]
    # Missing custom fields are expected on a first install: the next step creates them.
    blocking = [
        p for p in report.problems if not (report.missing_fields and _about_missing_fields(p, report))
    ]
    state = "done" if report.ok or not blocking else "failed"
    message = "; ".join(p.message for p in blocking) if state == "failed" else "connected"
    return {
        "state": state,
        "message": message,
        "problems": problems,
        "missing_fields": list(report.missing_fields),
    }


def _about_missing_fields(problem: Any, report: Any) -> bool:
    text = f"{problem.message} {problem.hint}".lower()
    return any(f.lower() in text for f in report.missing_fields) or (
        "missing" in text and ("field" in text or "propert" in text)
    )


def _fields(settings: Settings, tenant_id: int, vendor: str) -> dict[str, Any]:
    adapter = _adapter(settings, tenant_id, vendor)
    try:
        changes = adapter.ensure_fields()
    finally:
        adapter.close()
    created = [c for c in changes if c.action == "created"]
    if not created:  # a re-sync finds them in place: say so, not "8 field(s) created"
        message = f"all {len(changes)} fields already in place"
    elif len(created) == len(changes):
        message = f"{len(created)} field(s) created"
    else:
        message = f"{len(created)} field(s) created, {len(changes) - len(created)} already in place"
    return {"state": "done", "message": message, "created": [str(c) for c in created][:20]}


def _sync(settings: Settings, tenant_id: int, vendor: str) -> dict[str, Any]:
    from connector.pipeline import run as pipeline

    result = pipeline.sync(settings, tenant_id, vendor=vendor, full=True)
    records, unreadable, problems = 0, 0, []
    for inst in result.get("installations", []):
        for stream in inst.get("streams", []):
            records += int(stream.get("upserted", 0) or 0)
            unreadable += int(stream.get("unreadable", 0) or 0)
            if stream.get("status") not in {"ok", "skipped"}:
                problems.append(
                    f"{stream.get('stream')}: {stream.get('error') or stream.get('status')}"
                    + (f" ({stream['hint']})" if stream.get("hint") else "")
                )
        if inst.get("status") in {"reconnect", "quota"} and not problems:
            problems.append(f"{inst.get('vendor')}: {inst.get('status')}")
    if problems and records == 0:
        return {"state": "failed", "message": "; ".join(problems)[:500], "records": 0}
    message = f"{records:,} records read"
    if unreadable:  # skipped one by one by the adapter (a required id or timestamp missing or unparsable)
        message += f"; {unreadable:,} unreadable records skipped (see the worker log)"
    message += f"; problems: {'; '.join(problems)}"[:400] if problems else ""
    return {"state": "done", "message": message, "records": records, "unreadable": unreadable}


def _score(settings: Settings, tenant_id: int) -> dict[str, Any]:
    from connector.pipeline import run as pipeline

    report = pipeline.run_tenant(settings, tenant_id, steps=("link", "sentiment", "score", "write_back"))
    failed = {k: v["error"] for k, v in report["steps"].items() if isinstance(v, dict) and v.get("error")}
    scored = (
        report["steps"].get("score", {}).get("scored", report["steps"].get("score", {}).get("accounts", 0))
    )
    if failed:
        return {"state": "failed", "message": "; ".join(f"{k}: {v}" for k, v in failed.items())[:500]}
    return {"state": "done", "message": f"{scored} accounts scored", "pass_run_id": report.get("run_id")}


def _mark(settings: Settings, tenant_id: int, vendor: str, status: str, error: str) -> None:
    with transaction(settings.sqlalchemy_url) as session:
        session.execute(
            update(m.Installation)
            .where(m.Installation.tenant_id == tenant_id, m.Installation.vendor == vendor)
            .values(status=status, last_error=error[:1000])
        )
