"""Span scoring of long messages: cut a cleaned message into spans and combine their judgements with the whole's.

A long support mail often wraps one angry paragraph in a polite preamble and closing; mean-pooling the whole
message dilutes that paragraph. Spans are runs of whole sentences inside one paragraph, at most `max_tokens`
word pieces (the length the model was fine-tuned at), so each span is scored as the kind of text the model
learned from.

The combination follows the support convention the labels use (a complaint, however wrapped, is negative):
the whole message's judgement stands unless one span is confidently negative, in which case the message is
negative with that span's score, confidence and excerpt. Only negative is promoted this way: a thank-you line
inside a question does not make the question positive.

Measured on the named long-mail set (data/tickets/longmail.py; rule and threshold chosen on its dev seed,
reported on its test seed, both on the model card): span scoring rescues buried complaints but turns "it was
broken, you fixed it, thank you" mails negative, and loses to the whole-message windows overall. So it is off
by default (`SentimentModel(span_scoring=False)`); this module stays as the measured alternative.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nlp.preprocess import sentence_spans
from nlp.sentiment import Sentiment

# The fine-tuning length (nlp.finetune.FinetuneConfig.max_len): spans look like the training texts.
SPAN_TOKENS = 64
# A span must be at least this sure of "negative" to make the whole message negative.
NEGATIVE_SPAN_CONFIDENCE = 0.9
# Word pieces of a message covered by spans: the whole-message windows' reach (4 x 128).
SPAN_BUDGET = 512
_PARAGRAPH = re.compile(r"\n\s*\n")

Span = tuple[int, int]


def paragraphs(text: str) -> list[Span]:
    """Character spans of the blank-line-separated paragraphs of `text`."""
    out: list[Span] = []
    start = 0
    for match in _PARAGRAPH.finditer(text):
        if text[start : match.start()].strip():
            out.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out


def message_spans(
    text: str, tokenizer: Any, max_tokens: int = SPAN_TOKENS, budget: int = SPAN_BUDGET
) -> list[Span]:
    """Runs of consecutive sentences of one paragraph, each at most `max_tokens` word pieces (a longer single
    sentence is its own span), covering the first `budget` word pieces only (the whole-message windows read no
    further either). One span means the message is short: nothing to gain from span scoring."""
    paras = paragraphs(text)
    sentences = [(a, b, k) for k, (p0, p1) in enumerate(paras) for a, b in _within(text, p0, p1)]
    if len(sentences) < 2:
        return [(sentences[0][0], sentences[0][1])] if sentences else []
    encoded = tokenizer.encode_batch([text[a:b] for a, b, _ in sentences], add_special_tokens=False)
    spans: list[Span] = []
    start, end, para = sentences[0][0], sentences[0][1], sentences[0][2]
    used = total = len(encoded[0].ids)
    for (a, b, k), enc in zip(sentences[1:], encoded[1:], strict=True):
        total += len(enc.ids)
        if total > budget:
            break
        if k != para or used + len(enc.ids) > max_tokens:
            spans.append((start, end))
            start, used, para = a, 0, k
        used += len(enc.ids)
        end = b
    spans.append((start, end))
    return spans


def _within(text: str, start: int, end: int) -> list[Span]:
    return [(start + a, start + b) for a, b in sentence_spans(text[start:end])]


def combine(
    whole: Sentiment, spans: Sequence[Sentiment], threshold: float = NEGATIVE_SPAN_CONFIDENCE
) -> Sentiment:
    """The message's judgement: the whole's, unless a span is negative with confidence >= threshold (then the
    most confidently negative span's, never less negative than the whole)."""
    if whole.label == "negative" or not spans:
        return whole
    angry = [s for s in spans if s.label == "negative" and s.confidence >= threshold]
    if not angry:
        return whole
    worst = max(angry, key=lambda s: s.confidence)
    return Sentiment(
        label="negative",
        score=min(worst.score, whole.score),
        confidence=worst.confidence,
        excerpt=worst.excerpt,
    )
