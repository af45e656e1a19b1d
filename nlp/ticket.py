"""Per-ticket sentiment from a thread: customer messages only, the latest weighing most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nlp.preprocess import clean_message, has_words
from nlp.sentiment import NOTHING_TO_JUDGE, Label, Sentiment, SentimentClassifier

# Zendesk end users are "end-user"; Salesforce/HubSpot callers pass "customer" or "contact". Agents, admins,
# bots and system notes are never the customer's sentiment.
CUSTOMER_ROLES = frozenset({"customer", "end-user", "end_user", "enduser", "requester", "contact", "user"})
# Each newer customer message weighs twice the one before (times its confidence), so the latest outweighs
# all earlier ones together unless the model was unsure about it.
GROWTH = 2.0
# The weighted score must pass these to call the ticket negative / positive; in between it is neutral.
NEGATIVE_BELOW = -0.25
POSITIVE_ABOVE = 0.25
# A message the model judged with near-zero confidence still counts a little (0 means nothing to judge).
MIN_WEIGHT = 0.05

Comment = tuple[str, str, datetime]


def customer_messages(comments: Sequence[Comment]) -> list[str]:
    """Cleaned customer message bodies with something to judge, oldest first."""
    ordered = sorted(comments, key=lambda c: c[2])
    cleaned = [clean_message(body) for role, body, _ in ordered if role.strip().lower() in CUSTOMER_ROLES]
    return [c for c in cleaned if has_words(c)]


def roll_up(messages: Sequence[Sentiment]) -> Sentiment:
    """One ticket's sentiment from its customer messages in time order (the one roll-up of the project;
    the pipeline's sentiment step uses it too).

    Each newer message weighs GROWTH times the one before, times its confidence; messages with nothing to
    judge (confidence 0) are skipped. The label comes from the weighted score; a negative ticket quotes its
    most negative message (what a support lead needs to read), any other ticket its latest.
    """
    judged = [s for s in messages if s.confidence > 0]
    if not judged:
        return NOTHING_TO_JUDGE
    # Relative to the latest message (GROWTH ** 0): the same ratios, exact in binary floating point, and old
    # messages fade to 0.0 instead of GROWTH ** i overflowing at the 1,025th (a thread anyone can grow by
    # replying to a support e-mail raised OverflowError and failed the tenant's whole sentiment pass).
    last = len(judged) - 1
    weights = [GROWTH ** (i - last) * max(s.confidence, MIN_WEIGHT) for i, s in enumerate(judged)]
    total = sum(weights)
    score = sum(w * s.score for w, s in zip(weights, judged, strict=True)) / total
    label: Label = (
        "negative" if score <= NEGATIVE_BELOW else "positive" if score >= POSITIVE_ABOVE else "neutral"
    )
    anchor = min(judged, key=lambda s: s.score) if label == "negative" else judged[-1]
    confidence = sum(w * s.confidence for w, s in zip(weights, judged, strict=True)) / total
    return Sentiment(
        label=label,
        score=round(max(-1.0, min(1.0, score)), 4),
        confidence=round(confidence, 4),
        excerpt=anchor.excerpt,
    )


def score_tickets(tickets: Sequence[Sequence[Comment]], model: SentimentClassifier) -> list[Sentiment]:
    """score_ticket for many tickets with one batched classify_many call."""
    per_ticket = [customer_messages(t) for t in tickets]
    flat = [m for msgs in per_ticket for m in msgs]
    scored = iter(model.classify_many(flat))
    return [roll_up([next(scored) for _ in msgs]) for msgs in per_ticket]


def score_ticket(comments: Sequence[Comment], model: SentimentClassifier) -> Sentiment:
    """Sentiment of one ticket thread of (author_role, body, created_at) comments.

    Each customer message is cleaned (quotes, signatures, greetings, HTML) and scored; agent replies are
    ignored; messages are combined by `roll_up` (the latest weighs most).
    """
    return score_tickets([comments], model)[0]
