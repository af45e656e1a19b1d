"""A candidate of the last card that a new evaluate run did not measure stays on the card, marked as such."""

from __future__ import annotations

import json
from pathlib import Path

from connector.commands.model import _earlier_candidates
from nlp.crossdomain import Candidate


def _row(name: str, note: str = "") -> dict[str, object]:
    return {"name": name, "in_domain": {"tweets": 0.6}, "loso": {"tweets": 0.5}, "note": note}


def test_unmeasured_candidates_are_kept_with_a_note(tmp_path: Path) -> None:
    card = tmp_path / "default.json"
    card.write_text(
        json.dumps(
            {
                "data": "038892a91a9e",
                "candidates": [
                    _row("MiniLM-L6 frozen + logistic head (before)"),
                    _row(
                        "all-mpnet-base-v2 frozen + linear head",
                        "head trained on at most 500 rows per source",
                    ),
                    _row("MiniLM-L3 student (layers 0,2,4) distilled, fp32"),
                ],
            }
        ),
        encoding="utf-8",
    )
    current = [Candidate(name="MiniLM-L6 frozen + logistic head (before)", in_domain={}, loso={})]
    kept = _earlier_candidates(card, current)
    assert [c.name for c in kept] == ["all-mpnet-base-v2 frozen + linear head"]
    assert kept[0].loso == {"tweets": 0.5}
    assert kept[0].note == (
        "head trained on at most 500 rows per source; measured in an earlier run (training data 038892a91a9e),"
        " not re-run"
    )
    # Run again on a card that already carries it: the note is not stacked.
    card.write_text(json.dumps({"candidates": [kept[0].as_dict()]}), encoding="utf-8")
    assert _earlier_candidates(card, current)[0].note == kept[0].note


def test_a_broken_card_keeps_nothing(tmp_path: Path) -> None:
    card = tmp_path / "default.json"
    card.write_text("{not json", encoding="utf-8")
    assert _earlier_candidates(card, []) == []
