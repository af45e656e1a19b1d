"""Fine-tuning: reproducible for a seed, bounded by steps, calibrated by a temperature fitted on validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.crossdomain import DOMAINS, left_out
from nlp.data import Example
from nlp.finetune import FinetuneConfig, finetune, fit_temperature, training_rows
from nlp.paths import default_encoder_dir

TINY = FinetuneConfig(steps=2, batch_size=4, max_len=16, per_source=10, support_repeat=2)


def _rows() -> list[Example]:
    texts = {
        "negative": ["It broke again.", "Awful service.", "Refund me now.", "Nothing works."],
        "neutral": ["How do I export?", "Where is the log?", "Which plan is it?", "Send the invoice."],
        "positive": ["Thanks, fixed!", "Great help.", "Works perfectly.", "Love it."],
    }
    return [
        Example(source=src, id=f"{src}-{lab}-{i}", text=f"{t}", label=lab)  # type: ignore[arg-type]
        for src in ("tweets", "tickets")
        for lab, ts in texts.items()
        for i, t in enumerate(ts)
    ]


def test_same_seed_gives_identical_weights_and_another_seed_differs(tmp_path: Path) -> None:
    rows = _rows()

    def run(seed: int, name: str) -> bytes:
        result = finetune(rows, rows[:6], seed=seed, cfg=TINY, encoder_dir=default_encoder_dir())
        result.head.save(tmp_path / name)
        assert len(result.losses) == TINY.steps
        return (tmp_path / name).read_bytes()

    assert run(5, "a.npz") == run(5, "b.npz")
    assert run(6, "c.npz") != run(5, "a.npz")


def test_training_rows_cap_sources_and_repeat_support_text() -> None:
    rows = training_rows(_rows(), TINY, seed=1)
    assert sum(e.source == "tweets" for e in rows) == 10  # capped at per_source
    assert sum(e.source == "tickets" for e in rows) == 2 * 10  # capped, then repeated


def test_temperature_recovers_the_scale_of_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 3)) * 1.5
    probs = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    y = np.asarray([rng.choice(3, p=p) for p in probs])
    assert fit_temperature(true_logits * 3.0, y) == pytest.approx(3.0, rel=0.15)
    assert fit_temperature(true_logits, y) == pytest.approx(1.0, rel=0.15)


def test_leaving_out_tickets_also_drops_the_generated_support_text() -> None:
    assert left_out("tickets") == {"tickets", "support_generated"}
    assert left_out("tweets") == {"tweets"}
    assert "support_generated" not in DOMAINS
