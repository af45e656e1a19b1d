"""The latent-health model of the seeded book: constants, per-customer traits, the weekly walk, churn odds.

Pure functions of (seed, key, dates) and an injected `random.Random`, shared by `seed.generate_book` and
`seed_tick.advance`; the process is documented in integrations/sandbox/README.md.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from integrations.sandbox.book import Customer

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 548  # ~18 months of activity before `now`
RENEWAL_DEAL_LEAD_DAYS = 150  # an open renewal deal exists this long before the renewal date
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

# segment -> mix share, median ARR, seat price, tickets/month at average health, contacts (min, max), churn bias
SEGMENTS = {
    "smb": (0.60, 12_000, 400, 0.55, (2, 4), 0.35),
    "mid_market": (0.30, 60_000, 520, 1.4, (4, 8), 0.0),
    "enterprise": (0.10, 260_000, 650, 3.2, (7, 14), -0.45),
}
PLANS = {"smb": ("starter", "growth"), "mid_market": ("growth", "enterprise"), "enterprise": ("enterprise",)}
GROUP_WEIGHTS = (0.36, 0.14, 0.16, 0.10, 0.10, 0.14)  # in seed_text.GROUPS order
TONE_BASE_CSAT = {"angry": 1.5, "negative": 2.3, "mixed": 3.1, "neutral": 3.9, "positive": 4.7}


@dataclass(frozen=True, slots=True)
class Traits:
    """Stable per-customer parameters, derived from (seed, key) so `advance` can recompute them."""

    base: float  # long-run health the walk reverts to
    drift: float  # weekly drift of that baseline
    noisiness: float  # ticket-volume multiplier unrelated to health ("noisy accounts that renew")


def traits(seed: int, key: str) -> Traits:
    r = random.Random(f"{seed}:traits:{key}")
    return Traits(
        base=r.betavariate(4.0, 2.0), drift=r.gauss(0.0, 0.0015), noisiness=r.lognormvariate(0.0, 0.45)
    )


def late_shock(seed: int, key: str, renewal: date) -> tuple[date, float] | None:
    """About 8 % of renewals are preceded by a sudden shock 10..60 days before (champion leaves, budget cut)."""
    r = random.Random(f"{seed}:shock:{key}:{renewal.isoformat()}")
    if r.random() >= 0.08:
        return None
    return renewal - timedelta(days=r.randint(10, 60)), r.uniform(0.25, 0.45)


def health_step(h: float, tr: Traits, week: int, rng: random.Random) -> float:
    """One week of the latent-health walk: mean reversion to a drifting baseline, noise, rare shocks."""
    target = min(0.95, max(0.05, tr.base + tr.drift * week))
    h += 0.04 * (target - h) + rng.gauss(0.0, 0.02)
    u = rng.random()
    if u < 0.006:
        h -= rng.uniform(0.15, 0.35)
    elif u < 0.010:
        h += rng.uniform(0.08, 0.2)
    return min(0.98, max(0.02, h))


def churn_probability(h_renewal: float, segment: str) -> float:
    """P(churn) at a renewal given the last four weeks' mean latent health; logistic plus a health-blind floor."""
    logit = -2.8 + SEGMENTS[segment][5] + 10.0 * (0.55 - h_renewal)
    return 0.02 + 0.98 / (1.0 + math.exp(-logit))


def health_at(customer: Customer, when: date) -> float:
    """The latent health on `when` (the last weekly point not after it)."""
    path = customer.health_path
    if not path:
        return customer.latent_health
    i = bisect.bisect_right(path, when, key=lambda p: p[0]) - 1
    return path[max(i, 0)][1]


def renewal_health(customer: Customer, renewal: date) -> float:
    pts = [h for d, h in customer.health_path if renewal - timedelta(days=28) <= d <= renewal]
    return sum(pts) / len(pts) if pts else health_at(customer, renewal)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    threshold, k, p = math.exp(-lam), 0, rng.random()
    while p > threshold:
        k += 1
        p *= rng.random()
    return k


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def money(x: float) -> Decimal:
    return Decimal(round(x / 100.0) * 100)


def key_number(key: str) -> int:
    return int(key.lstrip("CKDTSM").split("-")[0])


# The product's usage export writes each month's active users into the CRM at 06:00 UTC on the 1st.
USAGE_HOUR = 6


def monthly_active_users(seed: int, key: str, seats: int, h: float, month: date) -> int:
    """Active users reported for the month starting `month`: utilisation 0.3 + 0.6 h + noise sd 0.12 of the
    licensed seats (the process today's value always had). Drawn from its own stream per (seed, account,
    month), so a generated history and a tick write the same value and no other draw of the book moves."""
    r = random.Random(f"{seed}:usage:{key}:{month.isoformat()}")
    return max(1, round(seats * clip(0.3 + 0.6 * h + r.gauss(0.0, 0.12), 0.05, 1.0)))


def month_starts(after: date, until: date) -> list[date]:
    """The 1sts of months in (after, until]."""
    d = date(after.year + after.month // 12, after.month % 12 + 1, 1)
    out = []
    while d <= until:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def usage_time(month: date) -> datetime:
    return datetime.combine(month, time(USAGE_HOUR), UTC)
