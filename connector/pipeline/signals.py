"""Per-account raw metrics for the scoring model, computed from the store as of a moment.

Everything is "as of": only facts that existed at `as_of` count (tickets created before it, surveys
answered before it, deals still open at it), so the backtest scores a past date without looking ahead.
Known limits of the store's history: a ticket's sentiment is that of its whole thread today, and
ARR/renewal date/contacts' "last contacted" are today's values; the backtest therefore leaves ARR change,
days to renewal and days since last contact out (`historical=True`). Seat usage is read as it was on the
date from the CRM's field history (connector/pipeline/field_history.py) where the CRM keeps one.
"""

from __future__ import annotations

import statistics
from collections import namedtuple
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, DateTime, or_, select, true, type_coerce
from sqlalchemy.orm import Session

from connector.pipeline.field_history import HISTORY_METRICS, Change, metrics_as_of, seat_utilisation
from connector.pipeline.link import crm_vendor
from connector.store import models as m
from connector.store.chunks import chunks
from scoring.features import detractor_share, nps, time_decayed_mean
from scoring.types import AccountSignals

OPEN = {"new", "open", "pending", "hold"}
SURVEY_RANGE = {"csat": (1.0, 5.0), "nps": (0.0, 10.0)}
# Survey answers age: a response half a year old says less about the account now than last month's.
NPS_HALF_LIFE_DAYS = 90.0
# The year's ticket metrics weigh a ticket half as much per this many days of age. An account's health is
# mostly a slow baseline: a small account opens ~6 tickets a year, and a year of them, mildly decayed,
# reads that baseline far better than the one or two tickets of a quarter (chosen on training seeds 0-2:
# docs/scoring.md).
# The longest look-back of any ticket metric: the split pass judges tickets this recent before it scores
# (connector/pipeline/sentiment.RECENT_DAYS), so a wider window here must widen that too.
TICKET_WINDOW_DAYS = 365
# The longest look-back of any survey metric (csat/nps over 365 days): older answers are not read.
SURVEY_WINDOW_DAYS = 365
YEAR_HALF_LIFE_DAYS = 180.0
UNKNOWN_PROGRESS = 0.3  # an open renewal whose stage (then) we do not know
NEGATIVE_SCORE = -0.25  # a ticket whose rolled-up customer sentiment is at or below this counts negative

# Open renewal progress by stage name, across vendors (SF stage labels, HubSpot stage ids, neutral names).
STAGE_PROGRESS = {
    "prospecting": 0.1,
    "qualification": 0.25,
    "needs analysis": 0.3,
    "appointmentscheduled": 0.1,
    "qualifiedtobuy": 0.25,
    "presentationscheduled": 0.4,
    "decisionmakerboughtin": 0.6,
    "proposal": 0.5,
    "proposal/price quote": 0.5,
    "value proposition": 0.4,
    "contractsent": 0.8,
    "negotiation": 0.75,
    "negotiation/review": 0.75,
    "perception analysis": 0.45,
    "id. decision makers": 0.35,
}


# The columns the metrics read: rows of these, not ORM objects (a 2,000-account tenant has ~40k tickets,
# and building an instrumented object per row was most of the score step's CPU, issue 17). Tests pass
# m.Ticket / m.Deal objects, which have the same attributes.
TICKET_COLUMNS = (
    m.Ticket.vendor, m.Ticket.external_id, m.Ticket.crm_account_id, m.Ticket.status, m.Ticket.priority,
    m.Ticket.escalated, m.Ticket.reopens, m.Ticket.vendor_created_at, m.Ticket.solved_at,
    m.Ticket.first_reply_minutes, m.Ticket.full_resolution_minutes, m.Ticket.sentiment_label,
    m.Ticket.sentiment_score,
)  # fmt: skip
DEAL_COLUMNS = (
    m.Deal.account_external_id, m.Deal.kind, m.Deal.stage, m.Deal.is_closed, m.Deal.close_date,
    m.Deal.vendor_created_at, m.Deal.vendor_updated_at,
)  # fmt: skip


