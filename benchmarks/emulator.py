"""How fast the vendor emulators serve a full read (issue 17): the sandbox runs in its own process
(`healthscore sandbox serve`), the product's adapters read every stream of each vendor, and the table
gives calls, wall time, calls/s and the emulator's own CPU time per call (from /proc, so the figure holds
on a loaded machine where wall time does not).

    python benchmarks/emulator.py --accounts 10000 [--vendors hubspot,zendesk] [--profile out.svg]
    python benchmarks/emulator.py --smoke      # 60 accounts, seconds; run by the test suite

`--profile` records the emulator with py-spy (`pip install py-spy`) while it serves.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repo first, not benchmarks/ (whose scoring.py would shadow the package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

from benchmarks._e2e import start_sandbox
from integrations.base import Stream
from integrations.oauth import TokenSet
from integrations.registry import Connection, create_adapter

TOKEN_PATHS = {
    "salesforce": "/services/oauth2/token",
    "hubspot": "/oauth/v1/token",
    "zendesk": "/oauth/tokens",
}
STREAMS = (Stream.ACCOUNTS, Stream.CONTACTS, Stream.DEALS, Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class _Attached:
    """A sandbox this script did not start: measured, never stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def terminate(self) -> None:
        return None

    def wait(self, timeout: float) -> None:
        return None


def _adapter(creds: dict[str, Any], vendor: str) -> Any:
    mine = creds[vendor]
    base = mine["base_url"]
    return create_adapter(
        Connection(
            vendor=vendor,
            base_url=base,
            token_url=base + TOKEN_PATHS[vendor],
            client_id=mine["client_id"],
            client_secret=mine["client_secret"],
            tokens=TokenSet(
                access_token=mine["access_token"],
                refresh_token=mine["refresh_token"],
                instance_url=base if vendor == "salesforce" else None,
            ),
            save_tokens=lambda _t: None,
            ca_file=creds["ca_file"],
            timeout=120.0,
        )
    )


def read_all(
    creds: dict[str, Any], vendor: str, pid: int, seconds: float, streams: tuple[Stream, ...] = STREAMS
) -> list[dict[str, Any]]:
    """Read each stream from the start (at most `seconds` per vendor); one row per stream."""
    adapter = _adapter(creds, vendor)
    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    try:
        for stream in streams:
            if stream not in adapter.streams or time.monotonic() > deadline:
                continue
            row: dict[str, Any] = {"vendor": vendor, "stream": stream.value, "records": 0, "complete": True}
            calls0, cpu0, wall0 = int(adapter.api_calls), _cpu_s(pid), time.perf_counter()
            for page in adapter.read(stream, None):
                row["records"] += len(page.records)
                if time.monotonic() > deadline:
                    row["complete"] = False
                    break
            wall, cpu = time.perf_counter() - wall0, _cpu_s(pid) - cpu0
            calls = int(adapter.api_calls) - calls0
            row |= {
                "calls": calls,
                "wall_s": round(wall, 2),
                "calls_per_s": round(calls / max(wall, 1e-3), 1),
                "emulator_cpu_s": round(cpu, 2),
                "emulator_cpu_ms_per_call": round(1000 * cpu / max(1, calls), 1),
            }
            rows.append(row)
    finally:
        adapter.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--vendors", default="hubspot,zendesk,salesforce")
    ap.add_argument("--streams", default="", help="only these streams, e.g. tickets,comments")
    ap.add_argument("--seconds", type=float, default=600.0, help="read at most this long per vendor")
    ap.add_argument("--profile", default="", help="write a py-spy flame graph of the emulator here")
    ap.add_argument(
        "--attach",
        default="",
        help="PID:FILE: read a running `sandbox serve` (its pid, the file holding its JSON line) instead "
        "of starting one (a 10k book takes minutes to generate)",
    )
    ap.add_argument("--smoke", action="store_true", help="60 accounts: checks the script runs")
    args = ap.parse_args()
    if args.smoke:
        args.accounts, args.profile, args.attach = 60, "", ""
    with tempfile.TemporaryDirectory(prefix="healthscore-emu-") as tmp:
        if args.attach:
            pid_s, _, path = args.attach.partition(":")
            creds, boot_s = json.loads(Path(path).read_text().splitlines()[0]), 0.0
            proc: Any = _Attached(int(pid_s))
        else:
            proc, creds, boot_s = start_sandbox(args.accounts, tmp)
        spy = None
        try:
            if args.profile:
                spy = subprocess.Popen(  # noqa: S603 - py-spy on our own child
                    [shutil.which("py-spy") or "py-spy", "record", "-p", str(proc.pid), "-o", args.profile,
                     "--nonblocking", "-r", "50"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            streams = tuple(Stream(x) for x in args.streams.split(",")) if args.streams else STREAMS
            rows = [
                r
                for v in args.vendors.split(",")
                for r in read_all(creds, v, proc.pid, args.seconds, streams)
            ]
            rss = _rss_mib(proc.pid)
        finally:
            if spy is not None:
                spy.terminate()
                spy.wait(timeout=60)
            proc.terminate()
            proc.wait(timeout=30)
    size = f"attached to pid {proc.pid}" if args.attach else f"{args.accounts} accounts"
    print(f"emulator: {size}, book + servers up in {boot_s} s, peak RSS {rss} MiB, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    cols = ("vendor", "stream", "records", "calls", "wall_s", "calls_per_s", "emulator_cpu_ms_per_call")
    print("".join(f"{c:>12}" if i < 4 else f"{c:>26}" for i, c in enumerate(cols)))
    for row in rows:
        mark = "" if row["complete"] else " (cut)"
        cells = [f"{row[c]!s:>12}" if i < 4 else f"{row[c]!s:>26}" for i, c in enumerate(cols)]
        print("".join(cells) + mark)
    print(json.dumps({"accounts": args.accounts, "boot_s": boot_s, "rss_mib": rss, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
