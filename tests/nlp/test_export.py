"""The ONNX export machinery (run on the packaged base encoder): fp32 matches torch, int8 stays close."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from nlp.data import split
from nlp.export import export
from nlp.loader import load_default_model
from nlp.model import SentimentModel
from nlp.paths import DEFAULT_HEAD, DEFAULT_TICKETS, default_data_dir, default_encoder_dir
from nlp.preprocess import clean_message
from nlp.train import load_examples, subsample

# Pooled int8 vectors measured at cosine 0.97-0.99 to fp32 on held-out sentences; a broken export (wrong
# mask, wrong weights) lands far lower.
INT8_MIN_COSINE = 0.93


@pytest.fixture(scope="module")
def sample() -> list[str]:
    _, test = split(load_examples(default_data_dir(), DEFAULT_TICKETS), 13)
    return [clean_message(e.text) for e in subsample(test, 40, seed=0)]


def _base(instance: Path, backend: str) -> SentimentModel:
    return load_default_model(default_encoder_dir(), instance, backend=backend, head_path=DEFAULT_HEAD)  # type: ignore[arg-type]


def test_int8_pooled_states_stay_close_to_fp32(
    built_instance: Path, torch_model: SentimentModel, sample: list[str]
) -> None:
    got = _base(built_instance, "onnx-int8").embed(sample)
    want = torch_model.embed(sample)
    cosines = np.sum(got * want, axis=1)  # both L2-normalised
    assert float(np.median(cosines)) >= INT8_MIN_COSINE


def test_onnx_fp32_matches_torch(
    built_instance: Path, torch_model: SentimentModel, sample: list[str]
) -> None:
    got = _base(built_instance, "onnx-fp32").classify_many(sample)
    want = torch_model.classify_many(sample)
    assert [s.label for s in got] == [s.label for s in want]
    assert max(abs(a.score - b.score) for a, b in zip(got, want, strict=True)) < 1e-3


def test_export_reuses_existing_files(built_instance: Path) -> None:
    fp32, int8 = export(default_encoder_dir(), built_instance)
    before = (fp32.stat().st_mtime_ns, int8.stat().st_mtime_ns)
    export(default_encoder_dir(), built_instance)
    assert (fp32.stat().st_mtime_ns, int8.stat().st_mtime_ns) == before


def _scores(model: SentimentModel, texts: list[str]) -> list[float]:
    return [s.sentiment.score for s in model._score(texts)]


def test_int8_text_scores_do_not_depend_on_their_batch(
    built_instance: Path, int8_model: SentimentModel, sample: list[str]
) -> None:
    # Dynamic int8 scales activations by the batch's max: batched, a text's score moved with its neighbours
    # (up to 0.34 on 1,200 sentences). Each row now runs alone, so alone == in any batch, exactly.
    for model in (int8_model, _base(built_instance, "onnx-int8")):
        assert model.encoder.rows_alone  # type: ignore[attr-defined]
        assert model.version.endswith(":alone")
        alone = [_scores(model, [t])[0] for t in sample[:8]]
        model.batch_size = 8
        assert _scores(model, sample[:8]) == alone
        assert _scores(model, sample[20:] + sample[:8])[-8:] == alone
        assert [model.explain(t).sentiment.score for t in sample[:3]] == alone[:3]


def test_fp32_graph_keeps_batching(built_instance: Path, sample: list[str]) -> None:
    model = _base(built_instance, "onnx-fp32")
    assert not model.encoder.rows_alone  # type: ignore[attr-defined]
    assert not model.version.endswith(":alone")
    alone = [_scores(model, [t])[0] for t in sample[:8]]
    model.batch_size = 8
    assert np.allclose(_scores(model, sample[:8]), alone, atol=1e-4)


def test_int8_scores_do_not_depend_on_the_thread_setting(tmp_path: Path, sample: list[str]) -> None:
    one, two = (load_default_model(None, tmp_path, threads=n) for n in (1, 2))
    assert one.encoder._row_pool() is None  # type: ignore[attr-defined]
    assert two.encoder._row_pool() is not None  # type: ignore[attr-defined]
    assert _scores(one, sample[:12]) == _scores(two, sample[:12])


_FORKED: list[SentimentModel] = []


def _score_in_child(texts: list[str]) -> list[float]:
    return _scores(_FORKED[0], texts)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_int8_rows_still_run_in_a_forked_child(tmp_path: Path, sample: list[str]) -> None:
    # A pool made before fork has no threads in the child; the child must make its own, not wait forever.
    model = load_default_model(None, tmp_path, threads=2)
    want = _scores(model, sample[:4])  # the parent's pool exists now
    _FORKED[:] = [model]
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_score_in_child, (sample[:4],)).get(timeout=120)
    assert got == want
