"""Loading: from the package with the hub unreachable; every broken file is a ModelLoadError that says what to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nlp import loader
from nlp.errors import ModelLoadError
from nlp.export import onnx_paths
from nlp.loader import load_default_model
from nlp.paths import DEFAULT_HEAD, SHIPPED_ONNX, default_encoder_dir


def test_loads_from_the_package_with_the_hub_offline(
    built_instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No model hub is reachable: an attempt to download would need a network that is not there."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # any network attempt would fail loudly
    model = load_default_model(None, built_instance)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert model.classify("This is fantastic, thank you!").label == "positive"
    base = load_default_model(default_encoder_dir(), built_instance, backend="torch", head_path=DEFAULT_HEAD)
    assert base.name == "torch-fp32"


def test_runtime_never_imports_torch(tmp_path: Path) -> None:
    """The shipped model runs on onnxruntime and tokenizers only (torch is in the train extra)."""
    code = (
        "import sys, nlp\n"
        f"m = nlp.load_default_model(None, {str(tmp_path)!r})\n"
        "assert m.classify('The export is broken again.').label == 'negative'\n"
        "bad = [m for m in ('torch', 'transformers', 'sklearn', 'onnx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_default_fp32_without_a_training_run_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "FINETUNED_DIR", tmp_path / "nothing-here")
    with pytest.raises(ModelLoadError) as err:
        load_default_model(None, tmp_path, backend="torch")
    assert "healthscore model train" in str(err.value)
    assert "[train]" in str(err.value)


def test_int8_is_built_on_demand_in_a_fresh_instance(tmp_path: Path, built_instance: Path) -> None:
    # Copy the session build instead of exporting again: proves the lookup by key, not the export itself.
    fp32, int8 = onnx_paths(default_encoder_dir(), built_instance)
    fresh_fp32, fresh_int8 = onnx_paths(default_encoder_dir(), tmp_path)
    fresh_int8.parent.mkdir(parents=True)
    shutil.copy(int8, fresh_int8)
    model = load_default_model(default_encoder_dir(), tmp_path, head_path=DEFAULT_HEAD)
    assert model.name == "onnx:encoder-int8.onnx"
    assert fresh_int8.stat().st_size < fp32.stat().st_size / 2  # it really is the quantised file
    assert not fresh_fp32.exists()


def test_missing_head_names_path_and_command(tmp_path: Path, built_instance: Path) -> None:
    missing = tmp_path / "nope.npz"
    with pytest.raises(ModelLoadError) as err:
        load_default_model(None, built_instance, head_path=missing)
    assert str(missing) in str(err.value)
    assert "healthscore model train" in str(err.value)


def test_corrupt_head_is_a_model_load_error(tmp_path: Path, built_instance: Path) -> None:
    bad = tmp_path / "head.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ModelLoadError, match="corrupt head"):
        load_default_model(None, built_instance, head_path=bad)


def test_corrupt_onnx_names_the_export_command(tmp_path: Path) -> None:
    _, int8 = onnx_paths(default_encoder_dir(), tmp_path)
    int8.parent.mkdir(parents=True)
    int8.write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError) as err:
        load_default_model(default_encoder_dir(), tmp_path, head_path=DEFAULT_HEAD)
    assert str(int8) in str(err.value)
    assert "healthscore model export --force" in str(err.value)


def test_configured_onnx_file_that_is_missing(tmp_path: Path) -> None:
    head = tmp_path / "sentiment_head.npz"
    shutil.copy(DEFAULT_HEAD, head)
    with pytest.raises(ModelLoadError, match="file not found"):
        load_default_model(tmp_path / "model.onnx", tmp_path)


def test_configured_onnx_file_is_used_as_given(tmp_path: Path) -> None:
    shutil.copy(SHIPPED_ONNX, tmp_path / "mine.onnx")
    shutil.copy(DEFAULT_HEAD, tmp_path / "sentiment_head.npz")
    model = load_default_model(tmp_path / "mine.onnx", tmp_path / "instance")
    assert model.name == "onnx:mine.onnx"
    assert model.classify("Awful, everything is broken.").label == "negative"


def test_custom_model_dir_without_a_head_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as err:
        load_default_model(tmp_path, tmp_path / "instance")
    assert f"healthscore model train --model-path {tmp_path}" in str(err.value)
