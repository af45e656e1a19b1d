"""Benchmark: vectorised scoring engine vs a straightforward per-account Python loop.

Both compute the same outputs for every account (score, dimension scores, confidence, raw band, top
driver indices) with the packaged default model on the same synthetic book; the loop's scores are
checked against the engine's. Prints one table:

  engine acc/s, wall s   accounts / best wall time of `score_matrix` (default threads) over --repeat runs
  cpu s                  CPU seconds of that best run, all threads of this process
  peak MiB               tracemalloc peak of one engine call (its own allocations, not the inputs)
  loop acc/s, loop s     the per-account Python loop, best of --loop-repeat runs, single thread
  speed-up / cpu ratio   loop wall / engine wall, and loop CPU / engine CPU (robust on a busy machine)
  max |Δscore|           largest score difference between loop and engine (engine works in float32
                         per metric, so a rare 0.1 from rounding is possible)
  same drivers           share of accounts with the same top drivers in the same order; "by value"
                         ignores the order of exact ties (two metrics at +-4.0 points)
"""

from __future__ import annotations

import argparse
import bisect
import math
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.config import load_default_model
from scoring.engine import score_matrix
from scoring.model import ScoringModel

# (low, high) of the synthetic uniform draw per metric, roughly the range a real book shows.
RANGES = {
    "seat_utilisation": (0.0, 1.1),
    "open_tickets": (0, 30),
    "escalated_tickets_90d": (0, 6),
    "ticket_volume_trend": (0.2, 3.0),
    "high_priority_share_90d": (0.0, 0.7),
    "first_reply_hours_median_90d": (0.5, 72),
    "resolution_hours_median_90d": (2, 400),
    "reopen_rate_90d": (0.0, 0.4),
    "csat_avg_90d": (1.0, 5.0),
    "csat_trend": (-2.0, 2.0),
    "nps_score": (-100, 100),
    "nps_detractor_share": (0.0, 1.0),
    "days_since_last_contact": (0, 200),
    "arr_change_pct": (-60, 80),
    "days_to_renewal": (-30, 365),
    "open_renewal_deal_stage": (0.0, 1.0),
    "open_upsell_deals": (0, 4),
    "sentiment_30d": (-1.0, 1.0),
    "negative_ticket_share_30d": (0.0, 0.8),
    "negative_tickets_14d": (0, 8),
}
COUNTS = {"open_tickets", "escalated_tickets_90d", "open_upsell_deals", "negative_tickets_14d"}


def metric_range(spec: Any) -> tuple[float, float]:
    """The draw range of one metric: the table above, else around the model's own normalisation (so a metric
    added to the model later never breaks the benchmark, as `nps_avg_365d` once did)."""
    if spec.name in RANGES:
        return RANGES[spec.name]
    norm = spec.normalise
    if norm.method == "stepped" and norm.thresholds:
        return (0.0, 1.5 * max(norm.thresholds))
    if norm.method == "linear":
        span = norm.high - norm.low
        return (norm.low - 0.25 * span, norm.high + 0.25 * span)
    return (0.0, 1.0)


