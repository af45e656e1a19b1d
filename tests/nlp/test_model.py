"""SentimentModel behaviour: order and count, bad input never crashes, excerpts and explanations."""

from __future__ import annotations

import pytest

from nlp.model import SentimentModel
from nlp.sentiment import LABELS, NOTHING_TO_JUDGE


def test_order_and_count_are_kept(fake_model: SentimentModel) -> None:
    texts = ["b is bad.", "", "a is ok.", "b is bad.", "\x00\x01"]
    out = fake_model.classify_many(texts)
    assert len(out) == len(texts)
    assert out[0] == out[3]
    assert out[1] == NOTHING_TO_JUDGE
    assert out[4] == NOTHING_TO_JUDGE


def test_long_text_is_chunked_not_truncated_to_nothing(fake_model: SentimentModel) -> None:
    fake_model.classify_many(["word " * 3000])
    # 3,000 word pieces in windows of 254, capped at max_chunks windows
    assert fake_model.encoder.rows_seen == fake_model.max_chunks  # type: ignore[attr-defined]


BAD_INPUTS = {
    "empty": "",
    "whitespace": "   \n\t ",
    "100kb": "The export keeps failing. " * 4000,
    "binary-junk": bytes(range(256)).decode("latin-1"),
    "non-english": "Das ist eine Katastrophe, nichts funktioniert mehr seit gestern und keiner antwortet.",
    "html-mail": "<html><head><style>p{}</style></head><body><p>Hi,</p><p>The app is <b>great</b>!</p></body></html>",
    "emoji-only": "😡😡😡",
}


@pytest.mark.parametrize("text", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gets_a_label_never_a_crash(int8_model: SentimentModel, text: str) -> None:
    s = int8_model.classify(text)
    assert s.label in LABELS
    assert -1.0 <= s.score <= 1.0
    assert 0.0 <= s.confidence <= 1.0


@pytest.mark.parametrize("key", ["empty", "whitespace", "binary-junk", "non-english"])
def test_nothing_to_judge_is_neutral_with_zero_confidence(int8_model: SentimentModel, key: str) -> None:
    assert int8_model.classify(BAD_INPUTS[key]) == NOTHING_TO_JUDGE


def test_html_mail_is_judged_on_its_visible_text(int8_model: SentimentModel) -> None:
    s = int8_model.classify(BAD_INPUTS["html-mail"])
    assert s.label == "positive"
    assert s.excerpt == "The app is great!"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The sync has deleted half our accounts and nobody is answering. This is a disaster.", "negative"),
        ("Thank you so much, the fix works perfectly and the team is delighted!", "positive"),
        ("How do I export last year's invoices as CSV?", "neutral"),
    ],
    ids=["negative", "positive", "neutral-question"],
)
def test_clear_cases(int8_model: SentimentModel, text: str, label: str) -> None:
    assert int8_model.classify(text).label == label


def test_excerpt_is_the_sentence_that_carried_the_label(int8_model: SentimentModel) -> None:
    text = "The new dashboard looks nice. But the export has been broken for a week and I am furious."
    s = int8_model.classify(text)
    assert s.label == "negative"
    assert s.excerpt == "But the export has been broken for a week and I am furious."


def test_explain_ranks_sentences_by_push(int8_model: SentimentModel) -> None:
    exp = int8_model.explain("I love the new reports. The login page is broken and I am locked out.")
    pushes = [abs(p.push) for p in exp.sentences]
    assert pushes == sorted(pushes, reverse=True)
    by_text = {p.text: p for p in exp.sentences}
    assert by_text["I love the new reports."].push > 0
    assert by_text["The login page is broken and I am locked out."].push < 0


def test_quoted_agent_reply_does_not_count(int8_model: SentimentModel) -> None:
    own = "Still not working."
    quoted = (
        own + "\n\nOn Mon, 2 Mar 2026, Support <s@x.io> wrote:\n> Great news, we are thrilled, it is fixed!"
    )
    assert int8_model.classify(quoted) == int8_model.classify(own)
