"""Span scoring of long mail: spans follow paragraphs and sentences, the combination only promotes negative,
and the long-mail set is scored both ways with the threshold chosen on its dev split."""

from __future__ import annotations

from nlp.encoder import load_tokenizer
from nlp.model import SentimentModel
from nlp.paths import default_encoder_dir
from nlp.sentiment import Sentiment
from nlp.spans import combine, message_spans, paragraphs

MAIL = (
    "I hope your week is going well. Thanks for the webinar last month.\n\n"
    "For context, we run the forecast report every Monday. Nothing changed on our side.\n\n"
    "Frankly, this is unacceptable. The report has failed for eight days."
)


def _tok():  # type: ignore[no-untyped-def]
    return load_tokenizer(default_encoder_dir(), "reinstall")


def test_spans_never_cross_a_paragraph_and_respect_the_token_limit() -> None:
    spans = message_spans(MAIL, _tok())
    paras = paragraphs(MAIL)
    assert len(paras) == 3
    for a, b in spans:
        assert any(p0 <= a and b <= p1 for p0, p1 in paras)
    assert [MAIL[a:b] for a, b in spans][
        -1
    ] == "Frankly, this is unacceptable. The report has failed for eight days."
    short = message_spans(MAIL, _tok(), max_tokens=4)
    assert len(short) == 6  # every sentence alone once the limit is below a sentence's length


def test_a_one_sentence_message_is_one_span_and_the_budget_cuts_long_text() -> None:
    assert message_spans("The export broke.", _tok()) == [(0, 17)]
    assert message_spans("", _tok()) == []
    long = "\n\n".join(f"Paragraph {i} says the export broke again today." for i in range(200))
    spans = message_spans(long, _tok(), budget=100)
    assert 5 <= len(spans) <= 12  # ~11 word pieces per paragraph, 100 pieces covered


def _s(label: str, confidence: float, score: float, excerpt: str = "") -> Sentiment:
    return Sentiment(label=label, score=score, confidence=confidence, excerpt=excerpt)  # type: ignore[arg-type]


def test_combine_promotes_only_a_confident_negative_span() -> None:
    whole = _s("positive", 0.7, 0.5, "Thanks for the webinar.")
    angry = _s("negative", 0.95, -0.9, "This is unacceptable.")
    unsure = _s("negative", 0.55, -0.2, "It was slow.")
    happy = _s("positive", 0.99, 0.98, "Great!")
    assert combine(whole, [happy, unsure], 0.9) == whole
    got = combine(whole, [happy, angry], 0.9)
    assert (got.label, got.confidence, got.excerpt) == ("negative", 0.95, "This is unacceptable.")
    assert got.score == -0.9
    neutral = _s("neutral", 0.8, 0.0)
    assert combine(neutral, [happy], 0.5) == neutral  # a thank-you line does not make a question positive
    negative = _s("negative", 0.6, -0.3)
    assert combine(negative, [happy], 0.5) == negative


def test_version_names_head_and_recipe(fake_model: SentimentModel) -> None:
    import numpy as np

    from nlp.head import LinearHead

    before = fake_model.version
    fake_model.span_scoring = True
    assert fake_model.version != before
    other = SentimentModel(
        encoder=fake_model.encoder,
        tokenizer=fake_model.tokenizer,
        head=LinearHead(weight=fake_model.head.weight + 1, bias=np.zeros(3, np.float32)),
    )
    assert other.version != before
    assert other.version.split(":")[0] == fake_model.name


def test_span_scoring_switch_changes_only_long_messages(fake_model: SentimentModel) -> None:
    short = "The export broke."
    plain = fake_model.classify_many([short, MAIL])
    fake_model.cache.clear()
    fake_model.span_scoring = True
    fake_model.span_threshold = 0.0  # any negative span promotes: the plumbing, not the quality
    spanned = fake_model.classify_many([short, MAIL])
    assert spanned[0] == plain[0]
    per_span = fake_model.span_sentiments([fake_model.clean(MAIL)])[0]
    assert len(per_span) == len(message_spans(fake_model.clean(MAIL), fake_model.tokenizer))
    assert spanned[1] == combine(plain[1], per_span, 0.0)


def test_long_mail_table_and_decision_come_from_the_dev_split(fake_model: SentimentModel) -> None:
    from nlp.data import load_tickets
    from nlp.evaluate import long_mail
    from nlp.paths import DEFAULT_LONGMAIL

    rows = load_tickets(DEFAULT_LONGMAIL, source="longmail")
    assert {e.id.split("-")[1] for e in rows} == {"dev", "test"}
    lm = long_mail(fake_model, rows[:10] + rows[-10:])
    assert lm is not None
    assert [(r.split, r.n) for r in lm.results] == [("dev", 10), ("dev", 10), ("test", 10), ("test", 10)]
    dev_whole, dev_spans = lm.results[0], lm.results[1]
    assert lm.keep_spans == (dev_spans.macro_f1 > dev_whole.macro_f1)
    assert lm.runtime_uses_spans is False
