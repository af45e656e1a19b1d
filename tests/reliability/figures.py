"""Figures the suites measure (runs, faults injected, inputs tried, defects caught), gathered per pytest
session and written as JSON when HEALTHSCORE_RELIABILITY_FIGURES names a file (tests/reliability/report.py
turns that file into docs/reliability.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Read at import (collection time): the root conftest strips HEALTHSCORE_* from each test's environment.
MODE = "full" if os.environ.get("HEALTHSCORE_RELIABILITY", "").lower() == "full" else "short"
OUTPUT = os.environ.get("HEALTHSCORE_RELIABILITY_FIGURES", "")
# Not settings: taken out of the environment so no module-scoped app (created before the per-test
# environment clean-up) refuses them as unknown HEALTHSCORE_* settings.
os.environ.pop("HEALTHSCORE_RELIABILITY", None)
os.environ.pop("HEALTHSCORE_RELIABILITY_FIGURES", None)
FIGURES: dict[str, dict[str, Any]] = {}


def full() -> bool:
    return MODE == "full"


def budget(short: int, long: int) -> int:
    """How many runs/inputs a suite tries in this mode."""
    return long if full() else short


def record(suite: str, **numbers: Any) -> None:
    """Add numbers to a suite's figures (ints and floats are summed, anything else replaced)."""
    row = FIGURES.setdefault(suite, {})
    for key, value in numbers.items():
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and isinstance(row.get(key), int | float)
        ):
            row[key] = row[key] + value
        else:
            row[key] = value


def write() -> None:
    if not OUTPUT:
        return
    path = Path(OUTPUT)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("mode", MODE)
    suites = data.setdefault("suites", {})
    for suite, row in FIGURES.items():
        suites.setdefault(suite, {}).update(row)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