def _plain_times(dialect: str, columns: Sequence[Any]) -> list[Any]:
    """On PostgreSQL, the timestamp columns read without the store's UTCDateTime result processing: the
    sessions run in UTC (db.get_engine), so psycopg already gives aware UTC datetimes and the processor
    returned each value as it was, one Python call per value (~100k per pass at 2,000 accounts, issue 17).
    SQLite (naive values) keeps it."""
    if dialect != "postgresql":
        return list(columns)
    return [
        type_coerce(c, DateTime(timezone=True)).label(c.key) if isinstance(c.type, m.UTCDateTime) else c
        for c in columns
    ]


@dataclass(slots=True)
class _Acc:
    account: m.Account
    tickets: list[Any] = field(default_factory=list)  # rows of TICKET_COLUMNS (or m.Ticket)
    csat: list[tuple[datetime, float]] = field(default_factory=list)
    nps: list[tuple[datetime, float]] = field(default_factory=list)
    deals: list[Any] = field(default_factory=list)  # rows of DEAL_COLUMNS (or m.Deal)
    last_contact: datetime | None = None
    # metric → its field changes, oldest first (read for a backtest only)
    history: dict[str, list[Change]] = field(default_factory=dict)


def load_signals(
    session: Session,
    tenant_id: int,
    as_of: datetime,
    historical: bool = False,
    account_ids: Collection[int] | None = None,
    accounts: dict[int, m.Account] | None = None,
) -> list[AccountSignals]:
    """AccountSignals for every live CRM account of the tenant (account_id = the store's account id), or
    only for `account_ids` (a targeted refresh: it reads those accounts' rows, not the tenant's).
    `accounts`, when given, receives the Account rows read (id → row), so the caller need not read them
    again."""
    crm = crm_vendor(session, tenant_id)
    if crm is None:
        return []
    accs = _gather(session, tenant_id, crm, as_of, historical, account_ids)
    if accounts is not None:
        accounts.update((i, a.account) for i, a in accs.items())
    return [signals_for(a, as_of, historical) for a in accs.values()]


