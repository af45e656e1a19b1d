"""The model card is rendered from the evaluation's numbers and credits the VADER data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nlp.evaluate import Evaluation, SourceResult, render_card
from nlp.metrics import evaluate


def test_card_shows_measured_numbers_and_credits_the_data() -> None:
    report = evaluate(
        ["negative", "neutral", "positive", "positive"], ["negative", "positive", "positive", "positive"]
    )
    ev = Evaluation(
        runtime="onnx:encoder-int8.onnx",
        reference="torch-fp32",
        seed=13,
        data="abc123",
        head_meta={"C": 4.0, "class_weight": "balanced", "ticket_weight": 3.0},
        results=(
            SourceResult(
                source="tickets", report=report, reference_macro_f1=0.5, agreement_with_reference=0.75
            ),
        ),
        seconds=1.0,
    )
    card = render_card(ev, {"tickets": 4}, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert f"| tickets | 4 | {report.macro_f1:.3f} | 0.750 | 0.500 | 0.750 |" in card
    assert "| neutral | 0 | 0 | 1 |" in card  # confusion row: gold neutral predicted positive
    assert "MIT licence" in card
    assert "Hutto" in card
    assert "2026-01-02 00:00 UTC" in card


def test_card_shows_loso_beside_in_domain_challenge_sets_and_calibration() -> None:
    from nlp.crossdomain import Candidate
    from nlp.evaluate import ChallengeResult, calibration
    from nlp.sentiment import Sentiment

    report = evaluate(["negative", "positive"], ["negative", "positive"])
    scored = [
        (Sentiment(label="negative", score=-0.8, confidence=0.9), True),
        (Sentiment(label="positive", score=0.5, confidence=0.6), False),
    ]
    ev = Evaluation(
        runtime="onnx:encoder-int8.onnx",
        reference="torch-fp32",
        seed=13,
        data="abc",
        head_meta={"temperature": 1.5, "finetune": {"steps": 320, "scale": 20.0}},
        results=(
            SourceResult(
                source="tickets", report=report, reference_macro_f1=1.0, agreement_with_reference=1.0
            ),
        ),
        seconds=1.0,
        challenge=(
            ChallengeResult(
                name="sarcasm",
                expected="negative",
                n=20,
                accuracy=0.85,
                predicted={"negative": 17, "neutral": 2, "positive": 1},
            ),
        ),
        calibration=calibration(scored, 1.5),
        candidates=(
            Candidate(
                name="frozen", in_domain={"tickets": 0.8, "tweets": 0.6}, loso={"tickets": 0.5, "tweets": 0.4}
            ),
            Candidate(
                name="tuned", in_domain={"tickets": 0.9, "tweets": 0.7}, loso={"tickets": 0.7, "tweets": 0.6}
            ),
        ),
        chosen="tuned",
    )
    card = render_card(ev, {"tickets": 2})
    assert "| tuned (shipped) |" in card
    assert "**0.650**" in card  # LOSO mean of the tuned model
    assert "| sarcasm | 20 | negative | 0.850 | 17 / 2 / 1 |" in card
    assert "Temperature T=1.5" in card
    assert "| 0.90-0.95 | 1 | 0.900 | 1.000 |" in card
    assert "fine-tuned end to end" in card


def test_probabilities_are_recovered_from_label_confidence_and_score() -> None:
    from nlp.evaluate import probabilities
    from nlp.sentiment import Sentiment

    for probs in [(0.7, 0.2, 0.1), (0.1, 0.6, 0.3), (0.05, 0.15, 0.8)]:
        best = max(range(3), key=lambda k: probs[k])
        s = Sentiment(
            label=("negative", "neutral", "positive")[best], score=probs[2] - probs[0], confidence=probs[best]
        )  # type: ignore[arg-type]
        assert probabilities(s) == pytest.approx(probs)