def synthetic_book(
    model: ScoringModel, n: int, seed: int, missing: float
) -> tuple[npt.NDArray[np.intp], dict[str, npt.NDArray[np.float64]]]:
    """Segment indices and metric columns for n accounts; `missing` share of each metric is NaN."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, len(model.segments), n).astype(np.intp)
    metrics = {}
    for spec in model.metrics:
        lo, hi = metric_range(spec)
        col = rng.uniform(lo, hi, n)
        if spec.name in COUNTS:
            col = np.floor(col)
        col[rng.random(n) < missing] = np.nan
        metrics[spec.name] = col
    return seg, metrics


def loop_score(model: ScoringModel, seg: list[int], rows: list[dict[str, float]]) -> list[dict[str, Any]]:
    """The per-account baseline: plain Python, one account at a time, same maths as the engine."""
    specs = model.metrics
    refs: dict[tuple[str, int], list[float]] = {}
    for spec in specs:
        if spec.normalise.method == "segment_percentile":
            everyone = sorted(r[spec.name] for r in rows if not math.isnan(r[spec.name]))
            for s in range(len(model.segments)):
                mine = sorted(
                    r[spec.name]
                    for r, g in zip(rows, seg, strict=True)
                    if g == s and not math.isnan(r[spec.name])
                )
                refs[(spec.name, s)] = mine if len(mine) >= spec.normalise.min_population else everyone
    return [_loop_one(model, s, row, refs) for s, row in zip(seg, rows, strict=True)]


def _normalise(spec: Any, v: float, s: int, refs: Mapping[tuple[str, int], list[float]]) -> float:
    n = spec.normalise
    if n.method == "linear":
        x = min(1.0, max(0.0, (v - n.low) / (n.high - n.low)))
        return x if spec.direction == "higher_is_better" else 1.0 - x
    if n.method == "stepped":
        return float(n.scores[bisect.bisect_right(n.thresholds, v)])
    ref = refs[(spec.name, s)]
    rank = (bisect.bisect_left(ref, v) + bisect.bisect_right(ref, v)) / (2.0 * len(ref))
    return rank if spec.direction == "higher_is_better" else 1.0 - rank


def _loop_one(
    model: ScoringModel, s: int, row: Mapping[str, float], refs: Mapping[tuple[str, int], list[float]]
) -> dict[str, Any]:
    segment = model.segments[s]
    dims: dict[str, float] = {}
    parts: dict[str, list[tuple[str, float, float]]] = {}
    have = total = 0.0
    for dw, dim in zip(segment.weights, model.dimensions, strict=True):
        dim_w = sum(m.weight for m in dim.metrics)
        num = den = 0.0
        for spec in dim.metrics:
            total += dw * spec.weight / dim_w
            v = row[spec.name]
            if math.isnan(v):
                continue
            x = _normalise(spec, v, s, refs)
            have += dw * spec.weight / dim_w
            num += spec.weight * x
            den += spec.weight
            parts.setdefault(dim.name, []).append((spec.name, spec.weight, x))
        if den > 0:
            dims[dim.name] = num / den
    wsum = sum(w for w, d in zip(segment.weights, model.dimensions, strict=True) if d.name in dims)
    if wsum <= 0:
        return {"score": math.nan, "band": -1, "confidence": 0.0, "drivers": []}
    score = 0.0
    impacts = []
    for w, d in zip(segment.weights, model.dimensions, strict=True):
        if d.name not in dims:
            continue
        score += w / wsum * dims[d.name]
        den = sum(mw for _, mw, _ in parts[d.name])
        impacts += [(name, w / wsum * mw / den * (x - 0.5) * 100) for name, mw, x in parts[d.name]]
    score = round(100 * score, 1)
    band = next(i for i, b in enumerate(segment.bands) if score >= b.min)
    impacts.sort(key=lambda t: -abs(t[1]))
    top = [(name, imp) for name, imp in impacts[: model.top_drivers] if abs(imp) >= model.min_driver_impact]
    return {"score": score, "band": band, "confidence": have / total, "dims": dims, "drivers": top}


def measure(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall and best CPU seconds (all threads of this process) over `repeat` calls, and a result.

    The best of several runs is the least disturbed by other processes on a shared machine.
    """
    walls, cpus = [], []
    out = None
    for _ in range(max(repeat, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), out


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak traced allocation (Python + numpy) during one call; run separately from timing."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated account counts")
    parser.add_argument("--loop-max", type=int, default=100_000, help="largest size the Python loop runs on")
    parser.add_argument("--missing", type=float, default=0.15, help="share of metric values that are missing")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run each: seconds (CI runs it)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine measurement (best is kept)")
    parser.add_argument("--loop-repeat", type=int, default=2, help="runs per loop measurement (best is kept)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.loop_max, args.repeat, args.loop_repeat = "500,2000", 2000, 1, 1
    model = load_default_model()
    sizes = [int(s) for s in args.sizes.split(",")]
    header = (
        f"{'accounts':>9} | {'engine acc/s':>12} | {'wall s':>6} | {'cpu s':>6} | {'peak MiB':>8} | "
        f"{'loop acc/s':>10} | {'loop s':>7} | {'speed-up':>8} | {'cpu ratio':>9} | {'max |Δscore|':>12} | same drivers"
    )
    lines = [header, "-" * len(header)]
    names = [m.name for m in model.metrics]
    for n in sizes:
        seg, metrics = synthetic_book(model, n, args.seed, args.missing)
        score_matrix(model, seg[:1000], {k: v[:1000] for k, v in metrics.items()})  # warm-up
        secs, cpu, arrays = measure(
            lambda seg=seg, metrics=metrics: score_matrix(model, seg, metrics), args.repeat
        )
        peak = peak_bytes(lambda seg=seg, metrics=metrics: score_matrix(model, seg, metrics)) / 2**20
        loop_cells = f"{'not run':>10} | {'-':>7} | {'-':>8} | {'-':>9} | {'-':>12} | -"
        if n <= args.loop_max:
            rows = [{k: float(v[i]) for k, v in metrics.items()} for i in range(n)]
            seg_list = seg.tolist()
            lsecs, lcpu, out = measure(
                lambda seg_list=seg_list, rows=rows: loop_score(model, seg_list, rows), args.loop_repeat
            )
            diff = np.nanmax(np.abs(np.array([o["score"] for o in out]) - arrays.score))
            engine_drivers = [[names[j] for j in row if j >= 0] for row in arrays.drivers.tolist()]
            same = np.mean(
                [[d for d, _ in o["drivers"]] == e for o, e in zip(out, engine_drivers, strict=True)]
            )
            # Exact ties (e.g. two metrics both at +-4.0 points) may be ordered differently: compare values.
            same_values = np.mean(
                [
                    len(o["drivers"]) == int((row != 0).sum())
                    and np.allclose([abs(v) for _, v in o["drivers"]], np.abs(row[row != 0]), atol=1e-6)
                    for o, row in zip(out, arrays.driver_impact, strict=True)
                ]
            )
            loop_cells = f"{n / lsecs:>10,.0f} | {lsecs:>7.2f} | {lsecs / secs:>7.0f}x | {lcpu / cpu:>8.0f}x | {diff:>12.2f} | {same:.2%} ({same_values:.2%} by value)"
        lines.append(
            f"{n:>9,} | {n / secs:>12,.0f} | {secs:>6.3f} | {cpu:>6.3f} | {peak:>8,.0f} | {loop_cells}"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines.append(
        f"process max RSS {rss:,.0f} MiB (inputs, outputs and the loop's rows); {os.cpu_count()} CPUs, "
        f"load average {load}; numpy {np.__version__}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
