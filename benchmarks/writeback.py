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
from typing import Any

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
        task_rows = [_tasks(world, slug, tid) for slug, tid in world.tenants.items()]
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
    print()
    print(
        f"{'tenant':<10}{'play tasks':<29}{'vendor':<11}{'created':>8}{'task calls':>12}{'⌈n/batch⌉':>10}{'lookups':>12}{'tickets':>9}"
    )
    for per_tenant in task_rows:
        for slug, vendor, created, calls, expected, lookups, tickets in per_tenant:
            print(
                f"{slug:<10}{'enters worst band':<29}{vendor:<11}{created:>8}{calls:>12}{expected:>10}{lookups:>12}{tickets:>9}"
            )


def _tasks(world: Any, slug: str, tid: int) -> list[tuple[str, str, int, int, int, int, int]]:
    """Plays: pretend every account now in the worst band was in the best one before (their latest
    snapshots say so), enable a play on the worst band, score again and write back. Task calls are the
    emulators' `<vendor>.tasks` ledger (creates/closes); lookups are the owner reads at write time
    (Salesforce: one SOQL query, HubSpot: one companies batch read per batch)."""
    from datetime import timedelta

    from sqlalchemy import select

    from connector.admin import plays as play_admin
    from connector.store import models as m
    from connector.store.db import transaction

    counters = world.sandbox.ctx.counters
    with transaction(world.settings.sqlalchemy_url) as s:
        bands = play_admin.band_names(s, tid)
        worst, best = bands[-1], bands[0]
        fields, _ = play_admin.parse_form(
            {"name": "bench", "to_band": worst, "zendesk_ticket": "1"}, bands, []
        )
        play_admin.set_enabled(s, tid, play_admin.save(s, tid, fields, "bench").id, True, "bench")
        for cur in s.scalars(select(m.CurrentScore).where(m.CurrentScore.tenant_id == tid)):
            snap = s.get(m.ScoreSnapshot, cur.snapshot_id)
            if snap is not None and snap.band == worst:
                snap.band, snap.band_since = best, snap.as_of - timedelta(days=30)  # past the dwell time
    pipeline.score(world.settings, tid)
    counters.reset()
    report = pipeline.write_back(world.settings, tid)
    rows = []
    for vendor, r in report.items():
        tasks = r.get("tasks") or {}
        created = int(tasks.get("created", 0))
        lookups = (
            counters.get(vendor, "GET */query/")
            if vendor == "salesforce"
            else counters.get(vendor, "POST */companies/batch/read")
        )
        expected = math.ceil(created / BATCH[vendor]) if created else 0
        if vendor == "zendesk":
            expected = math.ceil(int(tasks.get("tickets", 0)) / BATCH[vendor])
        rows.append(
            (
                slug,
                vendor,
                created,
                counters.get(f"{vendor}.tasks"),
                expected,
                lookups,
                int(tasks.get("tickets", 0)),
            )
        )
    return rows


if __name__ == "__main__":
    main()
