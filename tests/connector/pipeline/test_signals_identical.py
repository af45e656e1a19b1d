"""The score step's single pass over each account's tickets (issue 17) gives the metrics of the
implementation before it, to the last bit: the earlier signals_for, _evidence and _year are kept here
verbatim (renamed) as the oracle, and both run over a seeded random book with tickets on and around
every window's edge."""

from __future__ import annotations

import random
import statistics
from datetime import date, datetime, timedelta
from decimal import Decimal

from connector.pipeline.field_history import seat_utilisation
from connector.pipeline.signals import (
    NPS_HALF_LIFE_DAYS,
    TICKET_WINDOW_DAYS,
    YEAR_HALF_LIFE_DAYS,
    _Acc,
    _decayed,
    _hours,
    _median,
    _months_known,
    _neg,
    _open_at,
    _open_ticket,
    _renewal_progress,
    _volume_trend,
    _weight_sum,
    _within,
    _within_t,
    signals_for,
)
from connector.store import models as m
from scoring.features import detractor_share, nps, time_decayed_mean
from scoring.types import AccountSignals
from tests.connector.builders import T0

AS_OF = T0 + timedelta(hours=7, minutes=13, seconds=5, microseconds=123457)

# ---- the oracle: connector/pipeline/signals.py before the single pass (commit 4648bd5), verbatim ----


