"""SentimentModel: cleaning, cached batched scoring, and sentence-level explanations."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlp.batching import Pooled, pool_texts
from nlp.cache import LRUCache, text_hash
from nlp.encoder import Encoder
from nlp.head import LinearHead
from nlp.preprocess import MAX_CHARS, clean_message, has_words, looks_english, sentence_spans, words
from nlp.sentiment import LABELS, NOTHING_TO_JUDGE, Explanation, Label, SentencePush, Sentiment
from nlp.spans import NEGATIVE_SPAN_CONFIDENCE, combine, message_spans

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 300
# English words are mostly one WordPiece each (~1.2 per word); German, Spanish, French, Polish text measured
# 1.7-2.3. Only consulted when the function-word test already failed.
FOREIGN_PIECES_PER_WORD = 1.6
# Texts are scored in slices this big: large enough that length-sorting pays, small enough for memory.
SLICE = 512


@dataclass(frozen=True, slots=True)
class _Scored:
    """Everything one text's scoring produced, before it is reduced to a Sentiment."""

    sentiment: Sentiment
    sentences: tuple[SentencePush, ...]


class SentimentModel:
    """Scores texts with an encoder + linear head; results are cached by text hash."""

    def __init__(
        self,
        *,
        encoder: Encoder,
        tokenizer: Any,
        head: LinearHead,
        cache: MutableMapping[str, Sentiment] | None = None,
        preprocess: bool = True,
        batch_size: int = 8,
        max_len: int = 128,
        max_chunks: int = 4,
        english_only: bool = True,
        span_scoring: bool = False,
        span_threshold: float = NEGATIVE_SPAN_CONFIDENCE,
    ) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.head = head
        self.cache: MutableMapping[str, Sentiment] = cache if cache is not None else LRUCache(50_000)
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.max_len = max_len
        self.max_chunks = max_chunks
        self.english_only = english_only
        # Off by default: span scoring lost to whole-message windows on the long-mail set (see nlp.spans).
        self.span_scoring = span_scoring
        self.span_threshold = span_threshold

    @property
    def name(self) -> str:
        """Which encoder backend this model runs on."""
        return self.encoder.name

    @property
    def version(self) -> str:
        """Identifies what this model answers: backend, head weights and scoring recipe. Results stored under
        one version (the pipeline's cache table) are never served for another."""
        digest = hashlib.sha256(self.head.weight.tobytes() + self.head.bias.tobytes()).hexdigest()[:12]
        recipe = f"spans{self.span_threshold:g}" if self.span_scoring else "whole"
        # Rows run alone answer differently from the earlier batched int8 results: a new version re-judges.
        alone = ":alone" if getattr(self.encoder, "rows_alone", False) else ""
        # The weight file's own digest (ONNX encoders): a file rebuilt under the same name (the int8 recipe
        # moved from run-time to fixed activation scales) re-judges what the old one stored.
        weights = getattr(self.encoder, "digest", "")
        weights = f":w{weights}" if weights else ""
        return f"{self.encoder.name}:{digest}:{recipe}:{self.max_len}x{self.max_chunks}{alone}{weights}"

    def clean(self, text: str) -> str:
        """The text the model actually reads."""
        return clean_message(text) if self.preprocess else text[:MAX_CHARS]

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        """One Sentiment per text, in order; texts seen before (same hash) come from the cache."""
        keys = [text_hash(t) for t in texts]
        results: dict[str, Sentiment] = {}
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in results or key in todo:
                continue
            hit = self.cache.get(key)
            if hit is not None:
                results[key] = hit
            else:
                todo[key] = text
        pending = list(todo.items())
        for start in range(0, len(pending), SLICE):
            part = pending[start : start + SLICE]
            for (key, _), scored in zip(part, self._score([t for _, t in part]), strict=True):
                results[key] = scored.sentiment
                self.cache[key] = scored.sentiment
        if pending:
            logger.debug("scored %d texts (%d cache hits)", len(pending), len(set(keys)) - len(pending))
        return [results[k] for k in keys]

    def classify(self, text: str) -> Sentiment:
        """Sentiment of a single text."""
        return self.classify_many([text])[0]

    def explain(self, text: str) -> Explanation:
        """The sentiment of `text` and every sentence's push, strongest first (never cached)."""
        scored = self._score([text])[0]
        ranked = sorted(scored.sentences, key=lambda s: abs(s.push), reverse=True)
        return Explanation(sentiment=scored.sentiment, sentences=tuple(ranked))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled states (n, hidden) of already-cleaned texts (training input)."""
        pools = self._pool(texts, projection=None)
        return np.stack([p.mean_normalised()[0] for p in pools]).astype(np.float32)

    def _pool(self, texts: Sequence[str], projection: np.ndarray | None) -> list[Pooled]:
        return pool_texts(
            self.encoder,
            self.tokenizer,
            texts,
            projection=projection,
            batch_size=self.batch_size,
            max_len=self.max_len,
            max_chunks=self.max_chunks,
        )

    def _score(self, texts: Sequence[str]) -> list[_Scored]:
        cleaned = [self.clean(t) for t in texts]
        judged = [i for i, c in enumerate(cleaned) if self._judgeable(c)]
        out = [_Scored(NOTHING_TO_JUDGE, ())] * len(texts)
        if not judged:
            return out
        pools = self._pool([cleaned[i] for i in judged], projection=self.head.weight.T)
        for i, pool in zip(judged, pools, strict=True):
            out[i] = self._reduce(cleaned[i], pool)
        if self.span_scoring:
            self._rescore_by_spans(cleaned, judged, out)
        return out

    def span_sentiments(self, texts: Sequence[str]) -> list[list[Sentiment]]:
        """Each cleaned text's spans (nlp.spans.message_spans) scored on their own; [] for a one-span text."""
        spans = [message_spans(t, self.tokenizer) for t in texts]
        flat = [t[a:b] for t, sp in zip(texts, spans, strict=True) if len(sp) > 1 for a, b in sp]
        if not flat:
            return [[] for _ in texts]
        pools = self._pool(flat, projection=self.head.weight.T)
        scored = iter(self._reduce(t, p).sentiment for t, p in zip(flat, pools, strict=True))
        return [[next(scored) for _ in sp] if len(sp) > 1 else [] for sp in spans]

    def _rescore_by_spans(self, cleaned: Sequence[str], judged: Sequence[int], out: list[_Scored]) -> None:
        """Promote a long message to negative when one of its spans is confidently negative (nlp.spans)."""
        candidates = [i for i in judged if out[i].sentiment.label != "negative"]
        for i, spans in zip(candidates, self.span_sentiments([cleaned[i] for i in candidates]), strict=True):
            if spans:
                combined = combine(out[i].sentiment, spans, self.span_threshold)
                out[i] = _Scored(combined, out[i].sentences)

    def _judgeable(self, text: str) -> bool:
        """Something to judge: letters, and (unless switched off) English the vocabulary can read."""
        if not has_words(text):
            return False
        if not self.english_only or looks_english(text):
            return True
        found = words(text)
        pieces = len(self.tokenizer.encode(" ".join(found), add_special_tokens=False).ids)
        return pieces / max(len(found), 1) <= FOREIGN_PIECES_PER_WORD

    def _reduce(self, text: str, pool: Pooled) -> _Scored:
        """Turn a text's pool into label, score, confidence and per-sentence pushes."""
        pooled, scale = pool.mean_normalised()
        logits = self.head.logits(pooled[None, :].astype(np.float32))[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(probs.argmax())
        label: Label = LABELS[best]
        score = float(np.clip(probs[2] - probs[0], -1.0, 1.0))
        sentences = _sentence_pushes(text, pool, scale)
        excerpt = _excerpt(text, sentences, best)
        sentiment = Sentiment(label=label, score=score, confidence=float(probs[best]), excerpt=excerpt)
        return _Scored(sentiment, tuple(s for s, _ in sentences))


def _sentence_pushes(text: str, pool: Pooled, scale: float) -> list[tuple[SentencePush, np.ndarray]]:
    """Each sentence's exact share of the logits (sum of its tokens' projections / scale)."""
    spans = sentence_spans(text)
    if not spans or not pool.proj:
        return []
    proj = np.concatenate(pool.proj) / scale
    starts = np.concatenate(pool.offsets)[:, 0]
    which = np.searchsorted(np.asarray([a for a, _ in spans]), starts, side="right") - 1
    result: list[tuple[SentencePush, np.ndarray]] = []
    for k, (a, b) in enumerate(spans):
        share = proj[which == k].sum(axis=0) if np.any(which == k) else np.zeros(3)
        margins = share - (share.sum() - share) / 2
        toward: Label = LABELS[int(margins.argmax())]
        push = float(share[2] - share[0])
        result.append((SentencePush(text=text[a:b][:EXCERPT_CHARS], push=push, toward=toward), margins))
    return result


def _excerpt(text: str, sentences: list[tuple[SentencePush, np.ndarray]], label_index: int) -> str:
    """The sentence whose tokens pushed hardest towards the predicted label."""
    if not sentences:
        return text[:EXCERPT_CHARS]
    best = max(sentences, key=lambda s: s[1][label_index])
    return best[0].text
