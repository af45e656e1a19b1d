"""Training is reproducible for a seed; the split holds out 20% of every (source, label) group."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.data import Example, TrainingDataError, load_tickets, split
from nlp.model import SentimentModel
from nlp.paths import DEFAULT_TICKETS, default_data_dir
from nlp.train import train


def _train(seed: int, model: SentimentModel, out: Path) -> bytes:
    result = train(
        seed=seed, data_dir=default_data_dir(), tickets_path=DEFAULT_TICKETS, per_source=30, model=model
    )
    result.head.save(out)
    return out.read_bytes()


def test_same_seed_gives_byte_identical_heads(torch_model: SentimentModel, tmp_path: Path) -> None:
    first = _train(7, torch_model, tmp_path / "a.npz")
    second = _train(7, torch_model, tmp_path / "b.npz")
    other = _train(8, torch_model, tmp_path / "c.npz")
    assert first == second
    assert other != first


def _examples() -> list[Example]:
    return [
        Example(source=src, id=f"{src}-{lab}-{i}", text=f"{src} {lab} {i}", label=lab)  # type: ignore[arg-type]
        for src in ("a", "b")
        for lab in ("negative", "neutral", "positive")
        for i in range(10)
    ]


def test_split_is_seeded_disjoint_and_stratified() -> None:
    train_a, test_a = split(_examples(), seed=1)
    _train_b, test_b = split(list(reversed(_examples())), seed=1)
    assert test_a == test_b  # input order does not matter
    assert not {e.id for e in train_a} & {e.id for e in test_a}
    assert len(test_a) == 12  # 2 of each of the 6 (source, label) groups
    assert split(_examples(), seed=2)[1] != test_a


def test_ticket_set_is_large_and_covers_every_label() -> None:
    tickets = load_tickets(DEFAULT_TICKETS)
    assert len(tickets) >= 300
    counts = {lab: sum(e.label == lab for e in tickets) for lab in ("negative", "neutral", "positive")}
    assert min(counts.values()) >= 100
    assert len({e.text for e in tickets}) == len(tickets)


def test_missing_data_dir_says_how_to_point_at_it(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="HEALTHSCORE_SENTIMENT_DATA"):
        train(seed=1, data_dir=tmp_path, tickets_path=DEFAULT_TICKETS)
