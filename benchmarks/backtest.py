"""Validity of the scoring model on fresh seeded books: against the sandbox's latent-health ceiling and
against every single signal, with bootstrap intervals.

For each seed: build a sandbox book (N accounts), run the pass for the demo tenant(s) (sync, link,
sentiment), then for each horizon score every account as of now - horizon (historical metrics only) and
join the sandbox's ground-truth renewal outcomes in (as_of, as_of + horizon].

Columns (one row per seed, tenant, horizon):
- accts / churn: accounts with a renewal decision in the horizon and how many churned;
- ceiling: AUC of the TRUE latent health on the as-of date (what a perfect score computed then could
  reach; the sandbox knows it, no product can);
- AUC [95 %]: the default model, with a bootstrap interval; /ceil = AUC ÷ ceiling (target ≥ 0.95);
- best single: the single-signal model (same normalisation and bands) with the highest AUC, and the
  default's AUC minus it on the SAME accounts (the single signal scores only the accounts it has data
  for; target ≥ 0);
- equal: the same metrics and bands, every weight equal;
- red/green: churn rate of red ÷ green (target ≥ 3), with the counts.

    python benchmarks/backtest.py --seeds 100 101 102 103 104 --accounts 2000 --horizons 90 180
    python benchmarks/backtest.py --seeds 0 --accounts 500 --dump /tmp/bt   # also pickle signals + truth
    python benchmarks/backtest.py --smoke       # one tiny book (seconds of scoring): does it still run?

`--dump DIR` writes one pickle per (seed, tenant, horizon) with the historical signals, outcomes and latent
health, so model variants can be compared offline (benchmarks/tune_scoring.py) without re-running the pass.
It also keeps the synced store (SQLite, after sync/link/sentiment) and the sandbox's truth per seed, so
`--from-store DIR` recomputes the cases with the CURRENT metric code (connector/pipeline/signals.py) in
seconds: a new metric window is measured without re-running the pass (whose sentiment step is the costly
part). `--dump-only` builds and stores without scoring anything (a book's figures stay unread until the
model to validate is frozen).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repo first, not benchmarks/ (whose scoring.py would shadow the package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import pickle
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from benchmarks._world import build
from connector.clock import tenant_now
from connector.pipeline import run as pipeline
from connector.pipeline.backtest import equal_weights_model, single_metric_model
from connector.pipeline.link import crm_vendor
from connector.pipeline.signals import load_signals
from connector.store import models as m
from connector.store.db import transaction
from scoring.backtest import auc
from scoring.config import load_model
from scoring.engine import score_accounts
from scoring.model import ScoringModel
from scoring.types import AccountSignals
from scoring.uncertainty import auc_interval, resamples

STEPS = ("sync", "link", "sentiment")  # all a backtest reads; scoring/write-back change nothing it uses
# Every historical metric of the default model that carries signal on its own, in each window the pipeline
# computes (the short windows too: a score must beat whichever single signal ranks best on a book).
SINGLE = (
    "nps_avg_365d",
    "csat_avg_90d",
    "csat_avg_365d",
    "high_priority_share_90d",
    "high_priority_share_180d",
    "high_priority_share_365d",
    "sentiment_30d",
    "sentiment_180d",
    "sentiment_365d",
    "negative_ticket_share_30d",
    "negative_ticket_share_180d",
    "negative_ticket_share_365d",
)


@dataclass(frozen=True, slots=True)
class Case:
    """One (seed, tenant, horizon): what a model is scored against."""

    seed: int
    tenant: str
    horizon: int
    as_of: datetime
    signals: list[AccountSignals]
    churned: dict[str, bool]  # store account id -> churned in the horizon
    health: dict[str, float]  # store account id -> latent health on the as-of date
    segment: dict[str, str]  # store account id -> sandbox segment


def model_text() -> str:
    return resources.files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


def baselines(text: str) -> dict[str, ScoringModel]:
    """Equal weights and each single signal the model has (an older model may lack the newer windows)."""
    out = {"equal": equal_weights_model(text)}
    have = {m.name for m in load_model(text).metrics}
    out.update({name: single_metric_model(text, name) for name in SINGLE if name in have})
    return out


def _health_on(path: list[list[Any]], when: date) -> float | None:
    """Latent health on `when`: the last weekly point not after it."""
    best = None
    for d, h in path:
        if date.fromisoformat(d) <= when:
            best = h
        else:
            break
    return best


def fetch_truth(world: Any) -> dict[str, Any]:
    truth: dict[str, Any] = requests.get(
        f"{world.sandbox.credentials()['admin']}/_sandbox/truth?path=1", timeout=120
    ).json()
    return truth


def cases_for(world: Any, slug: str, horizons: list[int], seed: int) -> list[Case]:
    """Historical signals and ground truth for each horizon of one tenant."""
    with transaction(world.settings.sqlalchemy_url) as s:
        out = cases_in(s, world.tenants[slug], fetch_truth(world), slug, horizons, seed)
        s.rollback()
    return out


def cases_in(
    s: Session, tid: int, truth: dict[str, Any], slug: str, horizons: list[int], seed: int
) -> list[Case]:
    """The cases of one tenant read from a store `s` (live or kept by --dump) and the sandbox's truth."""
    out = []
    crm = crm_vendor(s, tid) or ""
    key_of_ext = truth["vendors"][crm]["accounts"]
    ext_of = {
        str(a.id): a.external_id
        for a in s.query(m.Account).filter(m.Account.tenant_id == tid, m.Account.vendor == crm)
    }
    now = tenant_now(s, tid)
    for horizon in horizons:
        as_of = now - timedelta(days=horizon)
        start, end = as_of.date(), (as_of + timedelta(days=horizon)).date()
        churned, health, segment = {}, {}, {}
        for aid, ext in ext_of.items():
            c = truth["customers"].get(key_of_ext.get(ext, ""), None)
            if c is None:
                continue
            decisions = [r["outcome"] for r in c["renewals"] if start < date.fromisoformat(r["date"]) <= end]
            h = _health_on(c.get("health_path", []), start)
            if decisions and h is not None:
                churned[aid] = "churned" in decisions
                health[aid] = h
                segment[aid] = c["segment"]
        signals = [x for x in load_signals(s, tid, as_of, historical=True) if x.account_id in churned]
        out.append(Case(seed, slug, horizon, as_of, signals, churned, health, segment))
    return out


