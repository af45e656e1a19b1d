"""The written customer-service messages: loaded as one source, clean of the test sets, left out on their own."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from nlp.crossdomain import DOMAINS, left_out, without_writer, without_written, writer_folds
from nlp.data import WRITTEN_SOURCE, Example, TrainingDataError, load_tickets, load_written, split
from nlp.evaluate import writer_lines
from nlp.finetune import FinetuneConfig, training_rows
from nlp.paths import DEFAULT_CHALLENGE, DEFAULT_LONGMAIL, DEFAULT_WRITTEN


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    import re

    found = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(found[i : i + n]) for i in range(len(found) - n + 1)}


def test_every_file_of_the_folder_is_one_source(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "wa-1", "label": "negative", "text": "still no refund"}) + "\n\n", encoding="utf-8"
    )
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"id": "wb-1", "label": "neutral", "text": "what time do you open?"}) + "\n",
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not data", encoding="utf-8")
    rows = load_written(tmp_path)
    assert [(e.id, e.source, e.label) for e in rows] == [
        ("wa-1", WRITTEN_SOURCE, "negative"),
        ("wb-1", WRITTEN_SOURCE, "neutral"),
    ]


def test_a_bad_line_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "wa-1", "label": "negative", "text": "x"})
        + "\n"
        + '{"id": "wa-2", "label": "angry", "text": "y"}\n',
        encoding="utf-8",
    )
    with pytest.raises(TrainingDataError, match=r"a\.jsonl:2"):
        load_written(tmp_path)
    with pytest.raises(TrainingDataError, match="not found"):
        load_written(tmp_path / "missing")


def test_written_text_is_its_own_loso_domain_and_target_domain_text() -> None:
    assert WRITTEN_SOURCE in DOMAINS
    assert left_out(WRITTEN_SOURCE) == {WRITTEN_SOURCE}
    # The tickets fold drops what the ticket authors wrote, not the other authors' customer messages.
    assert WRITTEN_SOURCE not in left_out("tickets")
    rows = load_written(DEFAULT_WRITTEN)
    train, _ = split(rows, 13)
    cfg = FinetuneConfig()
    assert len(training_rows(train, cfg, 13)) == min(len(train), cfg.per_source) * cfg.support_repeat


def test_shipped_written_set_is_large_balanced_and_distinct() -> None:
    rows = load_written(DEFAULT_WRITTEN)
    files = sorted(p.name for p in DEFAULT_WRITTEN.glob("*.jsonl"))
    assert len(files) >= 4
    assert len(rows) >= 1200
    counts = Counter(e.label for e in rows)
    assert min(counts.values()) >= 0.2 * len(rows)
    assert len({e.text for e in rows}) == len(rows)
    assert len({e.id for e in rows}) == len(rows)


# Stock e-mail formulas any writer uses; sharing one is not borrowing from a test set.
STOCK_PHRASES = ("let me know if you need anything else",)


def test_written_set_borrows_no_sentence_from_the_test_sets() -> None:
    """The challenge and long-mail sets stay unseen: no written message shares a run of 8 words with them
    (5-word runs are everyday phrases such as "thanks for getting back to me", written independently)."""
    stock = set().union(*(_shingles(p, 8) for p in STOCK_PHRASES))
    tests = load_tickets(DEFAULT_CHALLENGE, source="challenge") + load_tickets(
        DEFAULT_LONGMAIL, source="longmail"
    )
    held = set().union(*(_shingles(e.text, 8) for e in tests)) - stock
    clashes = [e.id for e in load_written(DEFAULT_WRITTEN) if _shingles(e.text, 8) & held]
    assert not clashes
    assert {e.text for e in load_written(DEFAULT_WRITTEN)}.isdisjoint({e.text for e in tests})


def _ex(source: str, id_: str, label: str = "neutral") -> Example:
    return Example(source=source, id=id_, text=id_, label=label)  # type: ignore[arg-type]


def test_writer_folds_group_written_rows_by_file_and_drop_only_that_file() -> None:
    rows = [
        _ex(WRITTEN_SOURCE, "wa-1"),
        _ex(WRITTEN_SOURCE, "wb-1"),
        _ex(WRITTEN_SOURCE, "wa-2"),
        _ex("tickets", "wa-3"),  # a ticket whose id happens to share the prefix is not a written row
    ]
    assert {w: [e.id for e in g] for w, g in writer_folds(rows).items()} == {
        "wa": ["wa-1", "wa-2"],
        "wb": ["wb-1"],
    }
    assert [e.id for e in without_writer(rows, "wa")] == ["wb-1", "wa-3"]
    assert [e.id for e in without_written(rows)] == ["wa-3"]


def test_card_shows_the_leave_one_writer_out_table() -> None:
    lines = writer_lines(
        {
            "none": {"wa": 0.80, "wb": 0.70},
            "others": {"wa": 0.85, "wb": 0.69},
            "n": {"wa": 80, "wb": 70},
            "files": {"wa": "travel.jsonl", "wb": "telecom.jsonl"},
            "steps": 200,
            "seed": 13,
        }
    )
    text = "\n".join(lines)
    assert "| travel.jsonl (wa) | 80 | 0.800 | 0.850 | +0.050 |" in text
    assert "| telecom.jsonl (wb) | 70 | 0.700 | 0.690 | -0.010 |" in text
    assert "| **mean** | 150 | 0.750 | 0.770 | +0.020 |" in text


def test_unseen_writers_are_evaluation_only_and_apart_from_the_training_text() -> None:
    """data/tickets/unseen_writers/ is never trained on: not loaded as training data, no text shared, and no
    message is a near copy of a training message (half or more of its 5-word runs in one training message;
    single shared phrases such as "just wanted to say thank you to the" are everyday English)."""
    from collections import Counter

    from nlp.data import load_unseen_writers
    from nlp.paths import DEFAULT_GENERATED, DEFAULT_TICKETS, DEFAULT_UNSEEN_WRITERS, default_data_dir
    from nlp.train import load_all

    unseen = load_unseen_writers(DEFAULT_UNSEEN_WRITERS)
    assert len({e.source for e in unseen}) >= 4
    assert len(unseen) >= 1600
    training = load_all(default_data_dir(), DEFAULT_TICKETS, DEFAULT_GENERATED, DEFAULT_WRITTEN)
    assert not {e.source for e in training} & {e.source for e in unseen}
    assert not {e.text for e in training} & {e.text for e in unseen}
    where: dict[tuple[str, ...], set[int]] = {}
    for i, e in enumerate(training):
        for run in _shingles(e.text):
            where.setdefault(run, set()).add(i)
    near = []
    for e in unseen:
        runs = _shingles(e.text)
        shared = Counter(i for run in runs for i in where.get(run, ()))
        if len(runs) >= 2 and shared and shared.most_common(1)[0][1] * 2 >= len(runs):
            near.append(e.id)
    assert not near


def test_card_shows_the_unseen_writers_per_file_and_overall() -> None:
    from nlp.evaluate import SourceResult, unseen_lines
    from nlp.metrics import evaluate

    gold = ["negative", "neutral", "positive", "positive"]
    rows = [
        SourceResult(
            source="brand_tweets",
            report=evaluate(gold, ["negative", "neutral", "positive", "negative"]),
            reference_macro_f1=0.9,
            agreement_with_reference=0.75,
        ),
        SourceResult(
            source="all", report=evaluate(gold, gold), reference_macro_f1=1.0, agreement_with_reference=1.0
        ),
    ]
    text = "\n".join(unseen_lines(rows))
    assert "never trained on" in text
    assert "| brand_tweets | 4 | 0.778 | 0.750 | 0.67 / 1.00 / 0.67 | 0.900 | 0.750 |" in text
    assert "| **all** | 4 | 1.000 | 1.000 |" in text
