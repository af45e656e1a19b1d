"""How much of the latent-health ceiling could ANY weighting of the product's own metrics reach?

The issue-16 target is churn AUC >= 0.95 x the ceiling (the AUC of the sandbox's true latent health on the
as-of date). When the default score misses it, is that the weights (a tuning problem) or the metrics (the
information the store holds)? This fits two free models of the latent health on the metrics the pipeline
computes for TRAINING books and scores them on other books, beside the shipped weighted score:

- linear: ridge regression on every metric, standardised, a missing value replaced by the training
  median plus a "missing" indicator (so it may learn what absence means, which the score cannot);
- gbm: gradient-boosted trees on the raw metrics (missing values handled natively; any non-linearity or
  interaction the weighted mean cannot express).

Both are fitted to the truth the sandbox knows (the latent health on the as-of date), which no product can
see, so they are an optimistic bound on re-weighting: if they do not beat the shipped score on books they
were not fitted on, the gap to the ceiling is in the metrics, not in the weights.

    python benchmarks/score_headroom.py --from-store DIR --train 0 1 2 --test 600 601 --accounts 2000
    python benchmarks/score_headroom.py --smoke     # synthetic cases (seconds): does it still run?

The stores come from `benchmarks/backtest.py --dump DIR` (or `--dump-only`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import yaml
from scipy.stats import spearmanr

from benchmarks.backtest import Case, cases_from_store, model_text
from scoring.backtest import auc
from scoring.config import model_from_dict
from scoring.engine import score_accounts
from scoring.model import ScoringModel

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Table:
    """One case as arrays: raw metric values (NaN = no data), latent health, churned, account ids."""

    values: Matrix
    health: Matrix
    churned: npt.NDArray[np.bool_]
    ids: list[str]


def metric_names(cases: list[Case]) -> list[str]:
    """Every metric that has a value for some account of these cases (current values are absent in a backtest)."""
    return sorted({k for c in cases for s in c.signals for k, v in s.metrics.items() if v is not None})


def table(case: Case, names: list[str]) -> Table:
    rows: list[list[float]] = []
    ids: list[str] = []
    for s in case.signals:
        if s.account_id not in case.health:
            continue
        row = []
        for n in names:
            v = s.metrics.get(n)
            row.append(float(v) if v is not None and np.isfinite(v) else np.nan)
        rows.append(row)
        ids.append(s.account_id)
    return Table(
        values=np.array(rows, dtype=float).reshape(len(rows), len(names)),
        health=np.array([case.health[a] for a in ids], dtype=float),
        churned=np.array([case.churned[a] for a in ids], dtype=bool),
        ids=ids,
    )


@dataclass(frozen=True, slots=True)
class RidgeFit:
    """Ridge regression on median-filled, standardised values plus missing-value indicators."""

    median: Matrix
    mean: Matrix
    scale: Matrix
    coef: Matrix

    def design(self, values: Matrix) -> Matrix:
        missing = np.isnan(values)
        filled = np.where(missing, self.median, values)
        return (np.hstack([filled, missing.astype(float)]) - self.mean) / self.scale

    def predict(self, values: Matrix) -> Matrix:
        return self.design(values) @ self.coef


def fit_ridge(values: Matrix, target: Matrix, penalty: float = 50.0) -> RidgeFit:
    median = np.nanmedian(np.where(np.isnan(values).all(axis=0), 0.0, values), axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    missing = np.isnan(values)
    raw = np.hstack([np.where(missing, median, values), missing.astype(float)])
    mean, scale = raw.mean(axis=0), raw.std(axis=0) + 1e-9
    z = (raw - mean) / scale
    coef = np.linalg.solve(z.T @ z + penalty * np.eye(z.shape[1]), z.T @ (target - target.mean()))
    return RidgeFit(median=median, mean=mean, scale=scale, coef=coef)


def rho(a: Matrix, b: Matrix) -> float:
    return float(spearmanr(a, b).statistic)


def model_scores(model: ScoringModel, case: Case, ids: list[str]) -> Matrix:
    res = {r.account_id: r.score for r in score_accounts(model, case.signals, case.as_of)}
    return np.array([np.nan if res.get(a) is None else float(res[a] or 0.0) for a in ids], dtype=float)


def rows(
    train: list[Case], test: list[Case], model: ScoringModel, gbm: bool = True
) -> list[dict[str, float]]:
    """Per test case: ceiling, and AUC, AUC / ceiling and the rank correlation with the health for the score and the free fits."""
    names = metric_names(train)
    tables = [table(c, names) for c in train]
    values = np.vstack([t.values for t in tables])
    health = np.concatenate([t.health for t in tables])
    ridge = fit_ridge(values, health)
    trees = None
    if gbm:
        from sklearn.ensemble import HistGradientBoostingRegressor

        trees = HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, random_state=0
        ).fit(values, health)
    out = []
    for c in test:
        t = table(c, names)
        score = model_scores(model, c, t.ids)
        has = ~np.isnan(score)
        ceiling = auc(-t.health, t.churned)
        rec = {"seed": c.seed, "horizon": c.horizon, "accounts": int(has.sum()), "ceiling": ceiling}
        preds = {"score": (score[has], has), "linear": (ridge.predict(t.values), None)}
        if trees is not None:
            preds["gbm"] = (trees.predict(t.values), None)
        for name, (pred, mask) in preds.items():
            h, y = (t.health[mask], t.churned[mask]) if mask is not None else (t.health, t.churned)
            a = auc(-pred, y)
            rec |= {f"{name}_auc": a, f"{name}_ratio": a / ceiling, f"{name}_rho": rho(pred, h)}
        out.append(rec)
    return out


def print_rows(records: list[dict[str, float]]) -> None:
    cols = [n for n in ("score", "linear", "gbm") if f"{n}_auc" in records[0]]
    head = "seed  hor accts ceiling | " + " | ".join(f"{n:>6} AUC  /ceil    rho" for n in cols)
    print(head)
    for r in records:
        parts = [f"{r[f'{n}_auc']:10.3f} {r[f'{n}_ratio']:6.3f} {r[f'{n}_rho']:6.3f}" for n in cols]
        print(
            f"{r['seed']:4.0f} {r['horizon']:4.0f} {r['accounts']:5.0f}   {r['ceiling']:.3f} | "
            + " | ".join(parts)
        )
    for n in cols:
        ratios = np.array([r[f"{n}_ratio"] for r in records])
        print(
            f"# {n}: AUC/ceiling mean {ratios.mean():.3f} (min {ratios.min():.3f}), "
            f">= 0.95 on {int((ratios >= 0.95).sum())} of {len(ratios)}; "
            f"rho mean {np.mean([r[f'{n}_rho'] for r in records]):.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--from-store",
        type=Path,
        nargs="+",
        help="Folder(s) of stores kept by backtest.py --dump; first match wins.",
    )
    ap.add_argument("--train", nargs="+", type=int, default=[0, 1, 2], help="Seeds the free fits learn from.")
    ap.add_argument(
        "--test", nargs="+", type=int, default=[], help="Seeds they are scored on (never the train)."
    )
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--horizons", type=int, nargs="+", default=[90, 180])
    ap.add_argument("--model", type=Path, help="A model YAML instead of the packaged default.")
    ap.add_argument("--smoke", action="store_true", help="Synthetic cases: one to fit, one to score.")
    args = ap.parse_args()
    model = model_from_dict(yaml.safe_load(args.model.read_text("utf-8") if args.model else model_text()))
    if args.smoke:
        from benchmarks.tune_scoring import smoke_cases

        first, second = smoke_cases(accounts=400)
        print_rows(rows([first], [second], model))
        return
    if args.from_store is None or not args.test:
        ap.error("--from-store DIR and --test SEEDS are required (or --smoke)")
    if set(args.train) & set(args.test):
        ap.error("a seed cannot be both fitted on and tested on")

    def folder(seed: int) -> Path:
        found = [f for f in args.from_store if (f / f"seed{seed}-{args.accounts}.db").is_file()]
        if not found:
            ap.error(
                f"no store of seed {seed} ({args.accounts} accounts) in {', '.join(map(str, args.from_store))}"
            )
        return found[0]

    def load(seeds: list[int]) -> list[Case]:
        return [
            c
            for s in seeds
            for c in cases_from_store(folder(s), s, args.accounts, args.horizons, ["northwind"])
        ]

    print_rows(rows(load(args.train), load(args.test), model))


if __name__ == "__main__":
    main()
