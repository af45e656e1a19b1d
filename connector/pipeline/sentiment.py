"""The sentiment step: score the customer messages of tickets whose text changed, roll them up per
ticket with `nlp.ticket.roll_up` (the latest customer message weighs most), and store label, score and
the excerpt behind it.

Model output is cached in `sentiment_results` by (text hash, model version), so unchanged text is never
scored twice, across passes and processes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.orm import Session

from connector.clock import tenant_now
from connector.config import Settings
from connector.pipeline.signals import TICKET_WINDOW_DAYS
from connector.store import models as m
from connector.store.chunks import chunks
from connector.store.db import transaction, upsert_insert
from connector.store.repo import utcnow
from nlp.cache import text_hash
from nlp.sentiment import Label, Sentiment, SentimentClassifier
from nlp.ticket import roll_up

logger = logging.getLogger(__name__)
# Texts per model call: the model sorts a call's texts by length before batching them, so a larger call
# wastes less compute on padding (and pays its fixed per-call costs less often).
BATCH = 2048
# "recent" tickets: created within this many days of the tenant's now. Every ticket metric the score reads
# (signals.py: the year's decayed metrics at most) and every page's default window (support: 182 days) fit
# in it, so a split pass judges these first, scores and writes back, and judges the older tickets (which
# only backtests and old history need) after that (connector/jobs/passes.py). A week of margin covers a
# pass that crosses midnight between the two stages.
RECENT_DAYS = TICKET_WINDOW_DAYS + 7
Window = Literal["recent", "older"] | None


@dataclass(slots=True)
class SentimentReport:
    tickets_read: int = 0  # tickets the step looked at (stale ones in a pass; the named ones in a refresh)
    tickets_changed: int = 0
    messages: int = 0
    model_calls: int = 0  # messages the model actually scored (cache misses)
    cache_hits: int = 0
    negative: int = 0
    model_version: str = ""


@lru_cache(maxsize=4)
def load_model(model_path: str, instance_path: str, threads: int | None = None) -> Any:
    """The configured model (or the packaged default), loaded once per process; `threads`: ONNX Runtime
    intra-op threads (None: every core)."""
    import nlp

    return nlp.load_default_model(model_path or None, Path(instance_path), threads=threads)


def _in_part(part: tuple[int, int] | None) -> Any:
    """Tickets of chunk k of n (by id), so n tasks can share a tenant's sentiment step."""
    return true() if part is None else (m.Ticket.id % part[1]) == part[0]


def _in_window(window: Window, cutoff: datetime | None) -> Any:
    """Tickets created after `cutoff` ("recent"), at or before it ("older"), or all (no window)."""
    if window is None or cutoff is None:
        return true()
    return m.Ticket.vendor_created_at > cutoff if window == "recent" else m.Ticket.vendor_created_at <= cutoff


def _only(vendor: Any, external_id: Any, keys: Collection[tuple[str, str]] | None) -> Any:
    """Rows of these (vendor, external id) tickets only (a targeted refresh), or every row."""
    if keys is None:
        return true()
    by_vendor: dict[str, list[str]] = defaultdict(list)
    for v, ext in keys:
        by_vendor[v].append(ext)
    return or_(false(), *((vendor == v) & external_id.in_(exts) for v, exts in by_vendor.items()))


def _stamp(version: str, digest: str) -> str:
    """The stored ticket hash: 12 hex of the model version, then 52 of the thread's digest, so the step
    can find in SQL the tickets judged by another model without reading their texts."""
    return version_tag(version) + digest[:52]


def version_tag(version: str) -> str:
    return text_hash(version)[:12]


def _stale(version: str | None) -> Any:
    """Tickets the step must look at: never judged, their text changed since (the store clears the hash
    when a comment, description or subject is new or changed: connector/store/repo.py), or judged by
    another model version. `None` (a targeted refresh names its tickets): every one."""
    if version is None:
        return true()
    h = m.Ticket.sentiment_hash
    return or_(h.is_(None), func.substr(h, 1, 12) != version_tag(version))