def _gather(
    session: Session,
    tenant_id: int,
    crm: str,
    as_of: datetime,
    historical: bool,
    only: Collection[int] | None,
) -> dict[int, _Acc]:
    # deleted_at is stamped by our sync's wall clock, while as_of may follow a sandbox clock behind it:
    # a live pass excludes every deleted account; only a backtest keeps those deleted after its date.
    live: ColumnElement[bool] = m.Account.deleted_at.is_(None)
    if historical:
        live = live | (m.Account.deleted_at > as_of)
    if only is not None:
        live = live & m.Account.id.in_(list(only))
    accounts = session.scalars(
        select(m.Account).where(m.Account.tenant_id == tenant_id, m.Account.vendor == crm, live)
    ).all()
    accs = {a.id: _Acc(a) for a in accounts}
    by_ext = {a.external_id: a.id for a in accounts}
    mine = _Only(only is not None, list(accs), list(by_ext))
    # No metric reads a ticket older than the longest window unless it is still open: a full load reads
    # only those (an 18-month book's oldest third stays in the database, issue 17). Surveys may still name
    # an older ticket; the few they name are looked up by id below. A targeted load (a handful of
    # accounts) reads all its accounts' tickets: its survey filter needs their ids.
    oldest = as_of - timedelta(days=TICKET_WINDOW_DAYS)
    windowed = not mine.on
    # Column reads run on the session's connection (Core): the same rows without the ORM's per-row loading
    # machinery, which cost more than the rows themselves at ~38k tickets (issue 17).
    conn = session.connection()
    dialect = conn.dialect.name
    tickets = _named(
        conn.execute(
            select(*_plain_times(dialect, TICKET_COLUMNS)).where(
                m.Ticket.tenant_id == tenant_id,
                m.Ticket.crm_account_id.in_(mine.ids) if mine.on else m.Ticket.crm_account_id.is_not(None),
                m.Ticket.deleted_at.is_(None),
                m.Ticket.vendor_created_at <= as_of,
                _recent_or_open(oldest, as_of) if windowed else true(),
            )
        )
    )
    ticket_account = {}
    for t in tickets:
        if t.crm_account_id in accs:
            if t.vendor_created_at > oldest or _open_ticket(t, as_of):
                accs[t.crm_account_id].tickets.append(t)
            ticket_account[(t.vendor, t.external_id)] = t.crm_account_id
    surveys = _named(
        conn.execute(
            select(
                *_plain_times(
                    dialect,
                    (
                        m.SurveyResponse.vendor,
                        m.SurveyResponse.account_external_id,
                        m.SurveyResponse.ticket_external_id,
                        m.SurveyResponse.kind,
                        m.SurveyResponse.score,
                        m.SurveyResponse.responded_at,
                    ),
                )
            ).where(
                m.SurveyResponse.tenant_id == tenant_id,
                m.SurveyResponse.deleted_at.is_(None),
                m.SurveyResponse.responded_at <= as_of,
                m.SurveyResponse.responded_at > as_of - timedelta(days=SURVEY_WINDOW_DAYS),
                mine.surveys(tickets),
            )
        )
    )
    if windowed:
        ticket_account |= _older_tickets(
            session, tenant_id, as_of, accs, by_ext, crm, surveys, ticket_account
        )
    unbounded = (float("-inf"), float("inf"))
    for s in surveys:
        acc_id = by_ext.get(s.account_external_id or "") if s.vendor == crm else None
        if acc_id is None and s.ticket_external_id:
            acc_id = ticket_account.get((s.vendor, s.ticket_external_id))
        if acc_id is None:
            continue
        low, high = SURVEY_RANGE.get(s.kind, unbounded)  # _valid_survey, inlined
        if low <= s.score <= high:
            (accs[acc_id].csat if s.kind == "csat" else accs[acc_id].nps).append((s.responded_at, s.score))
    # .all(): iterating the result fetched the rows one at a time (~30k deals and contacts).
    for d in _named(
        conn.execute(
            select(*_plain_times(dialect, DEAL_COLUMNS)).where(
                m.Deal.tenant_id == tenant_id,
                m.Deal.vendor == crm,
                m.Deal.deleted_at.is_(None),
                mine.of(m.Deal.account_external_id),
            )
        )
    ):
        if (acc_id := by_ext.get(d.account_external_id or "")) is not None:
            accs[acc_id].deals.append(d)
    for c in _named(
        conn.execute(
            select(
                *_plain_times(dialect, (m.Contact.account_external_id, m.Contact.last_contacted_at))
            ).where(
                m.Contact.tenant_id == tenant_id,
                m.Contact.vendor == crm,
                m.Contact.deleted_at.is_(None),
                mine.of(m.Contact.account_external_id),
            )
        )
    ):
        acc_id = by_ext.get(c.account_external_id or "")
        if acc_id is not None and c.last_contacted_at and c.last_contacted_at <= as_of:
            cur = accs[acc_id].last_contact
            accs[acc_id].last_contact = max(cur, c.last_contacted_at) if cur else c.last_contacted_at
    if historical:
        _read_history(conn, tenant_id, crm, accs, by_ext, mine)
    return accs


def _read_history(
    conn: Any, tenant_id: int, crm: str, accs: dict[int, _Acc], by_ext: dict[str, int], mine: _Only
) -> None:
    """Every stored change of the usage fields (after the date too: a Salesforce change's old value is
    what the field said before it)."""
    dialect = conn.dialect.name
    rows = _named(
        conn.execute(
            select(
                *_plain_times(
                    dialect,
                    (
                        m.MetricChange.account_external_id,
                        m.MetricChange.metric,
                        m.MetricChange.changed_at,
                        m.MetricChange.value,
                        m.MetricChange.old_value,
                    ),
                )
            )
            .where(
                m.MetricChange.tenant_id == tenant_id,
                m.MetricChange.vendor == crm,
                m.MetricChange.deleted_at.is_(None),
                m.MetricChange.metric.in_(HISTORY_METRICS),
                mine.of(m.MetricChange.account_external_id),
            )
            .order_by(m.MetricChange.changed_at, m.MetricChange.id)
        )
    )
    for r in rows:
        if (acc_id := by_ext.get(r.account_external_id)) is not None:
            accs[acc_id].history.setdefault(r.metric, []).append(Change(r.changed_at, r.value, r.old_value))


