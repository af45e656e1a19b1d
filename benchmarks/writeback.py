"""Write-back call counts from the sandbox counters: exactly ⌈changed / batch max⌉ write calls per vendor,
and 0 on a second run with nothing changed.

Baseline (same run): a naive one-call-per-account write (what a per-record PATCH integration makes),
i.e. `changed` calls; the ratio shows how many calls batching saves.

    python benchmarks/writeback.py [--accounts 500]
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
from connector.pipeline import run as pipeline

BATCH = {"salesforce": 200, "hubspot": 100, "zendesk": 100}
WRITE_CALLS = {
    "salesforce": "PATCH */composite/sobjects",
    "hubspot": "POST */batch/update",
    "zendesk": "PUT */organizations/update_many*",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: seconds (CI runs it)")
    args = ap.parse_args()
    if args.smoke:
        args.accounts = 30
    world = build(args.accounts)
    counters = world.sandbox.ctx.counters
    rows = []
    try:
        for slug, tid in world.tenants.items():
            pipeline.run_tenant(world.settings, tid, steps=("sync", "link", "score"))
            for attempt in ("first write", "second run, nothing changed"):
                counters.reset()
                t0 = time.perf_counter()
                report = pipeline.write_back(world.settings, tid)
                secs = time.perf_counter() - t0
                if attempt != "first write":
                    pipeline.score(world.settings, tid)
                    counters.reset()
                    report = pipeline.write_back(world.settings, tid)
                for vendor, r in report.items():
                    calls = counters.get(vendor, WRITE_CALLS[vendor])
                    expected = math.ceil(r["written"] / BATCH[vendor]) if r["written"] else 0
                    rows.append((slug, attempt, vendor, r["written"], calls, expected, r["written"], secs))
    finally:
        world.close()
    print(
        f"{'tenant':<10}{'run':<29}{'vendor':<11}{'changed':>8}{'write calls':>12}{'⌈n/batch⌉':>10}{'naive calls':>12}{'saved x':>9}{'s':>7}"
    )
    for slug, attempt, vendor, changed, calls, expected, naive, secs in rows:
        saved = f"{naive / calls:.0f}" if calls else "-"
        print(
            f"{slug:<10}{attempt:<29}{vendor:<11}{changed:>8}{calls:>12}{expected:>10}{naive:>12}{saved:>9}{secs:>7.2f}"
        )


if __name__ == "__main__":
    main()
