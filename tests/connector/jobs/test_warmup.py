"""A fresh worker process warms up before its first task (worker_process_init): the vendor SDKs imported
and the sentiment model loaded as the split pass's sentiment parts use it, so the first pass does not pay
for them (~8 % of it). Optional: a missing model file or any failure is logged and skipped, and never stops
the worker."""

from __future__ import annotations

import gc
import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.signals import worker_process_init

from connector.config import Settings
from connector.jobs import passes, tasks, warmup
from connector.pipeline import sentiment
from nlp.errors import ModelLoadError
from nlp.sentiment import Sentiment


class Model:
    version = "fake-1"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def classify_many(self, texts: Any) -> list[Sentiment]:
        self.texts.extend(texts)
        return [Sentiment(label="neutral", score=0.0, confidence=1.0, excerpt=t) for t in texts]


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """The handler freezes the heap (gc.freeze): give it back to the collector for the tests after these."""
    yield
    gc.unfreeze()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    s = Settings(
        env="test", instance_path=str(tmp_path / "instance"), database_url=f"sqlite:///{tmp_path}/x.db"
    )
    monkeypatch.setattr(tasks, "_settings", s)
    return s


def test_the_worker_process_signal_warms_the_sdks_and_the_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[tuple[Any, ...]] = []
    imported: list[str] = []
    model = Model()

    def load(*args: Any) -> Model:
        loaded.append(args)
        return model

    monkeypatch.setattr(sentiment, "load_model", load)
    monkeypatch.setattr(warmup, "adapter_class", imported.append)
    worker_process_init.send(sender=None)
    assert imported == ["salesforce", "hubspot", "zendesk"]
    # the same arguments as the pass parts' call, so their lru_cache finds it loaded
    assert loaded == [(settings.sentiment_model_path, settings.instance_path, passes.SENTIMENT_PART_THREADS)]
    assert model.texts  # one tiny inference: ONNX Runtime's first-run allocations are paid here too


def test_the_real_model_is_cached_for_the_first_part(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh copy of the module's cached loader: other tests of a session may have swapped the attribute.
    spec = importlib.util.spec_from_file_location("sentiment_copy", sentiment.__file__)
    assert spec is not None
    assert spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "sentiment_copy", copy)  # its dataclasses look themselves up there
    spec.loader.exec_module(copy)
    monkeypatch.setattr(sentiment, "load_model", copy.load_model)
    report = warmup.warm(settings)
    assert report["model"] == "loaded"
    info = sentiment.load_model.cache_info()
    sentiment.load_model(settings.sentiment_model_path, settings.instance_path, passes.SENTIMENT_PART_THREADS)
    assert sentiment.load_model.cache_info().hits == info.hits + 1


def test_a_missing_model_file_is_skipped_quietly(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing(*_args: Any) -> Any:
        raise ModelLoadError("/models/none.onnx", "healthscore model export", "file not found")

    monkeypatch.setattr(sentiment, "load_model", missing)
    imported: list[str] = []
    monkeypatch.setattr(warmup, "adapter_class", imported.append)
    with caplog.at_level(logging.INFO, logger="connector.jobs.warmup"):
        report = warmup.warm(settings)
    assert report["model"].startswith("skipped")
    assert len(imported) == 3  # the SDKs are still warmed
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_failing_warm_up_never_stops_the_worker(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("onnxruntime exploded")

    monkeypatch.setattr(sentiment, "load_model", broken)
    monkeypatch.setattr(warmup, "adapter_class", broken)
    with caplog.at_level(logging.WARNING, logger="connector.jobs.warmup"):
        warmup.on_worker_process_init()  # the signal handler itself: returns, raises nothing
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)

    def worse(_settings: Settings) -> Any:
        raise MemoryError

    monkeypatch.setattr(warmup, "warm", worse)
    warmup.on_worker_process_init()  # even an error warm() did not expect is contained


def test_a_slow_warm_up_is_not_mistaken_for_a_dead_process() -> None:
    """Celery's parent waits worker_proc_alive_timeout (default 4 s) for a new process's init; loading the
    model and three SDKs on a busy 2-core machine can take longer."""
    assert tasks.celery.conf.worker_proc_alive_timeout >= 30


def test_after_the_warm_up_what_the_process_holds_is_kept_from_the_garbage_collector(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the SDKs' thousands of modules and the model are long-lived objects that every oldest-
    generation collection walked again, in every pass part; frozen after the warm-up they are not walked."""
    monkeypatch.setattr(warmup, "warm", lambda _settings: {})
    gc.unfreeze()
    try:
        warmup.on_worker_process_init()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # other tests see a normal heap


def test_a_failed_warm_up_still_freezes(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def worse(_settings: Settings) -> Any:
        raise MemoryError

    monkeypatch.setattr(warmup, "warm", worse)
    gc.unfreeze()
    try:
        warmup.on_worker_process_init()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
