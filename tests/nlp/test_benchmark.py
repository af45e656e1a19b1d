"""The sentiment benchmark runs end to end in its smoke mode (so CI notices when it rots)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sentiment.py"


def test_benchmark_smoke_runs_every_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_sentiment", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--smoke", "--record", str(tmp_path / "speed.json")])
    out = capsys.readouterr().out
    assert "texts/s" in out
    assert rows[0]["ratio"] == pytest.approx(1.0)
    assert any("shipped" in str(r["path"]) for r in rows)
    for row in rows:
        assert float(row["texts_per_s"]) > 0
        assert 0.0 <= float(row["macro_f1"]) <= 1.0
    import json

    recorded = json.loads((tmp_path / "speed.json").read_text(encoding="utf-8"))
    assert [r["path"] for r in recorded["rows"]] == [r["path"] for r in rows]
    assert recorded["texts"] == 40
    assert len(recorded["load_start"]) == 3
