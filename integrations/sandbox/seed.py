"""The seeded book of business: `generate_book` (deterministic per seed) and `advance` (a sandbox tick).

Every customer has a hidden latent health (0..1) that walks weekly over ~18 months of history (mean
reversion to a drifting baseline, noise, rare shocks, and for some renewals a sudden late shock) and drives
every signal with noise: ticket volume, priorities, escalations, reopens, reply and resolution times, the
tone of ticket threads, CSAT, NPS, contact recency, seat utilisation and renewal-deal progress. At each
renewal the outcome (renewed / churned) is drawn from the health of the last four weeks plus noise. The
process and its constants are documented in integrations/sandbox/README.md so backtest figures can be judged.
The model lives in seed_model.py, the record factories in seed_builder.py, ticks in seed_tick.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from integrations.sandbox.book import (
    Book,
    Changes,
    Customer,
)
from integrations.sandbox.seed_builder import Builder, nps_wave_in, upsell
from integrations.sandbox.seed_model import (
    DEFAULT_NOW,
    HISTORY_DAYS,
    RENEWAL_DEAL_LEAD_DAYS,
    SEGMENTS,
    churn_probability,
    clip,
    health_at,
    health_step,
    late_shock,
    month_starts,
    monthly_active_users,
    poisson,
    renewal_health,
    traits,
    usage_time,
)
from integrations.sandbox.seed_tick import advance

__all__ = [
    "DEFAULT_NOW",
    "HISTORY_DAYS",
    "advance",
    "churn_probability",
    "generate_book",
    "health_at",
    "late_shock",
    "renewal_health",
    "traits",
]


def _simulate(b: Builder, cust: Customer, seed: int, start: datetime, now: datetime) -> None:
    """Walk one customer's health weekly from max(start, created) to now, emitting its activity."""
    rng, tr = b.rng, traits(seed, cust.key)
    first = max(start, cust.created_at)
    h = clip(tr.base + rng.gauss(0.0, 0.08), 0.05, 0.95)
    lam_week = SEGMENTS[cust.segment][3] * 12 / 52 * tr.noisiness
    past_renewal = cust.renewal_date if cust.renewal_date < now.date() else None
    upcoming = past_renewal + timedelta(days=365) if past_renewal else cust.renewal_date
    # the upcoming renewal's late shock may already have happened when it is < 60 days away
    shocks = [s for r in (past_renewal, upcoming) if r and (s := late_shock(seed, cust.key, r))]
    week, t = 0, first
    sink = Changes()
    month = first.date().replace(day=1)
    cust.active_users = monthly_active_users(seed, cust.key, cust.licensed_seats, h, month)
    cust.usage_path.append((first, cust.active_users))
    while t < now:
        for when, size in shocks:
            if when <= t.date() < when + timedelta(days=7):
                h = max(0.02, h - size)
        cust.health_path.append((t.date(), round(h, 4)))
        if past_renewal and t.date() > past_renewal and cust.outcome is None:
            b.resolve_renewal(cust, seed, sink)
            if cust.outcome == "churned":
                break
        # the month's value is written at the first weekly step on or after the 1st (after a churn, none)
        for month in month_starts(t.date() - timedelta(days=7), t.date()):
            if first < usage_time(month) < now:
                cust.active_users = monthly_active_users(seed, cust.key, cust.licensed_seats, h, month)
                cust.usage_path.append((usage_time(month), cust.active_users))
        onboarding = 2.0 if (t - cust.created_at).days < 60 else 1.0
        for _ in range(poisson(rng, lam_week * onboarding * (0.45 + 1.6 * (1 - h)))):
            created = t + timedelta(minutes=rng.randint(0, 7 * 1440 - 1))
            if created < now:
                tk = b.ticket(cust, h, created, now)
                b.book.tickets[tk.key] = tk
                b.csat(tk, h, now)
        wave = nps_wave_in(t.date(), 7)
        if wave is not None:
            b.nps_wave(cust, h, wave, now)
        if rng.random() < 0.004 * (2.5 if h > 0.6 else 0.5):
            upsell(b, cust, h, t, now)
        h = health_step(h, tr, week, rng)
        week += 1
        t += timedelta(days=7)
    if past_renewal and cust.outcome is None:  # renewal fell in the last week before `now`
        b.resolve_renewal(cust, seed, sink)
    cust.latent_health = cust.health_path[-1][1] if cust.health_path else h
    end = (
        datetime.combine(cust.outcome_date, datetime.min.time(), UTC)
        if cust.outcome == "churned" and cust.outcome_date
        else now
    )
    b.touch_contacts(cust, end, cust.latent_health)
    # Today's active users are the last monthly value written above. This draw set them before the book
    # kept a usage history; it stays so every later draw of the book (and every figure measured on it) is
    # as before.
    rng.gauss(0, 0.12)
    if cust.outcome != "churned":
        days_left = (cust.renewal_date - now.date()).days
        if days_left <= RENEWAL_DEAL_LEAD_DAYS:
            created = now - timedelta(days=RENEWAL_DEAL_LEAD_DAYS - days_left)
            d = b.deal(
                cust,
                "renewal",
                cust.arr,
                b.renewal_stage(days_left, cust.latent_health, cust.key, cust.renewal_date),
                cust.renewal_date,
                created,
            )
            b.open_renewal[cust.key] = d.key
            d.updated_at = now - timedelta(days=rng.randint(0, 20))


def generate_book(seed: int = 0, accounts: int = 500, now: datetime | None = None) -> Book:
    """A deterministic book of `accounts` customers with ~18 months of history ending at `now`."""
    now = now or DEFAULT_NOW
    book = Book(seed=seed, now=now)
    b = Builder(book, random.Random(seed))
    names: set[str] = set()
    domains: list[str] = []
    start = now - timedelta(days=HISTORY_DAYS)
    for i in range(1, accounts + 1):
        cust = b.customer(i, now, names, domains)
        book.customers[cust.key] = cust
        b.deal(
            cust,
            "new_business",
            cust.arr_prev,
            "closed_won",
            cust.created_at.date(),
            cust.created_at - timedelta(days=45),
        )
        if cust.zendesk.present and b.rng.random() < 0.015:
            dup = b.duplicate(cust)
            book.customers[dup.key] = dup
        b.contacts(cust, now)
        _simulate(b, cust, seed, start, now)
        if cust.key in b.dup_of:
            book.customers[b.dup_of[cust.key]].latent_health = cust.latent_health
    return book