def _threads(
    session: Session,
    tenant_id: int,
    part: tuple[int, int] | None = None,
    tickets: Collection[tuple[str, str]] | None = None,
    window: Window = None,
    cutoff: datetime | None = None,
    stale: str | None = None,
) -> dict[tuple[str, str], list[str]]:
    """Customer messages per ticket, oldest first (agent replies are not the customer's sentiment);
    `stale`: of the tickets `_stale(stale)` selects only."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    stmt = select(m.TicketComment.vendor, m.TicketComment.ticket_external_id, m.TicketComment.body).where(
        m.TicketComment.tenant_id == tenant_id,
        m.TicketComment.author_role == "customer",
        m.TicketComment.deleted_at.is_(None),
        _only(m.TicketComment.vendor, m.TicketComment.ticket_external_id, tickets),
    )
    if part is not None or window is not None or stale is not None:
        stmt = stmt.join(
            m.Ticket,
            (m.Ticket.tenant_id == m.TicketComment.tenant_id)
            & (m.Ticket.vendor == m.TicketComment.vendor)
            & (m.Ticket.external_id == m.TicketComment.ticket_external_id),
        ).where(_in_part(part), _in_window(window, cutoff), _stale(stale))
    rows = session.execute(stmt.order_by(m.TicketComment.vendor_created_at, m.TicketComment.id))
    for vendor, ticket, body in rows:
        out[(vendor, ticket)].append(body or "")
    return out


def classify_cached(
    session: Session,
    tenant_id: int,
    model: SentimentClassifier,
    version: str,
    texts: list[str],
    report: SentimentReport,
) -> dict[str, Sentiment]:
    """Sentiment per text hash, from the cache table or the model (new results are stored)."""
    hashes = {text_hash(t): t for t in texts}
    cached: dict[str, Sentiment] = {}
    keys = list(hashes)
    for chunk in chunks(keys, 500):
        for row in session.scalars(
            select(m.SentimentResult).where(
                m.SentimentResult.tenant_id == tenant_id,
                m.SentimentResult.model_version == version,
                m.SentimentResult.text_hash.in_(chunk),
            )
        ):
            cached[row.text_hash] = Sentiment(
                label=cast(Label, row.label), score=row.score, confidence=row.confidence, excerpt=row.excerpt
            )
    missing = [h for h in keys if h not in cached]
    report.cache_hits += len(keys) - len(missing)
    now = utcnow()
    insert = upsert_insert(session.get_bind().dialect.name)
    for i in range(0, len(missing), BATCH):
        chunk = missing[i : i + BATCH]
        rows = []
        for h, s in zip(chunk, model.classify_many([hashes[h] for h in chunk]), strict=True):
            cached[h] = s
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "text_hash": h,
                    "model_version": version,
                    "label": s.label,
                    "score": s.score,
                    "confidence": s.confidence,
                    "excerpt": s.excerpt[:1000],
                    "created_at": now,
                }
            )
        if rows:
            # Chunks of one pass run in parallel and may share a text: the first result stored wins.
            session.execute(insert(m.SentimentResult).values(rows).on_conflict_do_nothing())
        report.model_calls += len(chunk)
    return cached


def score_tenant(
    session: Session,
    tenant_id: int,
    model: SentimentClassifier,
    version: str,
    part: tuple[int, int] | None = None,
    only: Collection[tuple[str, str]] | None = None,
    window: Window = None,
) -> SentimentReport:
    """Judge every changed ticket of the tenant (or of chunk `part`, or only the `only` tickets, or only
    those of one `window`: "recent" or "older" than RECENT_DAYS).

    Without `only`, only tickets whose stored hash is missing or from another model are read (`_stale`):
    a pass costs what changed, not what the tenant holds (issue 17: at 10,000 accounts every pass read
    ~200k tickets and ~425k messages to find the day's few thousand)."""
    report = SentimentReport(model_version=version)
    cutoff = tenant_now(session, tenant_id) - timedelta(days=RECENT_DAYS) if window else None
    stale = version if only is None else None
    threads = _threads(session, tenant_id, part, only, window, cutoff, stale)
    tickets = session.scalars(
        select(m.Ticket).where(
            m.Ticket.tenant_id == tenant_id,
            m.Ticket.deleted_at.is_(None),
            _in_part(part),
            _only(m.Ticket.vendor, m.Ticket.external_id, only),
            _in_window(window, cutoff),
            _stale(stale),
        )
    ).all()
    report.tickets_read = len(tickets)
    todo: list[tuple[m.Ticket, list[str], str]] = []
    for t in tickets:
        # No customer comment (a Case or HubSpot ticket with only its body): judge the description, else
        # the subject.
        msgs = threads.get((t.vendor, t.external_id)) or [x for x in (t.description or t.subject,) if x]
        digest = _stamp(version, text_hash(version + "\x00" + "\x00".join(msgs)))
        if t.sentiment_hash != digest:
            todo.append((t, msgs, digest))
    report.tickets_changed = len(todo)
    texts = [msg for _, msgs, _ in todo for msg in msgs]
    report.messages = len(texts)
    results = classify_cached(session, tenant_id, model, version, texts, report)
    for t, msgs, digest in todo:
        s = roll_up([results[text_hash(msg)] for msg in msgs])
        if s.confidence > 0:
            t.sentiment_label, t.sentiment_score, t.sentiment_confidence = s.label, s.score, s.confidence
        else:
            # Nothing to judge is no evidence: a stored 0.0 would count as a neutral ticket in the
            # account's sentiment. The hash is still stored so the ticket is not sent again.
            t.sentiment_label, t.sentiment_score, t.sentiment_confidence = None, None, None
        t.sentiment_excerpt, t.sentiment_hash = s.excerpt[:1000], digest
        report.negative += s.label == "negative"
    return report


def run(
    settings: Settings,
    tenant_id: int,
    model: SentimentClassifier | None = None,
    part: tuple[int, int] | None = None,
    only: Collection[tuple[str, str]] | None = None,
    window: Window = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """The pipeline step (or chunk k of n of it: `part`; or the `only` tickets: a targeted refresh);
    `model` is injectable for tests."""
    from dataclasses import asdict

    model = model or load_model(settings.sentiment_model_path, settings.instance_path, threads)
    version = str(getattr(model, "version", None) or getattr(model, "name", "model"))
    with transaction(settings.sqlalchemy_url) as session:
        report = score_tenant(session, tenant_id, model, version, part, only, window)
    logger.info(
        "sentiment: %d tickets changed, %d model calls, %d cache hits",
        report.tickets_changed,
        report.model_calls,
        report.cache_hits,
        extra={"tenant": tenant_id, "step": "sentiment"},
    )
    return asdict(report)
