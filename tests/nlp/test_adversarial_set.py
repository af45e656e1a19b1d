"""The named support adversarial set (data/tickets/adversarial.jsonl): test data, loaded as named sets, sharing
nothing with the training data (no text, no 5-word run, no product name, no courtesy line), and on the card."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

from nlp.data import Example, load_adversarial, load_tickets
from nlp.paths import (
    DEFAULT_ADVERSARIAL,
    DEFAULT_GENERATED,
    DEFAULT_TICKETS,
    DEFAULT_WRITTEN,
    default_data_dir,
)
from nlp.sentiment import Sentiment
from nlp.train import load_all

TICKETS = Path(__file__).resolve().parents[2] / "data" / "tickets"
EXPECTED = {
    "adv_requests": "neutral",
    "adv_outages": "negative",
    "adv_polite_complaints": "negative",
    "adv_sarcasm": "negative",
    "adv_howto_problems": "neutral",
    "adv_resolved_thanks": "positive",
    "adv_courteous_requests": "neutral",
    "adv_courteous_outages": "negative",
}


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tickets_{name}", TICKETS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    found = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(found[i : i + n]) for i in range(len(found) - n + 1)}


def test_adversarial_set_loads_as_named_sets_and_is_what_its_generator_makes() -> None:
    rows = load_adversarial(DEFAULT_ADVERSARIAL)
    assert [e.text for e in rows] == [r["text"] for r in _module("adversarial").rows()]
    assert Counter(e.source for e in rows) == dict.fromkeys(EXPECTED, 20)
    assert {(e.source, e.label) for e in rows} == set(EXPECTED.items())
    assert len({e.text.lower() for e in rows}) == len(rows)
    # The two misreads a new user reported are in it, with the label a support lead gives.
    labels = {e.text: e.label for e in rows}
    assert labels["we would like to review our plan"] == "neutral"
    assert labels["cannot use the Slack integration at all right now"] == "negative"


def test_adversarial_set_shares_nothing_with_the_training_data() -> None:
    """No text, no run of five words, no product and no courtesy line of the set is in any training source."""
    adversarial = load_adversarial(DEFAULT_ADVERSARIAL)
    training = load_all(default_data_dir(), DEFAULT_TICKETS, DEFAULT_GENERATED, DEFAULT_WRITTEN)
    assert not {e.text.lower() for e in training} & {e.text.lower() for e in adversarial}
    seen = set().union(*(_shingles(e.text) for e in training))
    assert not [e.text for e in adversarial if _shingles(e.text) & seen]

    adv, gen = _module("adversarial"), _module("generate")
    # The generator's later styles at the largest size tried (120 a label) leak nothing either.
    later = gen.support_rows(gen.SEED + 1, 120)
    assert not [
        e.text for e in adversarial if _shingles(e.text) & set().union(*(_shingles(r["text"]) for r in later))
    ]
    generated = "\n".join(
        [e.text for e in load_tickets(DEFAULT_GENERATED, source="g")] + [r["text"] for r in later]
    ).lower()
    assert not [p for p in adv.PRODUCTS if p.lower() in generated]
    assert not {p for p, _ in gen.PRODUCTS} & set(adv.PRODUCTS)
    assert not [c for c in adv.OPENERS + adv.CLOSERS if c.lower() in generated]


class _Stub:
    """Labels by keyword: enough to check the bookkeeping without a model."""

    name = "stub"

    def classify_many(self, texts: list[str]) -> list[Sentiment]:
        return [
            Sentiment(label="negative", score=-0.9, confidence=0.9)
            if "cannot" in t
            else Sentiment(label="positive", score=0.9, confidence=0.9)
            for t in texts
        ]


def test_adversarial_results_per_set_and_whole_and_on_the_card() -> None:
    from nlp.evaluate import Evaluation, adversarial_results, render_card

    rows = [
        Example(source="adv_outages", id="adv_outages-01", text="cannot log in", label="negative"),
        Example(source="adv_outages", id="adv_outages-02", text="sync keeps failing", label="negative"),
        Example(source="adv_requests", id="adv_requests-01", text="review our plan", label="neutral"),
    ]
    stub = _Stub()
    got = adversarial_results(stub, stub, rows)  # type: ignore[arg-type]
    sets = {c.name: c for c in got["adversarial"]}
    assert [c.name for c in got["adversarial"]] == ["adv_outages", "adv_requests"]
    assert sets["adv_outages"].accuracy == 0.5
    assert sets["adv_outages"].predicted == {"negative": 1, "neutral": 0, "positive": 1}
    assert sets["adv_requests"].expected == "neutral"
    assert got["adversarial_all"].report.n == 3
    assert adversarial_results(stub, stub, []) == {}  # type: ignore[arg-type]

    ev = Evaluation(
        runtime="stub", reference="stub", seed=13, data="x", head_meta={}, results=(), seconds=0.0, **got
    )
    card = render_card(ev, {})
    assert "## Support adversarial set" in card
    assert "| adv_outages | 2 | negative | 0.500 | 1 / 0 / 1 |" in card
    assert "| neutral | 0 | 0 | 1 |" in card  # confusion: the request read positive
    assert ev.as_dict()["adversarial"]["sets"]["adv_requests"]["accuracy"] == 0.0
    # The known weaknesses say who wrote the set.
    assert "support adversarial set (data/tickets/adversarial.py)" in card
