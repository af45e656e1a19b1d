"""benchmarks/pipeline.py --smoke runs and reports every figure (a smoke check, not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_pipeline_benchmark_smoke_reports_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pipeline.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(out.stdout)
    assert figures["tickets_linked"] == figures["tickets"]
    assert figures["compacted"] > 0  # history older than 30 days thinned to one a day
    for key in ("upsert_tickets_s", "link_first_s", "portfolio_first_page_p95_ms", "compaction_s"):
        assert figures[key] >= 0