def _old_signals_for(acc: _Acc, as_of: datetime, historical: bool = False) -> AccountSignals:
    """The metric values of one account (names as in scoring/default_model.yaml)."""
    a = acc.account
    d = timedelta(days=1)
    # The window starts once per account, not once per ticket (issue 17).
    since90, since30, since14 = as_of - 90 * d, as_of - 30 * d, as_of - 14 * d
    t90 = [t for t in acc.tickets if t.vendor_created_at > since90]
    t30 = [t for t in t90 if t.vendor_created_at > since30]
    prev60 = [t for t in acc.tickets if since90 < t.vendor_created_at <= since30]
    open_now = [t for t in acc.tickets if _open_ticket(t, as_of)]
    scored30 = [t for t in t30 if t.sentiment_score is not None]
    scored90 = [t for t in t90 if t.sentiment_score is not None]
    csat90 = _within(acc.csat, as_of - 90 * d, as_of)
    csat_prior = _within(acc.csat, as_of - 180 * d, as_of - 90 * d)
    nps365 = _within(acc.nps, as_of - 365 * d, as_of)
    metrics: dict[str, float | None] = {
        "open_tickets": float(len(open_now)),
        "escalated_tickets_90d": float(sum(1 for t in t90 if t.escalated)),
        "ticket_volume_trend": _volume_trend(len(t30), len(prev60)),
        "high_priority_share_90d": (sum(t.priority in {"high", "urgent"} for t in t90) / len(t90))
        if t90
        else None,
        "first_reply_hours_median_90d": _hours(
            _median([t.first_reply_minutes for t in t90 if t.first_reply_minutes is not None])
        ),
        "resolution_hours_median_90d": _hours(
            _median(
                [
                    t.full_resolution_minutes
                    for t in t90
                    if t.full_resolution_minutes is not None and t.solved_at and t.solved_at <= as_of
                ]
            )
        ),
        "reopen_rate_90d": (sum(t.reopens > 0 for t in t90) / len(t90)) if t90 else None,
        "csat_avg_90d": statistics.fmean(csat90) if csat90 else None,
        "csat_trend": (statistics.fmean(csat90) - statistics.fmean(csat_prior))
        if csat90 and csat_prior
        else None,
        "nps_score": nps(nps365),
        "nps_detractor_share": detractor_share(nps365),
        "sentiment_30d": time_decayed_mean(
            [t.sentiment_score or 0.0 for t in scored90],
            [(as_of - t.vendor_created_at).total_seconds() / 86400 for t in scored90],
            half_life=14.0,
        ),
        "negative_ticket_share_30d": (sum(_neg(t) for t in scored30) / len(scored30)) if scored30 else None,
        "negative_tickets_14d": float(sum(_neg(t) for t in scored30 if t.vendor_created_at > since14)),
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
    metrics.update(_old_evidence(acc, as_of))
    metrics.update(_old_year(acc, as_of))
    if not historical:
        metrics["arr_change_pct"] = (
            float((a.arr - a.arr_prev) / a.arr_prev * 100) if a.arr is not None and a.arr_prev else None
        )
        metrics["seat_utilisation"] = seat_utilisation(a.metrics or {})
    return AccountSignals(account_id=str(a.id), metrics=metrics, arr=a.arr, plan=a.plan, segment=a.segment)


def _old_evidence(acc: _Acc, as_of: datetime) -> dict[str, float | None]:
    """How much data stands behind the averaged metrics (the model weighs a mean of one answer less than a
    mean of ten: `evidence` in scoring/default_model.yaml), plus longer-window variants of the noisy
    ticket metrics. Counts are 0.0, not None, when there is nothing: "no answers" is a measurement."""
    d = timedelta(days=1)
    since180, since90 = as_of - 180 * d, as_of - 90 * d
    t180 = [t for t in acc.tickets if t.vendor_created_at > since180]
    scored180 = [t for t in t180 if t.sentiment_score is not None]
    ages = [(as_of - t.vendor_created_at).total_seconds() / 86400 for t in scored180]
    nps365 = _within_t(acc.nps, as_of - 365 * d, as_of)
    csat365 = _within_t(acc.csat, as_of - 365 * d, as_of)
    return {
        # decay-weighted answer counts: the weights behind nps_avg_365d / csat_avg_365d
        "nps_responses_365d": _weight_sum(nps365, as_of, NPS_HALF_LIFE_DAYS),
        "csat_responses_90d": float(len(_within(acc.csat, as_of - 90 * d, as_of))),
        "csat_responses_365d": _weight_sum(csat365, as_of, NPS_HALF_LIFE_DAYS),
        "csat_avg_365d": _decayed(csat365, as_of, NPS_HALF_LIFE_DAYS),
        "tickets_90d": float(sum(1 for t in t180 if t.vendor_created_at > since90)),
        "tickets_180d": float(len(t180)),
        "high_priority_share_180d": (sum(t.priority in {"high", "urgent"} for t in t180) / len(t180))
        if t180
        else None,
        # the weights behind sentiment_30d (half-life 14 d over 90 d) and the 180-day variant (half-life 60 d)
        "sentiment_tickets_30d": sum(
            0.5 ** (a / 14.0) for a, t in zip(ages, scored180, strict=True) if a < 90
        ),
        "sentiment_tickets_180d": sum(0.5 ** (a / 60.0) for a in ages),
        "sentiment_180d": time_decayed_mean(
            [t.sentiment_score or 0.0 for t in scored180], ages, half_life=60.0
        ),
        "negative_ticket_share_180d": (sum(_neg(t) for t in scored180) / len(scored180))
        if scored180
        else None,
    }


def _old_year(acc: _Acc, as_of: datetime) -> dict[str, float | None]:
    """The year's ticket metrics, each ticket weighted 0.5 ** (age / YEAR_HALF_LIFE_DAYS): priority, tone,
    escalations and reopens as decay-weighted shares/means, plus the weights behind them (evidence) and the
    ticket rate per 30 days (how often the account needs help; compared within its segment)."""
    since = as_of - timedelta(days=TICKET_WINDOW_DAYS)
    year = [t for t in acc.tickets if t.vendor_created_at > since]
    w = [0.5 ** ((as_of - t.vendor_created_at).total_seconds() / 86400 / YEAR_HALF_LIFE_DAYS) for t in year]
    scored = [(wi, t) for wi, t in zip(w, year, strict=True) if t.sentiment_score is not None]
    total, stotal = sum(w), sum(wi for wi, _ in scored)

    def share(hit: list[bool]) -> float | None:
        return sum(wi for wi, x in zip(w, hit, strict=True) if x) / total if total else None

    return {
        "tickets_365d": float(len(year)),
        "ticket_weight_365d": float(total),
        "ticket_rate_365d": len(year) / _months_known(acc, as_of),
        "high_priority_share_365d": share([t.priority in {"high", "urgent"} for t in year]),
        "escalated_share_365d": share([bool(t.escalated) for t in year]),
        "reopened_share_365d": share([(t.reopens or 0) > 0 for t in year]),
        "sentiment_tickets_365d": float(stotal),
        "sentiment_365d": sum(wi * (t.sentiment_score or 0.0) for wi, t in scored) / stotal
        if stotal
        else None,
        "negative_ticket_share_365d": sum(wi for wi, t in scored if _neg(t)) / stotal if stotal else None,
    }


# ---- the comparison ----------------------------------------------------------------------------------

EDGES = (14, 30, 90, 180, 365)


def _random_ticket(rng: random.Random, n: int) -> m.Ticket:
    if rng.random() < 0.25:  # on a window's edge, to the microsecond, or just either side of it
        age = timedelta(days=rng.choice(EDGES)) + timedelta(microseconds=rng.choice((-1, 0, 1)))
    else:
        age = timedelta(seconds=rng.uniform(0, 400 * 86400))
    created = AS_OF - age
    status = rng.choice(("new", "open", "pending", "hold", "solved", "closed"))
    solved = None
    if status in ("solved", "closed") and rng.random() < 0.9:
        solved = created + timedelta(hours=rng.uniform(0, 24 * 60))
    score = rng.choice((None, -1.0, -0.25, -0.2500001, 0.0, 0.3)) if rng.random() < 0.3 else None
    if score is None and rng.random() < 0.7:
        score = round(rng.uniform(-1, 1), rng.choice((2, 6)))
    return m.Ticket(
        vendor="zendesk",
        external_id=f"t{n}",
        status=status,
        priority=rng.choice(("low", "normal", "high", "urgent", None)),
        escalated=rng.random() < 0.2,
        reopens=rng.choice((0, 0, 0, 1, 3)),
        vendor_created_at=created,
        solved_at=solved,
        first_reply_minutes=rng.choice((None, rng.uniform(1, 5000))),
        full_resolution_minutes=rng.choice((None, rng.uniform(10, 50000))),
        sentiment_score=score,
        sentiment_label=None if score is None else rng.choice(("negative", "neutral", "positive")),
    )


def _random_account(rng: random.Random, n: int) -> _Acc:
    account = m.Account(
        id=n, vendor="salesforce", external_id=f"{n:03d}", name=f"A{n}",
        arr=Decimal("1200.50") if n % 3 else None, arr_prev=Decimal("1000") if n % 2 else None,
        renewal_date=date(2027, 1, 1) if n % 4 else None, metrics={"seat_utilisation": 0.5} if n % 5 else {},
        plan="pro", segment="mid",
    )  # fmt: skip
    tickets = [_random_ticket(rng, 1000 * n + k) for k in range(rng.choice((0, 1, 3, 12, 40)))]
    when = lambda: AS_OF - timedelta(seconds=rng.uniform(0, 400 * 86400))  # noqa: E731
    return _Acc(
        account,
        tickets=tickets,
        csat=[(when(), float(rng.randint(1, 5))) for _ in range(rng.randint(0, 6))],
        nps=[(when(), float(rng.randint(0, 10))) for _ in range(rng.randint(0, 6))],
        deals=[
            m.Deal(
                kind=rng.choice(("renewal", "upsell")),
                stage="negotiation",
                is_closed=rng.random() < 0.3,
                close_date=None,
                vendor_created_at=when(),
                vendor_updated_at=when(),
            )
            for _ in range(rng.randint(0, 2))
        ],
        last_contact=when() if n % 2 else None,
    )


def test_the_single_pass_gives_the_earlier_metrics_bit_for_bit() -> None:
    rng = random.Random(17)
    accounts = [_random_account(rng, n) for n in range(400)]
    assert sum(len(a.tickets) for a in accounts) > 4000
    for historical in (False, True):
        for acc in accounts:
            new = signals_for(acc, AS_OF, historical)
            old = _old_signals_for(acc, AS_OF, historical)
            if historical:  # added since: seat usage from the field history, which these accounts lack
                assert new.metrics.pop("seat_utilisation") is None
            assert list(new.metrics.items()) == list(old.metrics.items()), acc.account.id  # order too
            assert (new.account_id, new.arr, new.plan, new.segment) == (
                old.account_id, old.arr, old.plan, old.segment,
            )  # fmt: skip
