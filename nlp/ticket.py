"""Per-ticket sentiment from a thread: customer messages only, the latest weighing most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nlp.preprocess import clean_message, has_words
from nlp.sentiment import LABELS, NOTHING_TO_JUDGE, Label, Sentiment, SentimentClassifier

# Zendesk end users are "end-user"; Salesforce/HubSpot callers pass "customer" or "contact". Agents, admins,
# bots and system notes are never the customer's sentiment.
CUSTOMER_ROLES = frozenset({"customer", "end-user", "end_user", "enduser", "requester", "contact", "user"})
# Each earlier customer message counts half as much as the next one, so the latest always outweighs all
# earlier ones together.
DECAY = 0.5

Comment = tuple[str, str, datetime]


def customer_messages(comments: Sequence[Comment]) -> list[str]:
    """Cleaned customer message bodies with something to judge, oldest first."""
    ordered = sorted(comments, key=lambda c: c[2])
    cleaned = [clean_message(body) for role, body, _ in ordered if role.strip().lower() in CUSTOMER_ROLES]
    return [c for c in cleaned if has_words(c)]


def roll_up(messages: Sequence[Sentiment]) -> Sentiment:
    """Combine per-message sentiments (oldest first) into one: weights DECAY**(messages after it)."""
    if not messages:
        return NOTHING_TO_JUDGE
    n = len(messages)
    weights = [DECAY ** (n - 1 - i) for i in range(n)]
    total = sum(weights)
    score = sum(w * m.score for w, m in zip(weights, messages, strict=True)) / total
    votes = dict.fromkeys(LABELS, 0.0)
    for w, m in zip(weights, messages, strict=True):
        votes[m.label] += w * m.confidence
    label: Label = max(LABELS, key=lambda lab: (votes[lab], lab == messages[-1].label))
    confidence = votes[label] / total
    # The excerpt comes from the latest message that agrees with the ticket's label.
    excerpt = next((m.excerpt for m in reversed(messages) if m.label == label), messages[-1].excerpt)
    return Sentiment(label=label, score=max(-1.0, min(1.0, score)), confidence=confidence, excerpt=excerpt)


def score_tickets(tickets: Sequence[Sequence[Comment]], model: SentimentClassifier) -> list[Sentiment]:
    """score_ticket for many tickets with one batched classify_many call."""
    per_ticket = [customer_messages(t) for t in tickets]
    flat = [m for msgs in per_ticket for m in msgs]
    scored = iter(model.classify_many(flat))
    return [roll_up([next(scored) for _ in msgs]) for msgs in per_ticket]


def score_ticket(comments: Sequence[Comment], model: SentimentClassifier) -> Sentiment:
    """Sentiment of one ticket thread of (author_role, body, created_at) comments.

    Each customer message is cleaned (quotes, signatures, greetings, HTML) and scored; agent replies are
    ignored; the latest customer message weighs most.
    """
    return score_tickets([comments], model)[0]
