"""Ticket sentiment: text -> negative / neutral / positive with a score in [-1, 1] and the sentence behind it.

Python API for the pipeline::

    from nlp import load_default_model, score_ticket, score_tickets, text_hash

    model = load_default_model(model_path=settings.model_path,      # str | Path | None (None: the shipped model)
                               instance_dir=Path(app.instance_path),  # ONNX exports and custom heads are cached here
                               cache=db_backed_mapping)               # optional MutableMapping[str, Sentiment]
    model.classify_many(["text", ...]) -> list[Sentiment]             # in order; cached by text_hash(text)
    score_ticket([(author_role, body, created_at), ...], model) -> Sentiment
    score_tickets([thread, thread, ...], model) -> list[Sentiment]   # one batched model call for many tickets

- `load_default_model(model_path=None, instance_dir=None, *, backend="onnx-int8", cache=None, head_path=None,
  threads=None) -> SentimentModel`. The default is the shipped fine-tuned MiniLM-L6 as int8 ONNX
  (`nlp/weights/`, onnxruntime + tokenizers, no torch). "onnx-fp32" / "torch" need the fp32 weights that
  `healthscore model train` leaves in nlp/.build/ (train extra). A model directory as model_path gets its ONNX
  export built under instance_dir on first use; a `.onnx` model_path is used as is. Raises `ModelLoadError`
  naming the file and the command that rebuilds it. HF_HUB_OFFLINE is forced on: nothing is downloaded.
- `Sentiment` (frozen): label, score (P(positive) - P(negative)), confidence (probability of the label),
  excerpt (the sentence that pushed hardest towards the label). Empty / junk text: neutral, 0.0, confidence 0.
- `SentimentModel.classify_many(texts)`, `.classify(text)`, `.explain(text) -> Explanation`. The `cache`
  mapping is keyed by `text_hash(text)` of the raw text; any MutableMapping works (default: in-memory LRU).
  `.version` names backend, head digest and recipe (store results under it). Long messages are read whole;
  `span_scoring=True` adds the measured-but-off span rule of `nlp.spans`.
- `score_ticket`: only customer comments count (roles in `nlp.ticket.CUSTOMER_ROLES`, e.g. "end-user",
  "customer"); each is cleaned (quotes, signatures, greetings, HTML) and combined by `nlp.ticket.roll_up`
  (the project's one ticket roll-up: newer and more confident messages weigh more; a negative ticket quotes
  its most negative message).
- Account rollups are pure functions in `nlp.rollup` over (ticket_id, created_at, label, score, excerpt) rows.
"""

from __future__ import annotations

from nlp.cache import LRUCache, text_hash
from nlp.errors import ModelLoadError
from nlp.loader import load_default_model
from nlp.model import SentimentModel
from nlp.sentiment import (
    LABELS,
    NOTHING_TO_JUDGE,
    Explanation,
    Label,
    SentencePush,
    Sentiment,
    SentimentClassifier,
)
from nlp.ticket import score_ticket, score_tickets

__all__ = [
    "LABELS",
    "NOTHING_TO_JUDGE",
    "Explanation",
    "LRUCache",
    "Label",
    "ModelLoadError",
    "SentencePush",
    "Sentiment",
    "SentimentClassifier",
    "SentimentModel",
    "load_default_model",
    "score_ticket",
    "score_tickets",
    "text_hash",
]
