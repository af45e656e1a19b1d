"""Write-back of play tasks: claim the `kind="task"` outbox rows of one installation, send them with the
adapter's batch calls (creates, then tickets, then closes) and record the vendor ids on the play tasks.

The same guarantees as the field write-back: rows are claimed, sent and completed in separate
transactions, so a crash repeats at most the batch in flight; a retryable failure puts the row back to
pending, a permanent one marks the task failed with the vendor's reason (shown on the account page).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.pipeline import outbox
from connector.store import models as m
from connector.store.db import transaction
from connector.store.repo import utcnow
from integrations.errors import IntegrationError
from integrations.tasks import TaskClose, TaskCreate, TaskResult, TicketCreate

logger = logging.getLogger(__name__)

CLAIM_BATCH = 1000


@dataclass(slots=True)
class TaskWriteReport:
    created: int = 0
    closed: int = 0
    tickets: int = 0
    failed: int = 0
    waiting: int = 0  # closes of tasks whose create has not landed yet
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Row:
    row_id: int
    op: str
    task_id: int
    ext: str


def write_tasks(url: str, inst: m.Installation, adapter: Any) -> TaskWriteReport:
    """Send every pending task operation of `inst` through `adapter` (adapters without task calls skip)."""
    rep = TaskWriteReport()
    seen: set[int] = set()
    while True:
        claimed = [r for r in outbox.claim(url, inst.tenant_id, inst.id, CLAIM_BATCH, kind="task")]
        rows = [
            _Row(rid, str(v.get("op")), int(v.get("task", 0)), ext)
            for rid, ext, v in claimed
            if rid not in seen
        ]
        again = [rid for rid, _, _ in claimed if rid in seen]
        if again:  # put back what this run already tried (retryable failures): the next run retries them
            outbox.release(url, inst.tenant_id, again, "retry on the next write-back run")
        if not rows:
            break
        seen.update(r.row_id for r in rows)
        try:
            _send(url, inst, adapter, rows, rep)
        except IntegrationError as exc:
            outbox.release(
                url, inst.tenant_id, [r.row_id for r in rows], f"{type(exc).__name__}: {exc.detail}"
            )
            rep.errors.append(f"{exc.detail} — {exc.hint}")
            break
    return rep


def _tasks(url: str, tenant_id: int, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    with transaction(url) as session:
        out = {}
        for t in session.query(m.PlayTask).filter(m.PlayTask.tenant_id == tenant_id, m.PlayTask.id.in_(ids)):
            out[t.id] = {
                "subject": t.subject,
                "body": t.body,
                "due": t.due_at.date(),
                "vendor_task_id": t.vendor_task_id,
                "state": t.state,
            }
        return out


def _send(url: str, inst: m.Installation, adapter: Any, rows: list[_Row], rep: TaskWriteReport) -> None:
    tasks = _tasks(url, inst.tenant_id, [r.task_id for r in rows])
    done: list[tuple[_Row, TaskResult]] = []
    later: list[int] = []
    gone = [r for r in rows if r.task_id not in tasks]  # the play or account was deleted meanwhile
    done += [(r, TaskResult(key=str(r.row_id), ok=True)) for r in gone]
    live = [r for r in rows if r.task_id in tasks]

    def due(r: _Row) -> date:
        return date.fromisoformat(str(tasks[r.task_id]["due"]))

    creates = [r for r in live if r.op == "create"]
    if creates and hasattr(adapter, "create_tasks"):
        items = [
            TaskCreate(
                key=str(r.row_id),
                account_external_id=r.ext,
                subject=tasks[r.task_id]["subject"],
                body=tasks[r.task_id]["body"],
                due=due(r),
            )
            for r in creates
        ]
        done += list(zip(creates, adapter.create_tasks(items), strict=True))
        for r, res in done[-len(creates) :]:
            if res.ok:
                tasks[r.task_id]["vendor_task_id"] = res.external_id
    tickets = [r for r in live if r.op == "ticket"]
    if tickets and hasattr(adapter, "create_tickets"):
        items_t = [
            TicketCreate(
                key=str(r.row_id),
                organization_external_id=r.ext,
                subject=tasks[r.task_id]["subject"],
                body=tasks[r.task_id]["body"],
                due=due(r),
                reference=str(r.task_id),
            )
            for r in tickets
        ]
        done += list(zip(tickets, adapter.create_tickets(items_t), strict=True))
    closes = []
    for r in (r for r in live if r.op == "close"):
        vid, state = tasks[r.task_id]["vendor_task_id"], tasks[r.task_id]["state"]
        if vid:
            closes.append((r, str(vid)))
        elif state == "failed":
            done.append((r, TaskResult(key=str(r.row_id), ok=True)))  # never created: nothing to close
        else:
            later.append(r.row_id)
    if closes and hasattr(adapter, "close_tasks"):
        items_c = [TaskClose(key=str(r.row_id), task_external_id=vid) for r, vid in closes]
        done += list(zip([r for r, _ in closes], adapter.close_tasks(items_c), strict=True))
    if later:
        outbox.release(url, inst.tenant_id, later, "waiting for the task to be created")
        rep.waiting += len(later)
    _complete(url, inst.tenant_id, done, rep)


def _complete(url: str, tenant_id: int, done: list[tuple[_Row, TaskResult]], rep: TaskWriteReport) -> None:
    now = utcnow()
    with transaction(url) as session:
        for r, res in done:
            row = session.get(m.WritebackOutbox, r.row_id)
            task = session.get(m.PlayTask, r.task_id)
            if row is None or row.tenant_id != tenant_id:
                continue
            if not res.ok and res.retryable:
                row.status, row.last_error, row.updated_at = (
                    "pending",
                    f"{res.error_code}: {res.message}",
                    now,
                )
                continue
            session.delete(row)
            if task is None:
                continue
            if not res.ok:
                rep.failed += 1
                task.last_error = f"{res.error_code}: {res.message}"
                if r.op == "create":
                    task.state = "failed"
                continue
            if r.op == "create":
                rep.created += 1
                task.vendor_task_id = res.external_id
                if task.state == "queued":
                    task.state = "open"
            elif r.op == "ticket":
                rep.tickets += 1
                task.ticket_id = res.external_id
            else:
                rep.closed += 1
                task.state, task.closed_at = "closed", now
