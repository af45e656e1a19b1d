"""Is there observable information that carries health and that no metric extracts? (issue 16)

`score_headroom.py` showed that free fits of the TRUE latent health on every metric the store computes do
no better than the shipped score on new books: the gap to the ceiling is in the metrics, not the weights.
This asks the next question, channel by channel. It reads the sandbox's generated books directly (no
sync, no encoder: seconds per book), builds per account and as-of date (a) the metrics the store computes
(`connector/pipeline/signals.py`, same windows and decays) and (b) candidate signals from channels the
generator writes that no metric reads, or reads coarsely, each one a real-world CS signal:

- `upsell_365d`, `upsell_won_365d`, `upsell_lost_365d`: expansion deals opened in the year, and those
  closed won / lost by the date (the store scores only upsells *open* on the date);
- `reply_vs_priority_365d`, `resolution_vs_priority_365d`: log first-reply / resolution time against the
  book's median for the ticket's priority (an SLA-breach reading; the 90-day medians ignore priority, so
  the urgent tickets of unhealthy accounts, answered fastest, turn their sign);
- `reopens_mean_365d` (reopen count, not "reopened at least once"), `turns_365d` (thread length);
- `volume_recent_share`: the last 90 days' tickets / the year's (against the account's own baseline,
  free of how chatty the account is);
- `nps_last_100d` (the latest wave alone), `nps_flat_365d` (the year without decay);
- history beyond the year's window (`*_before_365d`: NPS, CSAT, high-priority share, ticket tone);
- `tone_generated_365d`: the tone the generator gave each ticket. NOT observable (no product sees it):
  the upper bound of a perfect reader of the ticket text.

Ticket sentiment is emulated as the generated tone plus noise of `--tone-noise` (0.65 gives the
per-ticket correlation with the health that the shipped encoder reaches, 0.44 vs 0.69 for the tone
itself: `--messages`). A ridge fit of the health (`score_headroom.fit_ridge`: median fill plus missing
indicators) on the store metrics, then on the store metrics plus each candidate, is fitted on the training
books and scored on the test books: Spearman correlation with the latent health on the date over all
live accounts, and churn AUC / ceiling over the renewals decided in the horizon.

`--messages SEED N` scores N tickets of a book with the shipped encoder and compares readings of the same
per-message output (the stored roll-up, first message, most negative, mean, last; and a linear
combination of them) by their correlation with the health: can a metric read the text better than the
roll-up does, without a better encoder?

    python benchmarks/channel_headroom.py --train 0 1 2 --test 800 801 802 803 804 --accounts 2000
    python benchmarks/channel_headroom.py --messages 1 1200
    python benchmarks/channel_headroom.py --smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import math
import random
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.score_headroom import fit_ridge, rho
from integrations.sandbox.book import Book, Survey, Ticket
from integrations.sandbox.seed import generate_book, health_at
from scoring.backtest import auc

Matrix = npt.NDArray[np.float64]
TONE_SCORE = {"angry": -0.9, "negative": -0.5, "mixed": -0.1, "neutral": 0.1, "positive": 0.7}
HIGH = ("high", "urgent")
DAY = timedelta(days=1)
CANDIDATES: dict[str, list[str]] = {
    "upsell history": ["upsell_365d", "upsell_won_365d", "upsell_lost_365d"],
    "reply vs priority": ["reply_vs_priority_365d"],
    "resolution vs priority": ["resolution_vs_priority_365d"],
    "reopen count": ["reopens_mean_365d"],
    "thread length": ["turns_365d"],
    "recent volume share": ["volume_recent_share"],
    "latest NPS wave": ["nps_last_100d"],
    "NPS without decay": ["nps_flat_365d"],
    "history before the year": [
        "nps_before_365d",
        "csat_before_365d",
        "high_priority_before_365d",
        "sentiment_before_365d",
    ],
}
ORACLE = "tone_generated_365d"
# Current values the book keeps only for today (the backtest leaves them out): what a history of them would
# add, emulated with the generator's own formulas at the as-of date's health (not in any book or store).
SNAPSHOTS: dict[str, list[str]] = {
    "seat usage history (emulated)": ["seat_utilisation_then"],
    "contact recency history (emulated)": ["days_since_last_contact_then"],
}


@dataclass(frozen=True, slots=True)
class Case:
    """One book at one as-of date: store metrics and candidates per live account, health, outcome."""

    seed: int
    horizon: int
    store: list[dict[str, float]]
    extra: list[dict[str, float]]
    health: Matrix
    outcome: npt.NDArray[np.int_]  # 1 churned, 0 renewed, -1 no renewal decided in the horizon


def wmean(pairs: Iterable[tuple[float, float]]) -> float:
    """Weighted mean of (weight, value) pairs; NaN (no data) when there is none."""
    items = list(pairs)
    total = sum(w for w, _ in items)
    return sum(w * v for w, v in items) / total if total else math.nan


def _owner(book: Book, key: str) -> str:
    """The real customer of a record (a Zendesk duplicate organisation's records belong to its original)."""
    return key.removesuffix("-dup") if key.endswith("-dup") else key


def _minutes_median(values: list[float]) -> float:
    return statistics.median(values) / 60.0 if values else math.nan


def _store_metrics(
    tk: list[Ticket], tone: dict[str, float], nps: list[Survey], csat: list[Survey], as_of: datetime
) -> dict[str, float]:
    """The store's metrics of one account (signals.py: names, windows and decays), from book records."""
    age = {t.key: (as_of - t.created_at).total_seconds() / 86400 for t in tk}
    w = {t.key: 0.5 ** (age[t.key] / 180.0) for t in tk}
    t180 = [t for t in tk if age[t.key] < 180]
    t90 = [t for t in t180 if age[t.key] < 90]
    t30 = [t for t in t90 if age[t.key] < 30]

    def decayed(s: list[Survey], half: float) -> float:
        return wmean((0.5 ** ((as_of - x.responded_at).total_seconds() / 86400 / half), x.score) for x in s)

    csat90 = [x.score for x in csat if (as_of - x.responded_at) < 90 * DAY]
    return {
        "nps_avg_365d": decayed(nps, 90.0),
        "nps_responses_365d": sum(0.5 ** ((as_of - x.responded_at).days / 90.0) for x in nps),
        "csat_avg_365d": decayed(csat, 90.0),
        "csat_avg_90d": statistics.fmean(csat90) if csat90 else math.nan,
        "csat_responses_365d": sum(0.5 ** ((as_of - x.responded_at).days / 90.0) for x in csat),
        "high_priority_share_365d": wmean((w[t.key], float(t.priority in HIGH)) for t in tk),
        "high_priority_share_180d": wmean((1.0, float(t.priority in HIGH)) for t in t180),
        "high_priority_share_90d": wmean((1.0, float(t.priority in HIGH)) for t in t90),
        "escalated_share_365d": wmean((w[t.key], float(t.escalated)) for t in tk),
        "escalated_tickets_90d": float(sum(t.escalated for t in t90)),
        "reopened_share_365d": wmean((w[t.key], float(t.reopens > 0)) for t in tk),
        "reopen_rate_90d": wmean((1.0, float(t.reopens > 0)) for t in t90),
        "sentiment_365d": wmean((w[t.key], tone[t.key]) for t in tk),
        "sentiment_180d": wmean((0.5 ** (age[t.key] / 60.0), tone[t.key]) for t in t180),
        "sentiment_30d": wmean((0.5 ** (age[t.key] / 14.0), tone[t.key]) for t in t90),
        "negative_ticket_share_365d": wmean((w[t.key], float(tone[t.key] <= -0.25)) for t in tk),
        "first_reply_hours_median_90d": _minutes_median([t.first_reply_minutes or 0.0 for t in t90]),
        "resolution_hours_median_90d": _minutes_median(
            [
                float(t.full_resolution_minutes)
                for t in t90
                if t.full_resolution_minutes and t.solved_at and t.solved_at <= as_of
            ]
        ),
        "tickets_365d": float(len(tk)),
        "tickets_180d": float(len(t180)),
        "tickets_90d": float(len(t90)),
        "ticket_volume_trend": min(4.0, len(t30) / ((len(t90) - len(t30)) / 2.0))
        if len(t90) > len(t30)
        else (4.0 if t30 else math.nan),
        "open_tickets": float(sum(1 for t in tk if t.solved_at is None or t.solved_at > as_of)),
    }


def cases_of(book: Book, horizons: list[int], tone_noise: float) -> list[Case]:
    """The cases of one generated book: one per horizon, as-of = the book's end minus the horizon."""
    rng = random.Random(f"{book.seed}:tone-noise")
    read = {k: TONE_SCORE[t.tone] + rng.gauss(0.0, tone_noise) for k, t in book.tickets.items()}
    tickets: dict[str, list[Ticket]] = defaultdict(list)
    for t in book.tickets.values():
        tickets[_owner(book, t.customer_key)].append(t)
    surveys: dict[str, list[Survey]] = defaultdict(list)
    for s in book.surveys.values():
        owner = book.tickets[s.ticket_key].customer_key if s.ticket_key else s.customer_key
        surveys[_owner(book, owner)].append(s)
    deals: dict[str, list[Any]] = defaultdict(list)
    for d in book.deals.values():
        deals[d.customer_key].append(d)
    out = []
    for horizon in horizons:
        as_of = book.now - timedelta(days=horizon)
        year0 = as_of - 365 * DAY
        medians = _priority_medians(book, as_of)
        store, extra, health, outcome = [], [], [], []
        for c in book.customers.values():
            if c.key.endswith("-dup") or c.created_at > as_of:
                continue
            if c.outcome == "churned" and c.outcome_date and c.outcome_date <= as_of.date():
                continue
            tk = sorted(
                (t for t in tickets[c.key] if year0 < t.created_at <= as_of), key=lambda t: t.created_at
            )
            old = [t for t in tickets[c.key] if t.created_at <= year0]
            sv = [s for s in surveys[c.key] if year0 < s.responded_at <= as_of]
            nps = [s for s in sv if s.kind == "nps"]
            csat = [s for s in sv if s.kind == "csat"]
            metrics = _store_metrics(tk, read, nps, csat, as_of)
            months = min(12.0, max(1.0, (as_of - c.created_at).days / 30.0))
            metrics["ticket_rate_365d"] = len(tk) / months
            metrics["open_upsell_deals"] = float(
                sum(1 for d in deals[c.key] if d.kind == "upsell" and d.created_at <= as_of < _closed(d))
            )
            metrics["segment_smb"] = float(c.segment == "smb")
            metrics["segment_enterprise"] = float(c.segment == "enterprise")
            store.append(metrics)
            h = health_at(c, as_of.date())
            more = _candidates(c.key, tk, old, surveys[c.key], deals[c.key], read, medians, as_of)
            extra.append(more | _snapshots(f"{book.seed}:{c.key}:{horizon}", h, c.segment))
            health.append(h)
            decided = c.outcome_date is not None and as_of.date() < c.outcome_date <= book.now.date()
            outcome.append(int(c.outcome == "churned") if decided else -1)
        out.append(Case(book.seed, horizon, store, extra, np.array(health), np.array(outcome)))
    return out


def _closed(deal: Any) -> datetime:
    return datetime.combine(deal.close_date, datetime.min.time(), deal.created_at.tzinfo)


def _priority_medians(book: Book, as_of: datetime) -> dict[str, tuple[float, float]]:
    """Per priority, the book's median log first-reply and log resolution minutes of tickets before the date."""
    reply: dict[str, list[float]] = defaultdict(list)
    res: dict[str, list[float]] = defaultdict(list)
    for t in book.tickets.values():
        if t.created_at > as_of:
            continue
        if t.first_reply_minutes:
            reply[t.priority].append(math.log1p(t.first_reply_minutes))
        if t.full_resolution_minutes and t.solved_at and t.solved_at <= as_of:
            res[t.priority].append(math.log1p(t.full_resolution_minutes))
    return {
        p: (statistics.median(reply[p]) if reply[p] else 0.0, statistics.median(res[p]) if res[p] else 0.0)
        for p in set(reply) | set(res)
    }


def _candidates(
    key: str,
    tk: list[Ticket],
    old: list[Ticket],
    all_surveys: list[Survey],
    deals: list[Any],
    read: dict[str, float],
    medians: dict[str, tuple[float, float]],
    as_of: datetime,
) -> dict[str, float]:
    year0 = as_of - 365 * DAY
    w = {t.key: 0.5 ** ((as_of - t.created_at).total_seconds() / 86400 / 180.0) for t in tk}
    ups = [d for d in deals if d.kind == "upsell" and year0 < d.created_at <= as_of]
    closed = [d for d in ups if _closed(d) <= as_of]
    before = [s for s in all_surveys if s.responded_at <= year0]
    recent = [s.score for s in all_surveys if s.kind == "nps" and as_of - 100 * DAY < s.responded_at <= as_of]
    year_nps = [s.score for s in all_surveys if s.kind == "nps" and year0 < s.responded_at <= as_of]
    return {
        "upsell_365d": float(len(ups)),
        "upsell_won_365d": float(sum(1 for d in closed if d.stage == "closed_won")),
        "upsell_lost_365d": float(sum(1 for d in closed if d.stage == "closed_lost")),
        "reply_vs_priority_365d": wmean(
            (w[t.key], math.log1p(t.first_reply_minutes) - medians[t.priority][0])
            for t in tk
            if t.first_reply_minutes
        ),
        "resolution_vs_priority_365d": wmean(
            (w[t.key], math.log1p(t.full_resolution_minutes) - medians[t.priority][1])
            for t in tk
            if t.full_resolution_minutes and t.solved_at and t.solved_at <= as_of
        ),
        "reopens_mean_365d": wmean((w[t.key], float(t.reopens)) for t in tk),
        "turns_365d": wmean(
            (w[t.key], float(sum(1 for c in t.comments if c.created_at <= as_of))) for t in tk
        ),
        "volume_recent_share": sum(1 for t in tk if as_of - t.created_at < 90 * DAY) / len(tk)
        if tk
        else math.nan,
        "nps_last_100d": statistics.fmean(recent) if recent else math.nan,
        "nps_flat_365d": statistics.fmean(year_nps) if year_nps else math.nan,
        "nps_before_365d": wmean((1.0, s.score) for s in before if s.kind == "nps"),
        "csat_before_365d": wmean((1.0, s.score) for s in before if s.kind == "csat"),
        "high_priority_before_365d": wmean((1.0, float(t.priority in HIGH)) for t in old),
        "sentiment_before_365d": wmean((1.0, read[t.key]) for t in old),
        ORACLE: wmean((w[t.key], TONE_SCORE[t.tone]) for t in tk),
    }


def _snapshots(key: str, h: float, segment: str) -> dict[str, float]:
    """Seat usage and the latest contact gap as the generator draws them today, drawn at the date's health."""
    rng = random.Random(f"snapshot:{key}")
    contacts = {"smb": 3, "mid_market": 6, "enterprise": 10}.get(segment, 3)
    gap = min(rng.expovariate(1.0 / (6.0 + 70.0 * (1.0 - h) ** 1.5)) for _ in range(contacts))
    return {
        "seat_utilisation_then": min(1.0, max(0.05, 0.3 + 0.6 * h + rng.gauss(0.0, 0.12))),
        "days_since_last_contact_then": gap,
    }


def design(case: Case, store_names: list[str], extra_names: list[str]) -> Matrix:
    rows = [
        [m.get(n, math.nan) for n in store_names] + [e[n] for n in extra_names]
        for m, e in zip(case.store, case.extra, strict=True)
    ]
    return np.array(rows, dtype=float).reshape(len(rows), len(store_names) + len(extra_names))


def evaluate(train: list[Case], test: list[Case], extra_names: list[str]) -> list[dict[str, float]]:
    """Fit the health on the training cases (store metrics + `extra_names`); score each test case."""
    names = sorted({n for c in train for m in c.store for n in m})
    fit = fit_ridge(
        np.vstack([design(c, names, extra_names) for c in train]), np.concatenate([c.health for c in train])
    )
    out = []
    for c in test:
        pred = fit.predict(design(c, names, extra_names))
        decided = c.outcome >= 0
        y = c.outcome[decided].astype(bool)
        ceiling = auc(-c.health[decided], y)
        out.append(
            {
                "seed": c.seed,
                "horizon": c.horizon,
                "accounts": len(c.health),
                "rho": rho(pred, c.health),
                "ratio": auc(-pred[decided], y) / ceiling,
            }
        )
    return out


def variants(names: list[str] | None = None) -> dict[str, list[str]]:
    every = [n for v in CANDIDATES.values() for n in v]
    out = {"store metrics only": []} | dict(CANDIDATES)
    out |= {"all observable candidates": every, "perfect text reader (oracle)": [ORACLE]}
    out |= {"all candidates + oracle": [*every, ORACLE]}
    out |= dict(SNAPSHOTS)
    return {k: v for k, v in out.items() if names is None or k in names}


def report(train: list[Case], test: list[Case], names: list[str] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base: list[dict[str, float]] = []
    for label, extra in variants(names).items():
        recs = evaluate(train, test, extra)
        base = base or recs
        ratios = [r["ratio"] for r in recs]
        rows.append(
            {
                "variant": label,
                "rho": float(np.mean([r["rho"] for r in recs])),
                "d_rho": float(np.mean([r["rho"] - b["rho"] for r, b in zip(recs, base, strict=True)])),
                "ratio": float(np.mean(ratios)),
                "d_ratio": float(np.mean([r["ratio"] - b["ratio"] for r, b in zip(recs, base, strict=True)])),
                "min_ratio": float(min(ratios)),
                "met": sum(r >= 0.95 for r in ratios),
                "cases": len(ratios),
            }
        )
        r0 = rows[-1]
        print(
            f"{label:30s} rho {r0['rho']:.4f} ({r0['d_rho']:+.4f})  AUC/ceil {r0['ratio']:.4f} "
            f"({r0['d_ratio']:+.4f}) min {r0['min_ratio']:.3f}  >= 0.95 on {r0['met']}/{r0['cases']}",
            flush=True,
        )
    return rows


def messages(seed: int, count: int, accounts: int = 400) -> dict[str, float]:
    """Per-ticket correlation with the health of readings of the shipped encoder's per-message output."""
    import nlp
    from nlp.ticket import roll_up

    book = generate_book(seed, accounts)
    tks = list(book.tickets.values())
    random.Random(seed).shuffle(tks)
    tks = [t for t in tks if any(c.author_role == "customer" for c in t.comments)][:count]
    model = nlp.load_default_model(None, Path(tempfile.mkdtemp(prefix="channel-headroom-")), threads=1)
    texts = [[c.body for c in t.comments if c.author_role == "customer"] for t in tks]
    flat = iter(model.classify_many([x for ms in texts for x in ms]))
    per = [[next(flat) for _ in ms] for ms in texts]
    health = np.array(
        [health_at(book.customers[_owner(book, t.customer_key)], t.created_at.date()) for t in tks]
    )
    reads = {
        "generated tone (not observable)": [TONE_SCORE[t.tone] for t in tks],
        "roll-up (stored)": [roll_up(p).score for p in per],
        "first message": [p[0].score for p in per],
        "most negative message": [min(s.score for s in p) for p in per],
        "mean of messages": [statistics.fmean(s.score for s in p) for p in per],
        "last message": [p[-1].score for p in per],
    }
    out = {k: float(np.corrcoef(v, health)[0, 1]) for k, v in reads.items()}
    x = np.column_stack([*(reads[k] for k in list(reads)[1:]), [len(p) for p in per], np.ones(len(per))])
    half = len(health) // 2
    held = []
    for fit_rows, test_rows in ((slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))):
        coef = np.linalg.lstsq(x[fit_rows], health[fit_rows], rcond=None)[0]
        held.append(float(np.corrcoef(x[test_rows] @ coef, health[test_rows])[0, 1]))
        held.append(
            float(np.corrcoef(np.array(reads["roll-up (stored)"])[test_rows], health[test_rows])[0, 1])
        )
    out["linear combination (held-out halves)"] = statistics.fmean(held[0::2])
    out["roll-up on the same halves"] = statistics.fmean(held[1::2])
    for k, v in out.items():
        print(f"{k:40s} r = {v:.3f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument(
        "--test", type=int, nargs="+", default=[], help="Held-out seeds (default: leave one out)."
    )
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--horizons", type=int, nargs="+", default=[90, 180])
    ap.add_argument("--tone-noise", type=float, default=0.65)
    ap.add_argument("--variants", nargs="+", help="Only these variants (names as printed).")
    ap.add_argument("--messages", type=int, nargs=2, metavar=("SEED", "TICKETS"))
    ap.add_argument("--smoke", action="store_true", help="Tiny books, seconds: does it still run?")
    args = ap.parse_args()
    if args.messages:
        messages(*args.messages)
        return
    if args.smoke:
        args.train, args.test, args.accounts = [0], [1], 150
    if set(args.train) & set(args.test):
        ap.error("a seed cannot be both fitted on and tested on")
    cases = {
        s: cases_of(generate_book(s, args.accounts), args.horizons, args.tone_noise)
        for s in {*args.train, *args.test}
    }
    if args.test:
        report(
            [c for s in args.train for c in cases[s]], [c for s in args.test for c in cases[s]], args.variants
        )
        return
    # leave one training seed out
    rows = []
    for held in args.train:
        print(f"# held out: seed {held}")
        rows += report([c for s in args.train if s != held for c in cases[s]], cases[held], args.variants)


if __name__ == "__main__":
    main()
