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


def test_card_shows_recorded_speed_and_footprint() -> None:
    report = evaluate(["negative", "positive"], ["negative", "positive"])
    ev = Evaluation(
        runtime="onnx:encoder-int8.onnx",
        reference="torch-fp32",
        seed=13,
        data="abc",
        head_meta={},
        results=(
            SourceResult(
                source="tickets", report=report, reference_macro_f1=1.0, agreement_with_reference=1.0
            ),
        ),
        seconds=1.0,
        speed={
            "measured": "2026-12-06 08:00 UTC",
            "texts": 100,
            "mean_chars": 90.0,
            "cpu_cores": 2,
            "repeat": 2,
            "finetuned_baseline": True,
            "load_start": [1.5, 1.0, 0.5],
            "load_end": [1.9, 1.2, 0.6],
            "rows": [
                {
                    "path": "baseline",
                    "texts_per_s": 10.0,
                    "ratio": 1.0,
                    "agreement": 1.0,
                    "macro_f1": 0.7,
                    "delta_f1_pts": 0.0,
                },
                {
                    "path": "int8 (shipped)",
                    "texts_per_s": 85.0,
                    "ratio": 8.5,
                    "agreement": 0.97,
                    "macro_f1": 0.695,
                    "delta_f1_pts": -0.5,
                },
            ],
        },
        footprint={
            "measured": "x",
            "runtime": {"total_mb": 874.0, "biggest_mb": {"scipy": 149.0}, "has_torch": False},
            "train": {"total_mb": 1900.0, "biggest_mb": {"torch": 754.0}, "has_torch": True},
        },
    )
    card = render_card(ev, {"tickets": 2})
    assert "| int8 (shipped) | 85.0 | 8.50x | 0.970 | 0.695 | -0.50 |" in card
    assert "load average 1.5 at start and 1.9 at the end" in card
    assert "| runtime | 874 | no | scipy 149 |" in card
    assert "| train | 1900 | yes | torch 754 |" in card
