"""Known-answer tests for the metrics that go into the model card."""

from __future__ import annotations

import pytest

from nlp.metrics import agreement, evaluate


def test_known_answer() -> None:
    gold = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    pred = ["negative", "neutral", "neutral", "positive", "positive", "negative"]
    r = evaluate(gold, pred)
    assert r.accuracy == pytest.approx(4 / 6)
    neg, neu, pos = r.per_class
    assert (neg.precision, neg.recall, neg.f1) == pytest.approx((0.5, 0.5, 0.5))
    assert (neu.precision, neu.recall, neu.f1) == pytest.approx((0.5, 1.0, 2 / 3))
    assert (pos.precision, pos.recall, pos.f1) == pytest.approx((1.0, 2 / 3, 0.8))
    assert r.macro_f1 == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert r.confusion == ((1, 1, 0), (0, 1, 0), (1, 0, 2))


def test_absent_class_scores_zero_not_nan() -> None:
    r = evaluate(["positive"], ["positive"])
    assert r.per_class[0].f1 == 0.0
    assert r.accuracy == 1.0


def test_agreement() -> None:
    assert agreement(["a", "b", "c", "d"], ["a", "x", "c", "d"]) == 0.75
