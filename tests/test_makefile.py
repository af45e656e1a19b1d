"""The README's `make demo` as a newcomer runs it (report-readme.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    return [line for line in out.splitlines() if "healthscore demo" in line]


def test_make_demo_serves_on_the_port_given_in_demo_port() -> None:
    """Port 5000 taken (another app, a second checkout): `make demo` had no way to choose another port, and
    found out only after minutes of the demo pass, when the web UI could not bind."""
    assert any("--port 5187" in line for line in _dry_run("demo", "DEMO_PORT=5187"))
    assert any("--port 5000" in line for line in _dry_run("demo"))
    assert any("--port 5188" in line for line in _dry_run("demo-scale", "DEMO_PORT=5188"))
