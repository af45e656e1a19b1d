"""API calls of a sync, from the sandbox's own call counters, against the minimum number of pages.

Baseline (same run): the minimum pages each stream needs (⌈records / page size⌉) for a full sync, and
one call per stream for an incremental sync. Ratio = calls made / minimum (1.00 is optimal).

    python benchmarks/sync.py [--accounts 500] [--tick-days 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repo first, not benchmarks/ (whose scoring.py would shadow the package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import math
import time

from benchmarks._world import build
from connector.demo.emulator import record_world
from connector.pipeline import run as pipeline

# The vendors' maximum page sizes for the endpoint each stream uses.
PAGE = {"salesforce": 2000, "hubspot": 200, "zendesk": 1000}
STREAM_PAGE = {
    ("hubspot", "deals"): 100,  # list endpoints (they carry associations inline): 100 a page
    ("hubspot", "tickets"): 100,
    ("hubspot", "comments"): 100,
    ("hubspot", "surveys"): 100,
    ("zendesk", "surveys"): 100,  # satisfaction ratings: cursor pagination, 100 a page
}


def _table(title: str, report: dict, minimum: dict[tuple[str, str], int]) -> None:
    print(f"\n{title}")
    print(f"{'vendor':<11}{'stream':<10}{'records':>9}{'calls':>7}{'minimum':>9}{'ratio':>7}{'seconds':>9}")
    for inst in report["installations"]:
        for s in inst["streams"]:
            need = minimum.get(
                (inst["vendor"], s["stream"]),
                max(
                    1,
                    math.ceil(
                        s["read"] / STREAM_PAGE.get((inst["vendor"], s["stream"]), PAGE[inst["vendor"]])
                    ),
                ),
            )
            ratio = s["api_calls"] / need if need else float("nan")
            print(
                f"{inst['vendor']:<11}{s['stream']:<10}{s['read']:>9}{s['api_calls']:>7}{need:>9}{ratio:>7.2f}{s['duration_s']:>9.2f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--tick-days", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: seconds (CI runs it)")
    args = ap.parse_args()
    if args.smoke:
        args.accounts, args.tick_days = 30, 1
    world = build(args.accounts)
    try:
        for slug, tid in world.tenants.items():
            t0 = time.perf_counter()
            full = pipeline.sync(world.settings, tid)
            print(f"\n=== {slug}: full sync of {args.accounts} accounts in {time.perf_counter() - t0:.1f} s")
            _table("full sync (minimum = ⌈records / page size⌉)", full, {})
            again = pipeline.sync(world.settings, tid)
            _table(
                "incremental, nothing changed (minimum = 1 call per stream)",
                again,
                {(i["vendor"], s["stream"]): 1 for i in again["installations"] for s in i["streams"]},
            )
        world.sandbox.tick(args.tick_days)
        record_world(world.settings.sqlalchemy_url)
        for slug, tid in world.tenants.items():
            after = pipeline.sync(world.settings, tid)
            _table(
                f"=== {slug}: incremental after a {args.tick_days}-day tick (minimum = ⌈changed / page size⌉)",
                after,
                {},
            )
    finally:
        world.close()


if __name__ == "__main__":
    main()