def _store_paths(folder: Path, seed: int, accounts: int) -> tuple[Path, Path]:
    return folder / f"seed{seed}-{accounts}.db", folder / f"seed{seed}-{accounts}.truth.json"


def keep_store(world: Any, folder: Path, seed: int, accounts: int) -> None:
    """Copy the synced SQLite store and the truth (with the tenants' ids) next to the pickles."""
    db, tj = _store_paths(folder, seed, accounts)
    folder.mkdir(parents=True, exist_ok=True)
    src = create_engine(world.settings.sqlalchemy_url)
    if db.exists():
        db.unlink()
    with src.connect() as conn:  # VACUUM INTO: one consistent file even with the WAL in use
        conn.exec_driver_sql(f"VACUUM INTO '{db}'")
    src.dispose()
    tj.write_text(json.dumps({"tenants": world.tenants, "truth": fetch_truth(world)}), encoding="utf-8")


def cases_from_store(
    folder: Path, seed: int, accounts: int, horizons: list[int], tenants: list[str]
) -> list[Case]:
    """Recompute the cases from a store kept by --dump, with the current metric code."""
    db, tj = _store_paths(folder, seed, accounts)
    if not db.exists() or not tj.exists():
        raise SystemExit(f"{db} or {tj} not found: run with --dump {folder} first")
    saved = json.loads(tj.read_text(encoding="utf-8"))
    engine = create_engine(f"sqlite:///{db}")
    out: list[Case] = []
    try:
        with Session(engine) as s:
            for slug in tenants:
                out += cases_in(s, saved["tenants"][slug], saved["truth"], slug, horizons, seed)
    finally:
        engine.dispose()
    return out


def evaluate(
    case: Case, model: ScoringModel, extra: dict[str, ScoringModel], draws: int = 1000
) -> dict[str, Any]:
    """The default-vs-ceiling-vs-baselines record of one case."""
    res = {r.account_id: r for r in score_accounts(model, case.signals, case.as_of)}
    ids = [a for a in res if res[a].score is not None]
    y = np.array([case.churned[a] for a in ids], dtype=bool)
    risk = np.array([100.0 - (res[a].score or 0.0) for a in ids])
    ceiling = auc(np.array([-case.health[a] for a in ids]), y)
    ci = auc_interval(risk, y, resamples(len(ids), draws=draws, seed=case.seed))
    bands: dict[str, list[int]] = {}
    for a, yy in zip(ids, y.tolist(), strict=True):
        row = bands.setdefault(res[a].raw_band or "", [0, 0])
        row[0] += 1
        row[1] += int(yy)
    singles = {}
    for name, base in extra.items():
        bres = {r.account_id: r.score for r in score_accounts(base, case.signals, case.as_of)}
        both = [i for i, a in enumerate(ids) if bres.get(a) is not None]
        if not both:
            continue
        yb = y[both]
        singles[name] = {
            "accounts": len(both),
            "auc": auc(np.array([100.0 - (bres[ids[i]] or 0.0) for i in both]), yb),
            "default_same_accounts": auc(risk[both], yb),
        }
    return {
        "seed": case.seed,
        "tenant": case.tenant,
        "horizon": case.horizon,
        "model": model.version,
        "accounts": len(ids),
        "churned": int(y.sum()),
        "ceiling": ceiling,
        "auc": float("nan") if ci.value is None else ci.value,
        "auc_low": ci.low,
        "auc_high": ci.high,
        "bands": bands,
        "baselines": singles,
    }


def _ratio(bands: dict[str, list[int]]) -> tuple[float | None, str]:
    g, r = bands.get("green", [0, 0]), bands.get("red", [0, 0])
    if not g[0] or not r[0]:
        return None, f"{r[1]}/{r[0]} vs {g[1]}/{g[0]}"
    gr, rr = g[1] / g[0], r[1] / r[0]
    return (float("inf") if gr == 0 else rr / gr), f"{r[1]}/{r[0]} vs {g[1]}/{g[0]}"


