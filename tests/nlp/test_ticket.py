"""score_ticket: customer messages only, cleaned, latest weighing most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

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
    s = score_ticket(comments, ByWord())
    # weights 1, 2, 4 (x confidence 0.9): (-0.8 - 1.6 + 3.2) / 7 > 0, but short of positive
    assert s.score == pytest.approx((-0.8 - 1.6 + 3.2) / 7, abs=1e-4)
    assert s.label == "neutral"


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


NEG = Sentiment(label="negative", score=-0.9, confidence=0.9, excerpt="terrible")
POS = Sentiment(label="positive", score=0.8, confidence=0.8, excerpt="thanks")
MEH = Sentiment(label="neutral", score=0.0, confidence=0.6, excerpt="meh")


@pytest.mark.parametrize(
    ("messages", "label", "excerpt"),
    [
        ([NEG, POS], "neutral", "thanks"),  # 0.188: the later thanks outweighs the complaint
        ([POS, NEG], "negative", "terrible"),  # -0.377
        ([POS, POS, NEG], "neutral", "terrible"),  # -0.22: the excerpt is the latest message's
        ([NEG, NEG, MEH], "negative", "terrible"),  # -0.476: the most negative message is quoted
        ([MEH], "neutral", "meh"),
        ([NOTHING_TO_JUDGE, NEG], "negative", "terrible"),
        ([], "neutral", ""),
    ],
    ids=["recovered", "soured", "soured-late", "calmer-but-negative", "neutral", "skips-empty", "nothing"],
)
def test_roll_up_weighs_the_latest_message_most_by_confidence(
    messages: list[Sentiment], label: str, excerpt: str
) -> None:
    judged = [x for x in messages if x.confidence > 0]
    weights = [2.0**i * x.confidence for i, x in enumerate(judged)]
    expected = (
        sum(w * x.score for w, x in zip(weights, judged, strict=True)) / sum(weights) if judged else 0.0
    )
    got = roll_up(messages)
    assert (got.label, got.excerpt) == (label, excerpt)
    assert got.score == pytest.approx(expected, abs=1e-4)


def test_roll_up_quotes_the_most_negative_message_not_the_latest() -> None:
    worst = Sentiment(label="negative", score=-0.95, confidence=0.95, excerpt="You deleted our data.")
    mild = Sentiment(label="negative", score=-0.5, confidence=0.7, excerpt="Still waiting.")
    got = roll_up([worst, mild])
    assert got.label == "negative"
    assert got.excerpt == "You deleted our data."


def test_excerpt_never_comes_from_a_signature_or_quoted_reply(int8_model) -> None:  # type: ignore[no-untyped-def]
    body = (
        "Hi team,\n\nThe export has failed every night this week and we lost a day of work.\n\n"
        "Best regards,\nJo\nJo Smith | Head of Happiness | Great Company\n\n"
        "On Tue, 3 Mar 2026 at 10:01, Support <help@vendor.io> wrote:\n> Wonderful news, all fixed! Great day!"
    )
    s = score_ticket([("end-user", body, T0)], int8_model)
    assert s.label == "negative"
    assert s.excerpt == "The export has failed every night this week and we lost a day of work."
