"""The write-back step: send queued field values to each installation through its adapter's batch calls."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from connector.config import Settings
from connector.installs.connections import adapter_for
from connector.pipeline import outbox, task_writeback
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations.errors import BudgetExhaustedError, IntegrationError, ReauthRequiredError
from integrations.records import ScoreWrite

logger = logging.getLogger(__name__)

CLAIM_BATCH = 1000  # rows per claim; the adapter splits them into the vendor's batch size


@dataclass(slots=True)
class VendorWriteReport:
    vendor: str
    written: int = 0
    unchanged: int = 0
    rejected: int = 0
    pending: int = 0
    api_calls: int = 0
    rejections: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    tasks: dict[str, int] = field(default_factory=dict)  # play tasks: created, closed, tickets, failed
    retry_after: float | None = None  # the shared API budget ran out: the rest waits this long


def pending_count(settings: Settings, tenant_id: int, installation_id: int) -> int:
    with transaction(settings.sqlalchemy_url) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    m.WritebackOutbox.tenant_id == tenant_id,
                    m.WritebackOutbox.installation_id == installation_id,
                    m.WritebackOutbox.status.in_(["pending", "claimed"]),
                )
            )
            or 0
        )


def _known(settings: Settings, tenant_id: int, installation_id: int) -> int:
    with transaction(settings.sqlalchemy_url) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    m.WrittenValue.tenant_id == tenant_id, m.WrittenValue.installation_id == installation_id
                )
            )
            or 0
        )


def write_back_tenant(
    settings: Settings,
    tenant_id: int,
    dry_run: bool = False,
    installation_id: int | None = None,
    **overrides: Any,
) -> list[VendorWriteReport]:
    """Write every installation's pending rows (or one installation's: a task of a split pass); one
    vendor failing never blocks another."""
    with transaction(settings.sqlalchemy_url) as session:
        insts = [
            i
            for i in store.installations(session, tenant_id)
            if i.status == "connected" and installation_id in (None, i.id)
        ]
    reports = []
    for inst in insts:
        rep = VendorWriteReport(vendor=inst.vendor)
        rep.pending = pending_count(settings, tenant_id, inst.id)
        if dry_run or rep.pending == 0:
            rep.unchanged = max(0, _known(settings, tenant_id, inst.id) - rep.pending)
            reports.append(rep)
            continue
        _write_installation(settings, inst, rep, **overrides)
        rep.unchanged = max(0, _known(settings, tenant_id, inst.id) - rep.written)
        rep.pending = pending_count(settings, tenant_id, inst.id)
        reports.append(rep)
    return reports


def _write_installation(
    settings: Settings, inst: m.Installation, rep: VendorWriteReport, **overrides: Any
) -> None:
    url = settings.sqlalchemy_url
    adapter = adapter_for(settings, inst, **overrides)
    # An adapter may ask for its own claim size (`write_batch`): Zendesk polls a round of update_many jobs
    # together, one sleep per round, so a claim is one full round (a 1,000-row claim slept once per 1,000).
    batch = int(getattr(adapter, "write_batch", CLAIM_BATCH))
    seen: set[int] = set()
    try:
        while True:
            rows = [r for r in outbox.claim(url, inst.tenant_id, inst.id, batch) if r[0] not in seen]
            if not rows:
                break
            seen.update(r[0] for r in rows)
            claimed = {ext: row_id for row_id, ext, _ in rows}
            values = {ext: vals for _, ext, vals in rows}
            writes = [
                ScoreWrite(account_external_id=ext, values=outbox.crm_fields(vals)) for _, ext, vals in rows
            ]
            try:
                results = adapter.write_scores(writes)
            except IntegrationError as exc:
                outbox.release(
                    url, inst.tenant_id, [r[0] for r in rows], f"{type(exc).__name__}: {exc.detail}"
                )
                rep.error = f"{exc.detail} — {exc.hint}"
                if isinstance(exc, BudgetExhaustedError):  # rows went back to pending: sent on resume
                    rep.retry_after = exc.retry_after
                if isinstance(exc, ReauthRequiredError):
                    store.mark_installation(
                        url, inst.tenant_id, inst.id, status="reconnect", error=exc.detail
                    )
                break
            written, rejected = outbox.complete(url, inst.tenant_id, inst.id, claimed, results, values)
            rep.written += written
            rep.rejected += len(rejected)
            rep.rejections.extend(rejected[:50])
        if rep.error is None:  # play tasks after the fields, through the same adapter and budget
            done = task_writeback.write_tasks(url, inst, adapter)
            rep.tasks = {k: v for k, v in asdict(done).items() if isinstance(v, int) and v}
            if done.errors:
                rep.error = done.errors[0]
    finally:
        rep.api_calls = int(getattr(adapter, "api_calls", 0))
        adapter.close()
    logger.info(
        "wrote %d rows to %s (%d rejected, %d api calls)",
        rep.written,
        inst.vendor,
        rep.rejected,
        rep.api_calls,
        extra={"tenant": inst.tenant_id, "vendor": inst.vendor, "step": "write_back"},
    )
