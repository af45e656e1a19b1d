"""Assemble a SentimentModel from configured paths: packaged MiniLM by default, ONNX int8 built on demand."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Literal

from nlp.encoder import Encoder, OnnxEncoder, TorchEncoder, load_tokenizer
from nlp.errors import ModelLoadError
from nlp.export import EXPORT_COMMAND, export, onnx_paths
from nlp.head import LinearHead, load_head
from nlp.model import SentimentModel
from nlp.paths import (
    FINETUNED_DIR,
    SHIPPED_ONNX,
    SHIPPED_TOKENIZER,
    default_instance_dir,
    head_path_for,
)
from nlp.sentiment import Sentiment

logger = logging.getLogger(__name__)

Backend = Literal["onnx-int8", "onnx-fp32", "torch"]
BACKENDS: tuple[Backend, ...] = ("onnx-int8", "onnx-fp32", "torch")
BATCH_SIZE = 16


def train_command(model_path: Path | None) -> str:
    """The command that rebuilds the head for this encoder."""
    return "healthscore model train" + (f" --model-path {model_path}" if model_path else "")


def load_encoder(
    model_path: Path | None, instance_dir: Path, backend: Backend = "onnx-int8", threads: int | None = None
) -> tuple[Encoder, Path]:
    """The encoder and the directory holding its tokenizer.

    The default model is the shipped int8 ONNX file (`nlp/weights/`, runs without torch); its fp32 weights
    (backends "onnx-fp32" and "torch") exist only where `healthscore model train` was run. A `.onnx` file is
    used as given (backend ignored); a model directory runs on torch or on an ONNX export under instance/
    that is built on first use.

    Raises:
        ModelLoadError: a file is missing or corrupt.
    """
    if model_path is None and backend == "onnx-int8":
        return OnnxEncoder(
            SHIPPED_ONNX, "healthscore model train (or git checkout the shipped file)", threads
        ), (SHIPPED_TOKENIZER.parent)
    source = model_path or FINETUNED_DIR
    if source.suffix == ".onnx":
        # An ONNX file brings its tokenizer.json beside it; otherwise assume the shipped vocabulary.
        tok_dir = source.parent if (source.parent / "tokenizer.json").is_file() else SHIPPED_TOKENIZER.parent
        return OnnxEncoder(source, f"{EXPORT_COMMAND} (or fix --model-path {source})", threads), tok_dir
    if not (source / "config.json").is_file():
        if model_path is None:
            raise ModelLoadError(
                source,
                "pip install -e '.[train]' && healthscore model train",
                "the fine-tuned fp32 weights are not built here (only int8 ONNX is shipped)",
            )
        raise ModelLoadError(source, "fix --model-path", "no config.json")
    if backend == "torch":
        return TorchEncoder(source), source
    fp32, int8 = onnx_paths(source, instance_dir)
    chosen = int8 if backend == "onnx-int8" else fp32
    if not fp32.exists() and not int8.exists():
        logger.info("ONNX encoder not built yet for %s; building it under %s", source, chosen.parent)
        export(source, instance_dir)
    rebuild = f"{EXPORT_COMMAND} --force" + (f" --model-path {model_path}" if model_path else "")
    return OnnxEncoder(chosen, rebuild, threads), source


def load_default_model(
    model_path: str | Path | None = None,
    instance_dir: Path | None = None,
    *,
    backend: Backend = "onnx-int8",
    cache: MutableMapping[str, Sentiment] | None = None,
    head_path: Path | None = None,
    threads: int | None = None,
) -> SentimentModel:
    """The configured sentiment model, ready to score (see the nlp package docstring).

    Raises:
        ModelLoadError: the encoder, its ONNX export or the head is missing or corrupt; the message names
            the file and the command that rebuilds it.
    """
    path = Path(model_path) if model_path else None
    instance = instance_dir or default_instance_dir()
    head_file = head_path or head_path_for(path, instance)
    head: LinearHead = load_head(head_file, train_command(path))
    encoder, tok_dir = load_encoder(path, instance, backend, threads)
    tokenizer = load_tokenizer(tok_dir, train_command(path))
    hidden = getattr(encoder, "hidden_size", 0)
    if hidden and hidden != head.hidden_size:
        raise ModelLoadError(
            head_file,
            train_command(path),
            f"head expects {head.hidden_size}-d states, encoder gives {hidden}",
        )
    # Batches of 16 (sorted by length, split over the encoder's one-thread sessions): measured best of 8/16/32
    # for the fixed-scale int8 file (benchmarks/sentiment.py); a graph that runs rows alone ignores it.
    return SentimentModel(encoder=encoder, tokenizer=tokenizer, head=head, cache=cache, batch_size=BATCH_SIZE)
