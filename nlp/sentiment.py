"""The sentiment value every classifier returns, and the Protocol the pipeline depends on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sentiment:
    """One judgement: label, score in [-1, 1] (P(positive) - P(negative)), confidence in [0, 1], excerpt.

    `excerpt` is the sentence of the (cleaned) text that pushed the model hardest towards `label`.
    """

    label: Label
    score: float
    confidence: float
    excerpt: str = ""


# What is returned when there is nothing to judge (empty text, binary junk, only boilerplate).
NOTHING_TO_JUDGE = Sentiment(label="neutral", score=0.0, confidence=0.0, excerpt="")


@dataclass(frozen=True, slots=True, kw_only=True)
class SentencePush:
    """How much one sentence moved the prediction: `push` > 0 pushes positive, < 0 negative."""

    text: str
    push: float
    toward: Label


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """A sentiment plus every sentence's share of it, strongest first."""

    sentiment: Sentiment
    sentences: tuple[SentencePush, ...]


class SentimentClassifier(Protocol):
    """Anything that turns texts into sentiments in order (the model, or a fake in tests)."""

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]: ...
