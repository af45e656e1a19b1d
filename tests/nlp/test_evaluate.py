"""The model card is rendered from the evaluation's numbers and credits the VADER data."""

from __future__ import annotations

from datetime import UTC, datetime

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