HEADER = (
    f"{'seed':>4} {'tenant':<10}{'hor':>4}{'accts':>6}{'churn':>6}{'ceiling':>8}{'AUC':>7} {'[95 %]':<13}"
    f"{'/ceil':>6} {'best single':<26}{'Δ same':>7}{'equal':>7}{'red/green':>10} {'(red vs green)':<20}"
)


def format_row(r: dict[str, Any]) -> str:
    singles = {k: v for k, v in r["baselines"].items() if k != "equal"}
    best = max(singles, key=lambda k: singles[k]["auc"]) if singles else None
    b = singles.get(best or "", {})
    delta = b["default_same_accounts"] - b["auc"] if b else float("nan")
    ratio, counts = _ratio(r["bands"])
    eq = r["baselines"].get("equal", {}).get("auc", float("nan"))
    ci = f"{r['auc_low']:.3f}-{r['auc_high']:.3f}" if r["auc_low"] is not None else "n/a"
    ceil = r["auc"] / r["ceiling"] if r["ceiling"] else float("nan")  # NaN when a class is empty
    label = f"{best} {b['auc']:.3f}" if b else "n/a"
    return (
        f"{r['seed']:>4} {r['tenant']:<10}{r['horizon']:>4}{r['accounts']:>6}{r['churned']:>6}"
        f"{r['ceiling']:>8.3f}{r['auc']:>7.3f} {ci:<13}{ceil:>6.3f} {label:<26}"
        f"{delta:>+7.3f}{eq:>7.3f}{'n/a' if ratio is None else f'{ratio:.1f}':>10} {counts:<20}"
    )


def run_seed(
    seed: int, accounts: int, horizons: list[int], tenants: list[str], dump: Path | None
) -> list[Case]:
    world = build(accounts, seed=seed)
    try:
        out: list[Case] = []
        for slug in tenants:
            t0 = time.perf_counter()
            pipeline.run_tenant(world.settings, world.tenants[slug], steps=STEPS)
            print(
                f"# seed {seed} {slug}: pass in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True
            )
        if dump is not None:
            keep_store(world, dump, seed, accounts)
        for slug in tenants:
            for case in cases_for(world, slug, horizons, seed):
                out.append(case)
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    path = dump / f"seed{seed}-{slug}-{case.horizon}d-{accounts}.pkl"
                    path.write_bytes(pickle.dumps(case))
        return out
    finally:
        world.close()


class _Unpickler(pickle.Unpickler):
    """Cases pickled by this script run as __main__ load under their module name."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "Case":
            return Case
        return super().find_class(module, name)


def load_cases(folder: Path, seed: int, accounts: int, horizons: list[int], tenants: list[str]) -> list[Case]:
    """Cases written by --dump (pickles this script wrote itself: trusted input)."""
    out = []
    for slug in tenants:
        for horizon in horizons:
            path = folder / f"seed{seed}-{slug}-{horizon}d-{accounts}.pkl"
            if not path.exists():
                raise SystemExit(f"{path} not found: run with --dump {folder} first")
            with path.open("rb") as fh:
                out.append(_Unpickler(fh).load())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="One tiny book (seed 0, 60 accounts, 90 days).")
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--horizons", type=int, nargs="+", default=[90, 180])
    ap.add_argument("--tenants", nargs="+", default=["northwind"])
    ap.add_argument("--model", help="A model YAML to evaluate instead of the packaged default.")
    ap.add_argument("--dump", type=Path, help="Pickle each case's signals and truth here.")
    ap.add_argument("--json", dest="json_path", help="Also write every record here.")
    ap.add_argument(
        "--dump-only", action="store_true", help="With --dump: build and keep the stores, score nothing."
    )
    ap.add_argument(
        "--from-store",
        type=Path,
        help="Recompute the cases from the stores kept by an earlier --dump (current metric code).",
    )
    ap.add_argument(
        "--from-dump",
        type=Path,
        help="Evaluate on cases pickled by an earlier --dump (same --seeds/--accounts/--horizons) instead of "
        "building books: compares model variants in seconds.",
    )
    args = ap.parse_args()
    if args.smoke:
        args.seeds, args.accounts, args.horizons, args.tenants = [0], 60, [90], ["northwind"]
    text = Path(args.model).read_text(encoding="utf-8") if args.model else model_text()
    model = load_model(text)
    print(HEADER, flush=True)
    records = []
    for seed in args.seeds:
        if args.from_store:
            cases = cases_from_store(args.from_store, seed, args.accounts, args.horizons, args.tenants)
        elif args.from_dump:
            cases = load_cases(args.from_dump, seed, args.accounts, args.horizons, args.tenants)
        else:
            cases = run_seed(seed, args.accounts, args.horizons, args.tenants, args.dump)
        if args.dump_only:
            print(f"# seed {seed}: kept in {args.dump}", file=sys.stderr, flush=True)
            continue
        for case in cases:
            r = evaluate(case, model, baselines(text), draws=100 if args.smoke else 1000)
            records.append(r)
            print(format_row(r), flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(records, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
