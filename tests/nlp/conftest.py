"""Session fixtures: the shipped int8 model, an ONNX build of the base encoder (once, in a temp instance dir) for
the export machinery, the base encoder on torch, and a fake encoder.

The fine-tuned fp32 weights exist only where `healthscore model train` ran (not in CI), so tests of the
export and of frozen-head training use the packaged base encoder; quality tests use the shipped int8 model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.encoder import load_tokenizer
from nlp.head import LinearHead
from nlp.loader import load_default_model
from nlp.model import SentimentModel
from nlp.paths import DEFAULT_HEAD, default_encoder_dir


@pytest.fixture(scope="session")
def built_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance dir with the ONNX fp32 + int8 export built once for the whole session."""
    from nlp.export import export

    instance = tmp_path_factory.mktemp("instance")
    export(default_encoder_dir(), instance)
    return instance


@pytest.fixture(scope="session")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> SentimentModel:
    """The default runtime model: the shipped fine-tuned int8 ONNX file (no build, no torch)."""
    return load_default_model(None, tmp_path_factory.mktemp("runtime-instance"), backend="onnx-int8")


@pytest.fixture(scope="session")
def torch_model(tmp_path_factory: pytest.TempPathFactory) -> SentimentModel:
    """The packaged base encoder on torch fp32 (with the shipped head: right shape, labels not meaningful)."""
    return load_default_model(
        default_encoder_dir(),
        tmp_path_factory.mktemp("torch-instance"),
        backend="torch",
        head_path=DEFAULT_HEAD,
    )


class CountingEncoder:
    """Deterministic fake encoder: token states are a fixed function of the token id; counts its calls."""

    name = "fake"
    hidden_size = 8

    def __init__(self) -> None:
        self.rows_seen = 0
        table = np.random.default_rng(0).normal(size=(40_000, self.hidden_size))
        self.table = table.astype(np.float32)

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.rows_seen += int(input_ids.shape[0])
        return self.table[input_ids % len(self.table)]


@pytest.fixture
def fake_model() -> SentimentModel:
    """A SentimentModel on the fake encoder with a random head (fast; for plumbing, not quality)."""
    rng = np.random.default_rng(1)
    head = LinearHead(weight=rng.normal(size=(3, 8)).astype(np.float32), bias=np.zeros(3, np.float32))
    tokenizer = load_tokenizer(default_encoder_dir(), "reinstall")
    return SentimentModel(encoder=CountingEncoder(), tokenizer=tokenizer, head=head)
