"""Backtest of the default scoring model on fresh seeded books, against same-run naive baselines.

For each seed: build a sandbox book (N accounts), run the whole pass for the demo tenants (sync, link,
sentiment, score), then score every account as of now - horizon and join the sandbox's ground-truth
renewal outcomes in the horizon. Printed per seed, tenant, horizon and model: accounts with a renewal
decision, churned, AUC, churn rate per band, lift red/green.

Baselines (same data, same run): `equal` = the same metrics and bands with every metric and dimension
weight equal (no segment weights); `nps` = a single-signal model on the NPS average. Ratio = AUC of the
default model / AUC of the `equal` baseline.

    python benchmarks/backtest.py [--seeds 0 1 2] [--accounts 500] [--horizons 90 180] [--tenants northwind contoso]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repo first, not benchmarks/ (whose scoring.py would shadow the package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import time
from importlib import resources
from typing import Any

from benchmarks._world import build
from connector.pipeline import run as pipeline
from connector.pipeline.backtest import equal_weights_model, run_backtest, single_metric_model
from connector.store.db import transaction
from scoring.config import load_model

STEPS = ("sync", "link", "sentiment")  # all a backtest reads; scoring/write-back change nothing it uses


def _models() -> dict[str, Any]:
    text = resources.files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    return {
        "default": load_model(text),
        "equal": equal_weights_model(text),
        "nps": single_metric_model(text, "nps_avg_365d"),
    }


def _rate(report: dict[str, Any], band: str) -> str:
    row = next((b for b in report["bands"] if b["band"] == band), None)
    if row is None or row["rate"] is None:
        return "    n/a"
    return f"{row['rate']:>7.1%}"


def _row(seed: int, slug: str, horizon: int, name: str, r: dict[str, Any], base_auc: float | None) -> str:
    auc = r["auc"]
    ratio = f"{auc / base_auc:.2f}" if auc and base_auc else "n/a"
    lift = "n/a" if r["lift_red_over_green"] is None else f"{r['lift_red_over_green']:.1f}"
    shares = "/".join(f"{b['accounts'] / r['accounts']:.0%}" if r["accounts"] else "-" for b in r["bands"])
    return (
        f"{seed:>4} {slug:<10}{horizon:>5} {name:<8}{r['accounts']:>6}{r['churned']:>6}"
        f"{auc if auc is not None else float('nan'):>7.3f}{_rate(r, 'green')}{_rate(r, 'yellow')}{_rate(r, 'red')}"
        f"{lift:>6} {shares:<12}{ratio:>6}"
    )


def run_seed(seed: int, accounts: int, horizons: list[int], tenants: list[str]) -> list[dict[str, Any]]:
    """Backtest every model on one fresh world; returns one record per (tenant, horizon, model)."""
    world = build(accounts, seed=seed)
    models = _models()
    rows: list[dict[str, Any]] = []
    try:
        for slug in tenants:
            tid = world.tenants[slug]
            t0 = time.perf_counter()
            pipeline.run_tenant(world.settings, tid, steps=STEPS)
            print(f"# seed {seed} {slug}: pass in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            for horizon in horizons:
                with transaction(world.settings.sqlalchemy_url) as session:
                    for name, model in models.items():
                        r = run_backtest(session, tid, horizon_days=horizon, model=model)
                        rows.append({"seed": seed, "tenant": slug, "horizon": horizon, "model": name, **r})
                    session.rollback()
    finally:
        world.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--horizons", type=int, nargs="+", default=[90, 180])
    ap.add_argument("--tenants", nargs="+", default=["northwind", "contoso"])
    ap.add_argument("--json", dest="json_path", help="Also write every record (with calibration) here.")
    args = ap.parse_args()
    header = (
        f"{'seed':>4} {'tenant':<10}{'hor.':>5} {'model':<8}{'accts':>6}{'churn':>6}{'AUC':>7}"
        f"{'green':>7}{'yellow':>7}{'red':>7}{'lift':>6} {'g/y/r share':<12}{'ratio':>6}"
    )
    print(header)
    records: list[dict[str, Any]] = []
    for seed in args.seeds:
        rows = run_seed(seed, args.accounts, args.horizons, args.tenants)
        records.extend(rows)
        for r in rows:
            base = next(
                x["auc"]
                for x in rows
                if x["tenant"] == r["tenant"] and x["horizon"] == r["horizon"] and x["model"] == "equal"
            )
            print(_row(seed, r["tenant"], r["horizon"], r["model"], r, base), flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(records, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
