"""Zendesk sync cost on a seeded sandbox book: API calls and seconds per stream (full, tick, idle).

Usage: .venv/bin/python -m benchmarks.zendesk_sync [--accounts 500] [--streams tickets,comments] [--tick 1]

Prints one table: stream, phase (full / after a `--tick`-day tick / idle re-read), calls, seconds, records.
Calls are counted by the sandbox (exactly what reached Zendesk's emulator), seconds are wall time of the
adapter's read (sandbox rendering + TLS + zenpy + mapping; both ends run in this process, so they share
the GIL). Seconds are noisy on a shared machine; calls are exact.

Measured 2026-11-23 (seed 0, 2 vCPUs shared with other jobs, load average 8-13), full reads:

| book           | stream   | before: calls / s          | after: calls / s |
|----------------|----------|----------------------------|------------------|
| 500 accounts   | tickets  | 8 / 17.7                   | 8 / 3.0-4.2      |
| 500 accounts   | comments | 7,110 / 231                | 32 / 7.7-13.2    |
| 500 accounts   | surveys  | 16 / 1.7                   | 16 / 0.7-2.5     |
| 2000 accounts  | tickets  | 27 / 47.4                  | 27 / 15.4-22.4   |
| 2000 accounts  | comments | 26,562 (computed, not run) | 116 / 21.6-38.1  |
| 2000 accounts  | surveys  | 58 / 18.4                  | 58 / 9.2-15.5    |

Before = per-ticket comment calls, every page rendered from scratch, zenpy object mapping of export pages.
After a 1-day tick: comments 2 calls (1 event page + the agent list); idle: 1 call per stream.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repo first, not benchmarks/ (whose scoring.py would shadow the package that
# integrations/*/mapping.py imports its band names from).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import time
from typing import Any

from connector.demo.emulator import start_embedded
from integrations.base import Stream
from integrations.cursors import Cursor
from integrations.oauth import TokenSet
from integrations.registry import Connection
from integrations.zendesk.adapter import ZendeskAdapter


def _adapter(sset: Any) -> ZendeskAdapter:
    creds = sset.credentials()["zendesk"]
    conn = Connection(
        vendor="zendesk",
        base_url=creds["base_url"],
        token_url=f"{creds['base_url']}/oauth/tokens",
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        tokens=TokenSet(access_token=creds["access_token"], refresh_token=creds["refresh_token"]),
        save_tokens=lambda _t: None,
        ca_file=sset.ca_file,
        sleep=lambda _s: None,
        clock=lambda: sset.ctx.book.now,
        timeout=120.0,
    )
    return ZendeskAdapter(conn)


def _read(sset: Any, stream: Stream, cursor: Cursor | None) -> tuple[int, float, int, Cursor | None]:
    sset.ctx.counters.reset()
    adapter = _adapter(sset)
    started = time.perf_counter()
    records = 0
    last = cursor
    for page in adapter.read(stream, cursor):
        records += len(page.records)
        last = page.cursor or last
    seconds = time.perf_counter() - started
    adapter.close()
    return sset.ctx.counters.get("zendesk"), seconds, records, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--streams", default="accounts,tickets,comments,surveys")
    parser.add_argument("--tick", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds (CI runs it)")
    args = parser.parse_args()
    if args.smoke:
        args.accounts, args.tick = 30, 1
    streams = [Stream(s) for s in args.streams.split(",")]
    with start_embedded(seed=args.seed, accounts=args.accounts, tls=True) as sset:
        rows = []
        cursors: dict[Stream, Cursor | None] = {}
        for stream in streams:
            calls, secs, n, cursors[stream] = _read(sset, stream, None)
            rows.append((stream.value, "full", calls, secs, n))
        sset.tick(args.tick)
        for stream in streams:
            calls, secs, n, cursors[stream] = _read(sset, stream, cursors[stream])
            rows.append((stream.value, f"tick {args.tick}d", calls, secs, n))
        for stream in streams:
            calls, secs, n, _ = _read(sset, stream, cursors[stream])
            rows.append((stream.value, "idle", calls, secs, n))
    print(f"zendesk sync, seed {args.seed}, {args.accounts} accounts")
    print(f"{'stream':<10} {'phase':<8} {'calls':>6} {'seconds':>8} {'records':>8}")
    for stream_name, phase, calls, secs, n in rows:
        print(f"{stream_name:<10} {phase:<8} {calls:>6} {secs:>8.2f} {n:>8}")


if __name__ == "__main__":
    main()