@lru_cache(maxsize=32)
def _row_type(keys: tuple[str, ...]) -> Any:
    return namedtuple("Row", keys)


def _named(result: Any) -> list[Any]:
    """The result's rows as named tuples. SQLAlchemy's Row resolves each attribute through its key map,
    ~1 µs here (30x an index or a named tuple's attribute), and the metrics read ~15 attributes per ticket
    (issue 17). `.all()` first: iterating the result fetched the rows one at a time."""
    rows = result.all()
    make = _row_type(tuple(result.keys()))._make
    return [make(row) for row in rows]


def _recent_or_open(oldest: datetime, as_of: datetime) -> ColumnElement[bool]:
    """SQL for "created after `oldest` or open at `as_of`" (`_open_ticket`): the tickets a metric reads."""
    return or_(
        m.Ticket.vendor_created_at > oldest, m.Ticket.solved_at > as_of, m.Ticket.status.in_(sorted(OPEN))
    )


def _older_tickets(
    session: Session,
    tenant_id: int,
    as_of: datetime,
    accs: dict[int, _Acc],
    by_ext: dict[str, int],
    crm: str,
    surveys: Sequence[Any],
    known: dict[tuple[str, str], int],
) -> dict[tuple[str, str], int]:
    """(vendor, ticket id) → account of the tickets outside the window that surveys name (a CSAT answer on
    an old ticket): looked up by id, in chunks, with the filters of the windowed read."""
    wanted = {
        (s.vendor, s.ticket_external_id)
        for s in surveys
        if s.ticket_external_id
        and (s.vendor, s.ticket_external_id) not in known
        and (s.vendor != crm or s.account_external_id not in by_ext)
    }
    out: dict[tuple[str, str], int] = {}
    for ids in chunks(sorted({ext for _, ext in wanted})):
        for t in session.execute(
            select(m.Ticket.vendor, m.Ticket.external_id, m.Ticket.crm_account_id).where(
                m.Ticket.tenant_id == tenant_id,
                m.Ticket.external_id.in_(ids),
                m.Ticket.crm_account_id.is_not(None),
                m.Ticket.deleted_at.is_(None),
                m.Ticket.vendor_created_at <= as_of,
            )
        ):
            if t.crm_account_id in accs and (t.vendor, t.external_id) in wanted:
                out[(t.vendor, t.external_id)] = t.crm_account_id
    return out


@dataclass(frozen=True, slots=True)
class _Only:
    """The extra filter of a targeted load (`on`), or none: every row of the tenant."""

    on: bool
    ids: list[int]
    exts: list[str]

    def of(self, column: Any) -> ColumnElement[bool]:
        return column.in_(self.exts) if self.on else true()

    def surveys(self, tickets: Sequence[Any]) -> ColumnElement[bool]:
        if not self.on:
            return true()
        return or_(
            m.SurveyResponse.account_external_id.in_(self.exts),
            m.SurveyResponse.ticket_external_id.in_([t.external_id for t in tickets]),
        )


def _valid_survey(s: Any) -> bool:
    """One mistyped response (NPS 11, CSAT 0) must not fail the whole tenant's scoring (nps() raises)."""
    low, high = SURVEY_RANGE.get(s.kind, (float("-inf"), float("inf")))
    return bool(low <= s.score <= high)


def _within(items: Iterable[tuple[datetime, float]], start: datetime, end: datetime) -> list[float]:
    return [v for t, v in items if start < t <= end]


