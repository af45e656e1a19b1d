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


def test_benchmark_times_a_student_beside_the_shipped_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--student DIR adds its int8 rows (a pruned, untrained student is enough to check the plumbing)."""
    import shutil

    from transformers import AutoModel

    from nlp.finetune import keep_layers, save_encoder
    from nlp.paths import DEFAULT_HEAD, HEAD_FILENAME, default_encoder_dir

    monkeypatch.setenv("HEALTHSCORE_INSTANCE_PATH", str(tmp_path / "instance"))
    base = AutoModel.from_pretrained(str(default_encoder_dir()), local_files_only=True)
    student = tmp_path / "student"
    save_encoder(keep_layers(base, [0, 2, 4]), default_encoder_dir(), student)
    shutil.copyfile(DEFAULT_HEAD, student / HEAD_FILENAME)
    spec = importlib.util.spec_from_file_location("bench_sentiment", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--smoke", "--limit", "12", "--student", str(student)])
    names = [str(r["path"]) for r in rows]
    assert sum(n.startswith("student (student) int8") for n in names) == 2
    shipped = next(r for r in rows if "(shipped)" in str(r["path"]))
    assert shipped["agreement_shipped"] == pytest.approx(1.0)
    assert all(0.0 <= float(r["agreement_shipped"]) <= 1.0 for r in rows)
