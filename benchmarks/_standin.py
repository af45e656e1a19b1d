"""A stand-in sentiment model for the set-up pass of the benchmarks at size (issue 17).

Judging a 10k book's 18 months of history with the shipped encoder is ~30-40 min of CPU here, and the
figures these benchmarks report come after it (a targeted refresh, an incremental pass). The stand-in
labels every message neutral under the shipped model's version, so the sentiment cache counts them as
judged and only what changes afterwards is read by the real model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def neutral_sentiment(settings: Any) -> Iterator[None]:
    """While open: every message neutral, stored under the shipped model's version (this process only)."""
    from connector.pipeline import sentiment as sentiment_step
    from nlp.sentiment import Sentiment

    real = sentiment_step.load_model(settings.sentiment_model_path, settings.instance_path)

    class Neutral:
        version = str(getattr(real, "version", None) or getattr(real, "name", "model"))

        def classify_many(self, texts: Any) -> list[Sentiment]:
            return [Sentiment(label="neutral", score=0.0, confidence=0.5, excerpt="") for _ in texts]

    original = sentiment_step.load_model
    sentiment_step.load_model = lambda *a, **k: Neutral()  # type: ignore[assignment]
    try:
        yield
    finally:
        sentiment_step.load_model = original  # type: ignore[assignment]
