"""The sync step: read every stream of every installation page by page; each page and its cursor commit
together, so a crash between pages loses nothing and repeats at most one page."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

from connector.config import Settings
from connector.installs.connections import adapter_for
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations.base import Adapter, Stream
from integrations.cursors import Cursor
from integrations.errors import (
    BudgetExhaustedError,
    IntegrationError,
    PermissionDeniedError,
    QuotaExhaustedError,
    ReauthRequiredError,
    UnreachableError,
)

logger = logging.getLogger(__name__)

# Set by a command on an interactive terminal: called after each committed page (vendor, stream, records so far).
PAGE_PROGRESS: ContextVar[Callable[[str, str, int], None] | None] = ContextVar("page_progress", default=None)

# Parents before children: accounts first so tickets and deals find their account on the same pass.
STREAM_ORDER = (
    Stream.ACCOUNTS,
    Stream.ACCOUNT_HISTORY,
    Stream.CONTACTS,
    Stream.DEALS,
    Stream.TICKETS,
    Stream.COMMENTS,
    Stream.SURVEYS,
)


# A stream ending so ends its installation's pass: reconnect (the grant is dead), quota (spent for the
# day), unreachable (no connection could be opened before the vendor answered anything).
STOPS_INSTALLATION = frozenset({"reconnect", "quota", "unreachable"})


@dataclass(slots=True)
class StreamReport:
    vendor: str
    stream: str
    read: int = 0
    upserted: int = 0
    deleted: int = 0
    # records the vendor sent that could not be read (a required id or timestamp missing or unparsable):
    # each skipped and logged by the adapter, the rest of its page committed (integrations.skips)
    unreadable: int = 0
    pages: int = 0
    api_calls: int = 0
    duration_s: float = 0.0
    cursor: str | None = None
    status: str = "ok"  # ok | skipped | failed | reconnect | quota | throttled | unreachable
    error: str | None = None
    hint: str | None = None
    retry_after: float | None = None  # throttled: seconds until the shared budget has a token again


@dataclass(slots=True)
class InstallationReport:
    vendor: str
    status: str = "ok"  # ok | partial | reconnect | quota | unreachable
    streams: list[StreamReport] = field(default_factory=list)
    api_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_tenant(
    settings: Settings,
    tenant_id: int,
    vendor: str | None = None,
    full: bool = False,
    streams: Collection[Stream] | None = None,
    **adapter_overrides: Any,
) -> list[InstallationReport]:
    """Sync each connected installation of the tenant (one vendor's failure never stops the others);
    `streams`: only those (a targeted refresh), else every stream the adapter reads."""
    with transaction(settings.sqlalchemy_url) as session:
        insts = [
            i for i in store.installations(session, tenant_id, vendor) if i.status in {"connected", "error"}
        ]
        if full:
            for inst in insts:
                store.clear_cursors(session, tenant_id, inst.id)
    return [sync_installation(settings, inst, streams=streams, **adapter_overrides) for inst in insts]


def sync_installation(
    settings: Settings, inst: Any, streams: Collection[Stream] | None = None, **adapter_overrides: Any
) -> InstallationReport:
    report = InstallationReport(vendor=inst.vendor)
    adapter = adapter_for(settings, inst, **adapter_overrides)
    log_ctx = {"tenant": inst.tenant_id, "vendor": inst.vendor}
    try:
        for stream in STREAM_ORDER:
            if stream not in adapter.streams or (streams is not None and stream not in streams):
                continue
            sr = _sync_stream(settings, inst.tenant_id, inst.id, adapter, stream)
            report.streams.append(sr)
            # stop this installation cleanly, cursors saved (unreachable: its other streams would only
            # find the same closed door)
            if sr.status in STOPS_INSTALLATION:
                report.status = sr.status
                break
        failed = [s for s in report.streams if s.status == "failed"]
        if report.status == "ok" and failed:
            report.status = "partial"
    finally:
        report.api_calls = int(getattr(adapter, "api_calls", 0))
        adapter.close()
    status = {"reconnect": "reconnect"}.get(report.status, "connected")
    error = next((s.error for s in report.streams if s.error), None)
    store.mark_installation(
        settings.sqlalchemy_url, inst.tenant_id, inst.id, status=status, error=error, synced=True
    )
    logger.info(
        "synced %s: %s, %d streams, %d api calls, %d unreadable records skipped",
        inst.vendor,
        report.status,
        len(report.streams),
        report.api_calls,
        sum(s.unreadable for s in report.streams),
        extra=log_ctx | {"step": "sync"},
    )
    return report


def sync_one_stream(
    settings: Settings, tenant_id: int, inst_id: int, stream_name: str, last: bool
) -> dict[str, Any]:
    """One stream of one installation on its own (a task of a split pass); `last` marks the installation synced.

    Idempotent: it resumes from the stored cursor, so running it twice re-reads at most one page."""
    with transaction(settings.sqlalchemy_url) as session:
        inst = session.get(m.Installation, inst_id)
        if inst is None or inst.tenant_id != tenant_id or inst.status not in {"connected", "error"}:
            return {"vendor": None, "stream": stream_name, "status": "skipped", "error": "not connected"}
        session.expunge(inst)
    adapter = adapter_for(settings, inst)
    stream = Stream(stream_name)
    try:
        if stream not in adapter.streams:
            sr = StreamReport(vendor=inst.vendor, stream=stream_name, status="skipped")
        else:
            sr = _sync_stream(settings, tenant_id, inst_id, adapter, stream)
    finally:
        adapter.close()
    if sr.status != "throttled" and (last or sr.status in STOPS_INSTALLATION):
        status = {"reconnect": "reconnect"}.get(sr.status, "connected")
        store.mark_installation(
            settings.sqlalchemy_url, tenant_id, inst_id, status=status, error=sr.error, synced=True
        )
    return asdict(sr)


def _sync_stream(
    settings: Settings, tenant_id: int, inst_id: int, adapter: Adapter, stream: Stream
) -> StreamReport:
    url = settings.sqlalchemy_url
    sr = StreamReport(vendor=adapter.vendor, stream=stream.value)
    started = time.perf_counter()
    calls_before = int(getattr(adapter, "api_calls", 0))
    with transaction(url) as session:
        cursor = store.get_cursor(session, tenant_id, inst_id, stream.value)
    last: Cursor | None = cursor
    try:
        for page in adapter.read(stream, cursor):
            with transaction(url) as session:
                counts = store.upsert_records(session, tenant_id, page.records)
                if page.cursor is not None:
                    store.save_cursor(session, tenant_id, inst_id, stream.value, page.cursor)
                    last = page.cursor
            sr.pages += 1
            sr.read += len(page.records)
            if (hook := PAGE_PROGRESS.get()) is not None:
                hook(adapter.vendor, stream.value, sr.read)
            sr.upserted += counts["upserted"]
            sr.deleted += counts["deleted"]
            sr.unreadable += page.unreadable
    except ReauthRequiredError as exc:
        sr.status, sr.error, sr.hint = "reconnect", exc.detail, exc.hint
    except QuotaExhaustedError as exc:
        sr.status, sr.error, sr.hint = "quota", exc.detail, exc.hint
    except BudgetExhaustedError as exc:  # pages so far are committed with their cursor: resume later
        sr.status, sr.error, sr.hint, sr.retry_after = "throttled", exc.detail, exc.hint, exc.retry_after
    except PermissionDeniedError as exc:
        sr.status, sr.error, sr.hint = "skipped", exc.detail, exc.hint
    except UnreachableError as exc:
        sr.status, sr.error, sr.hint = "unreachable", exc.detail, exc.hint
        logger.warning("%s %s", adapter.vendor, exc.detail, extra={"vendor": adapter.vendor})
    except IntegrationError as exc:
        sr.status, sr.error, sr.hint = "failed", exc.detail, exc.hint
        logger.warning("stream %s failed: %s", stream.value, exc.detail, extra={"vendor": adapter.vendor})
    except Exception as exc:
        # Not the vendor taxonomy (an answer a mapping could not read, a bug): this stream failed, like any
        # other failure; escaping here stopped the tenant's other installations on every pass. The message
        # stays in the log (it may quote vendor data), the report names the type.
        sr.status, sr.error = "failed", f"unexpected {type(exc).__name__} while reading (see the worker log)"
        sr.hint = "Retried on the next pass; if it persists, report it to support."
        logger.exception("stream %s failed", stream.value, extra={"vendor": adapter.vendor})
    sr.api_calls = int(getattr(adapter, "api_calls", 0)) - calls_before
    sr.duration_s = round(time.perf_counter() - started, 3)
    sr.cursor = last.watermark.isoformat() if last and last.watermark else (last.token if last else None)
    if sr.unreadable:
        logger.warning(
            "stream %s: %d unreadable records skipped (each logged above); the rest was read",
            stream.value,
            sr.unreadable,
            extra={"vendor": adapter.vendor, "unreadable": sr.unreadable},
        )
    return sr