def _within_t(
    items: Iterable[tuple[datetime, float]], start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    return [(t, v) for t, v in items if start < t <= end]


def _decayed(items: list[tuple[datetime, float]], as_of: datetime, half_life: float) -> float | None:
    """Mean of the values, each weighing half as much per `half_life` days of age at `as_of`."""
    return time_decayed_mean(
        [v for _, v in items], [(as_of - t).total_seconds() / 86400 for t, _ in items], half_life=half_life
    )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


class _Tk(NamedTuple):
    """One ticket's values every metric reads, taken once per account: the windows below filtered the
    ticket rows up to eight times and read the same columns, ages and tone each time (issue 17)."""

    created: datetime
    age: float  # days before as_of, (as_of - created).total_seconds() / 86400 as every metric computes it
    score: float | None  # sentiment_score
    neg: bool  # _neg
    high: bool  # priority high or urgent
    escalated: bool
    reopened: bool  # reopens > 0
    row: Any


def _ticket_values(tickets: Sequence[Any], as_of: datetime) -> list[_Tk]:
    out = []
    for t in tickets:
        created, score = t.vendor_created_at, t.sentiment_score
        out.append(
            _Tk(
                created,
                (as_of - created).total_seconds() / 86400,
                score,
                t.sentiment_label == "negative" or (score is not None and score <= NEGATIVE_SCORE),
                t.priority in _HIGH,
                bool(t.escalated),
                (t.reopens or 0) > 0,
                t,
            )
        )
    return out


_HIGH = frozenset({"high", "urgent"})


def signals_for(acc: _Acc, as_of: datetime, historical: bool = False) -> AccountSignals:
    """The metric values of one account (names as in scoring/default_model.yaml).

    Each value is computed with the same operations in the same order as before the single pass over the
    tickets (issue 17), so scores are identical to the last bit (tests/connector/pipeline/test_signals.py
    compares with the earlier implementation)."""
    a = acc.account
    d = timedelta(days=1)
    # The window starts once per account, not once per ticket (issue 17).
    since90, since30, since14 = as_of - 90 * d, as_of - 30 * d, as_of - 14 * d
    tks = _ticket_values(acc.tickets, as_of)
    t90 = [t for t in tks if t.created > since90]
    t30 = [t for t in t90 if t.created > since30]
    prev60 = len([1 for t in tks if since90 < t.created <= since30])
    open_now = len([1 for t in acc.tickets if _open_ticket(t, as_of)])
    scored30 = [t for t in t30 if t.score is not None]
    scored90 = [t for t in t90 if t.score is not None]
    csat90 = _within(acc.csat, as_of - 90 * d, as_of)
    csat_prior = _within(acc.csat, as_of - 180 * d, as_of - 90 * d)
    nps365 = _within(acc.nps, as_of - 365 * d, as_of)
    first_reply = [t.row.first_reply_minutes for t in t90]
    resolution = [(t.row.full_resolution_minutes, t.row.solved_at) for t in t90]
    metrics: dict[str, float | None] = {
        "open_tickets": float(open_now),
        "escalated_tickets_90d": float(len([1 for t in t90 if t.escalated])),
        "ticket_volume_trend": _volume_trend(len(t30), prev60),
        "high_priority_share_90d": (len([1 for t in t90 if t.high]) / len(t90)) if t90 else None,
        "first_reply_hours_median_90d": _hours(_median([m for m in first_reply if m is not None])),
        "resolution_hours_median_90d": _hours(
            _median([m for m, solved in resolution if m is not None and solved and solved <= as_of])
        ),
        "reopen_rate_90d": (len([1 for t in t90 if t.reopened]) / len(t90)) if t90 else None,
        "csat_avg_90d": statistics.fmean(csat90) if csat90 else None,
        "csat_trend": (statistics.fmean(csat90) - statistics.fmean(csat_prior))
        if csat90 and csat_prior
        else None,
        "nps_score": nps(nps365),
        "nps_detractor_share": detractor_share(nps365),
        "sentiment_30d": time_decayed_mean(
            [t.score or 0.0 for t in scored90], [t.age for t in scored90], half_life=14.0
        ),
        "negative_ticket_share_30d": (len([1 for t in scored30 if t.neg]) / len(scored30))
        if scored30
        else None,
        "negative_tickets_14d": float(len([1 for t in scored30 if t.neg and t.created > since14])),
        "nps_avg_365d": _decayed(_within_t(acc.nps, as_of - 365 * d, as_of), as_of, NPS_HALF_LIFE_DAYS),
        "days_to_renewal": float((a.renewal_date - as_of.date()).days)
        if a.renewal_date and not historical
        else None,
        "open_renewal_deal_stage": _renewal_progress(acc.deals, as_of),
        "open_upsell_deals": float(sum(1 for x in acc.deals if x.kind == "upsell" and _open_at(x, as_of))),
        # A contact's "last contacted" is a current value: a contact reached since `as_of` hides when it
        # was reached before, so a past date cannot know it (and what is left is biased): live only.
        "days_since_last_contact": float((as_of - acc.last_contact).days)
        if acc.last_contact and not historical
        else None,
    }
    metrics.update(_evidence(acc, as_of, tks))
    metrics.update(_year(acc, as_of, tks))
    if not historical:
        metrics["arr_change_pct"] = (
            float((a.arr - a.arr_prev) / a.arr_prev * 100) if a.arr is not None and a.arr_prev else None
        )
        metrics["seat_utilisation"] = seat_utilisation(a.metrics or {})
    else:
        metrics["seat_utilisation"] = seat_utilisation(metrics_as_of(a.metrics or {}, acc.history, as_of))
    return AccountSignals(account_id=str(a.id), metrics=metrics, arr=a.arr, plan=a.plan, segment=a.segment)


def _evidence(acc: _Acc, as_of: datetime, tks: list[_Tk]) -> dict[str, float | None]:
    """How much data stands behind the averaged metrics (the model weighs a mean of one answer less than a
    mean of ten: `evidence` in scoring/default_model.yaml), plus longer-window variants of the noisy
    ticket metrics. Counts are 0.0, not None, when there is nothing: "no answers" is a measurement."""
    d = timedelta(days=1)
    since180, since90 = as_of - 180 * d, as_of - 90 * d
    t180 = [t for t in tks if t.created > since180]
    scored180 = [t for t in t180 if t.score is not None]
    ages = [t.age for t in scored180]
    nps365 = _within_t(acc.nps, as_of - 365 * d, as_of)
    csat365 = _within_t(acc.csat, as_of - 365 * d, as_of)
    return {
        # decay-weighted answer counts: the weights behind nps_avg_365d / csat_avg_365d
        "nps_responses_365d": _weight_sum(nps365, as_of, NPS_HALF_LIFE_DAYS),
        "csat_responses_90d": float(len(_within(acc.csat, as_of - 90 * d, as_of))),
        "csat_responses_365d": _weight_sum(csat365, as_of, NPS_HALF_LIFE_DAYS),
        "csat_avg_365d": _decayed(csat365, as_of, NPS_HALF_LIFE_DAYS),
        "tickets_90d": float(len([1 for t in t180 if t.created > since90])),
        "tickets_180d": float(len(t180)),
        "high_priority_share_180d": (len([1 for t in t180 if t.high]) / len(t180)) if t180 else None,
        # the weights behind sentiment_30d (half-life 14 d over 90 d) and the 180-day variant (half-life 60 d)
        "sentiment_tickets_30d": sum([0.5 ** (a / 14.0) for a in ages if a < 90]),
        "sentiment_tickets_180d": sum([0.5 ** (a / 60.0) for a in ages]),
        "sentiment_180d": time_decayed_mean([t.score or 0.0 for t in scored180], ages, half_life=60.0),
        "negative_ticket_share_180d": (len([1 for t in scored180 if t.neg]) / len(scored180))
        if scored180
        else None,
    }


def _year(acc: _Acc, as_of: datetime, tks: list[_Tk]) -> dict[str, float | None]:
    """The year's ticket metrics, each ticket weighted 0.5 ** (age / YEAR_HALF_LIFE_DAYS): priority, tone,
    escalations and reopens as decay-weighted shares/means, plus the weights behind them (evidence) and the
    ticket rate per 30 days (how often the account needs help; compared within its segment)."""
    since = as_of - timedelta(days=TICKET_WINDOW_DAYS)
    year = [t for t in tks if t.created > since]
    w = [0.5 ** (t.age / YEAR_HALF_LIFE_DAYS) for t in year]
    scored = [(wi, t) for wi, t in zip(w, year, strict=True) if t.score is not None]
    total, stotal = sum(w), sum([wi for wi, _ in scored])
    return {
        "tickets_365d": float(len(year)),
        "ticket_weight_365d": float(total),
        "ticket_rate_365d": len(year) / _months_known(acc, as_of),
        "high_priority_share_365d": sum([wi for wi, t in zip(w, year, strict=True) if t.high]) / total
        if total
        else None,
        "escalated_share_365d": sum([wi for wi, t in zip(w, year, strict=True) if t.escalated]) / total
        if total
        else None,
        "reopened_share_365d": sum([wi for wi, t in zip(w, year, strict=True) if t.reopened]) / total
        if total
        else None,
        "sentiment_tickets_365d": float(stotal),
        "sentiment_365d": sum([wi * (t.score or 0.0) for wi, t in scored]) / stotal if stotal else None,
        "negative_ticket_share_365d": sum([wi for wi, t in scored if t.neg]) / stotal if stotal else None,
    }


def _months_known(acc: _Acc, as_of: datetime) -> float:
    """30-day months of the last year we have known the account (since its first deal was created; at
    least one): a customer signed three months ago has had three months to open tickets, not twelve."""
    starts = [d.vendor_created_at for d in acc.deals if d.vendor_created_at is not None]
    first = min(starts) if starts else None
    days = 365.0 if first is None else min(365.0, max(30.0, (as_of - first).total_seconds() / 86400))
    return days / 30.0


def _weight_sum(items: list[tuple[datetime, float]], as_of: datetime, half_life: float) -> float:
    return float(sum(0.5 ** ((as_of - t).total_seconds() / 86400 / half_life) for t, _ in items))


def _open_ticket(t: Any, as_of: datetime) -> bool:
    """Open at `as_of`: solved only after it, or open now. A solved/closed ticket whose vendor gave no
    solve time is not counted open (Salesforce Cases closed without ClosedDate, merged Zendesk tickets)."""
    if t.solved_at is not None and t.solved_at > as_of:
        return True
    return t.status in OPEN


def _neg(t: Any) -> bool:
    return t.sentiment_label == "negative" or (
        t.sentiment_score is not None and t.sentiment_score <= NEGATIVE_SCORE
    )


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else minutes / 60.0


def _volume_trend(last30: int, prev60: int) -> float | None:
    if last30 == 0 and prev60 == 0:
        return None
    baseline = prev60 / 2.0
    return min(4.0, last30 / baseline) if baseline else 4.0


def _open_at(deal: Any, as_of: datetime) -> bool:
    created = deal.vendor_created_at
    if created is not None and created > as_of:
        return False
    if not deal.is_closed:
        return True
    return deal.close_date is not None and deal.close_date > as_of.date()


def _renewal_progress(deals: list[Any], as_of: datetime) -> float | None:
    """Stage progress of the open renewal deal. A deal closed after `as_of` was open then, but its stage
    then is unknown, so it counts as open with unknown progress (no look-ahead)."""
    progress: list[float] = []
    for deal in deals:
        if deal.kind != "renewal" or not _open_at(deal, as_of):
            continue
        # Today's stage is the stage at `as_of` only if the deal has not changed since.
        known = not deal.is_closed and deal.vendor_updated_at <= as_of
        progress.append(
            STAGE_PROGRESS.get(deal.stage.lower(), UNKNOWN_PROGRESS) if known else UNKNOWN_PROGRESS
        )
    return max(progress) if progress else None
