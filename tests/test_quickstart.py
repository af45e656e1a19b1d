"""The README's quick start and configuration table as a newcomer reads them (report-readme.md)."""

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


def test_the_readme_lists_every_setting() -> None:
    """HEALTHSCORE_INSTANCE_PATH, HEALTHSCORE_SENTIMENT_MODEL_PATH, HEALTHSCORE_CARD_RATE_LIMIT and others were
    read by the service but missing from the README's configuration table."""
    import dataclasses

    from connector.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    internal = {"sandbox_url"}  # not read anywhere any more; kept so existing config files stay valid
    missing = [
        f.name
        for f in dataclasses.fields(Settings)
        if f.name not in internal and f"| `{f.name}` | `HEALTHSCORE_{f.name.upper()}` |" not in readme
    ]
    assert not missing, f"settings missing from README.md's Configuration table: {missing}"
