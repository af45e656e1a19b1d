"""score_ticket: customer messages only, cleaned, latest weighing most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from nlp.sentiment import NOTHING_TO_JUDGE, Sentiment
from nlp.ticket import roll_up, score_ticket, score_tickets

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class ByWord:
    """Fake classifier: 'bad' -> negative, 'good' -> positive, else neutral; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            if "bad" in t:
                out.append(Sentiment(label="negative", score=-0.8, confidence=0.9, excerpt=t))
            elif "good" in t:
                out.append(Sentiment(label="positive", score=0.8, confidence=0.9, excerpt=t))
            else:
                out.append(Sentiment(label="neutral", score=0.0, confidence=0.6, excerpt=t))
        return out


def test_agent_replies_are_ignored() -> None:
    model = ByWord()
    s = score_ticket(
        [("end-user", "This is bad.", T0), ("agent", "So sorry, good news soon!", T0 + timedelta(hours=1))],
        model,
    )
    assert s.label == "negative"
    assert model.calls == [["This is bad."]]


def test_latest_customer_message_weighs_most_even_against_two_older() -> None:
    comments = [
        ("customer", "bad start", T0),
        ("customer", "still bad", T0 + timedelta(days=1)),
        ("customer", "all good now", T0 + timedelta(days=2)),
    ]
    assert score_ticket(comments, ByWord()).label == "positive"


def test_messages_are_ordered_by_time_not_by_list_position() -> None:
    comments = [("customer", "all good now", T0 + timedelta(days=2)), ("customer", "bad start", T0)]
    s = score_ticket(comments, ByWord())
    assert s.label == "positive"
    assert s.excerpt == "all good now"


def test_quotes_and_signatures_are_cleaned_before_scoring() -> None:
    model = ByWord()
    body = "Hi team,\n\nbad again.\n\nBest regards,\nJo\n\nOn Mon, Support wrote:\n> good news"
    score_ticket([("end-user", body, T0)], model)
    assert model.calls == [["bad again."]]


def test_no_customer_words_is_nothing_to_judge() -> None:
    assert (
        score_ticket([("agent", "good", T0), ("end-user", "> quoted only", T0)], ByWord()) == NOTHING_TO_JUDGE
    )


def test_many_tickets_use_one_model_call() -> None:
    model = ByWord()
    out = score_tickets([[("customer", "bad", T0)], [], [("customer", "good", T0)]], model)
    assert [s.label for s in out] == ["negative", "neutral", "positive"]
    assert len(model.calls) == 1


def test_roll_up_score_is_weighted_mean() -> None:
    neg = Sentiment(label="negative", score=-1.0, confidence=1.0)
    pos = Sentiment(label="positive", score=1.0, confidence=1.0)
    assert roll_up([neg, pos]).score == (0.5 * -1.0 + 1.0) / 1.5
