"""The generated support text and the named challenge sets: deterministic, balanced, never overlapping."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

from nlp.data import load_tickets
from nlp.paths import DEFAULT_CHALLENGE, DEFAULT_GENERATED, DEFAULT_TICKETS, default_data_dir
from nlp.train import load_all

GENERATOR = Path(__file__).resolve().parents[2] / "data" / "tickets" / "generate.py"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("ticket_generator", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_is_what_the_generator_makes() -> None:
    rows = _generator().all_rows()
    shipped = load_tickets(DEFAULT_GENERATED, source="support_generated")
    assert [r["text"] for r in rows] == [e.text for e in shipped]
    counts = {lab: sum(r["label"] == lab for r in rows) for lab in ("negative", "neutral", "positive")}
    assert min(counts.values()) == max(counts.values()) >= 200
    assert len({r["text"] for r in rows}) == len(rows)


def test_challenge_sets_are_named_sized_and_not_in_training_data() -> None:
    challenge = load_tickets(DEFAULT_CHALLENGE, source="challenge")
    sets = {e.id.rsplit("-", 1)[0] for e in challenge}
    assert sets == {"sarcasm", "polite_complaints", "neutral_questions"}
    for name in sets:
        assert sum(e.id.startswith(name) for e in challenge) >= 20
    training = {e.text for e in load_all(default_data_dir(), DEFAULT_TICKETS, DEFAULT_GENERATED)}
    assert not training & {e.text for e in challenge}


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    import re

    found = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(found[i : i + n]) for i in range(len(found) - n + 1)}


def test_generated_sarcasm_is_not_written_from_the_challenge_set() -> None:
    """The challenge sets are test data: no generated message shares a run of 5 words with any of them."""
    challenge = set().union(*(_shingles(e.text) for e in load_tickets(DEFAULT_CHALLENGE, source="challenge")))
    rows = _generator().rows()
    assert not [r["text"] for r in rows if _shingles(r["text"]) & challenge]
    styles = {r["style"] for r in rows if r["label"] == "negative"}
    assert {"sarcastic", "sarcastic_composed", "sarcastic_thanks"} <= styles


def test_generated_openers_start_sincere_thanks_too() -> None:
    """Cheerful openers appear under both labels, so the words alone cannot decide sarcasm."""
    gen = _generator()
    rows = gen.rows()
    for label in ("negative", "positive"):
        assert any(r["text"].find(o) >= 0 for r in rows if r["label"] == label for o in gen.IRONIC_OPENERS)


def test_long_mail_set_is_what_its_generator_makes_and_never_trained_on() -> None:
    from nlp.paths import DEFAULT_LONGMAIL

    spec = importlib.util.spec_from_file_location("longmail", GENERATOR.parent / "longmail.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.rows()
    shipped = load_tickets(DEFAULT_LONGMAIL, source="longmail")
    assert [r["text"] for r in rows] == [e.text for e in shipped]
    for part in ("dev", "test"):
        for kind in module.KINDS:
            assert sum(r["split"] == part and r["kind"] == kind for r in rows) == module.PER_KIND
    training = {e.text for e in load_all(default_data_dir(), DEFAULT_TICKETS, DEFAULT_GENERATED)}
    assert not training & {e.text for e in shipped}
    assert min(len(e.text) for e in shipped) > 250  # long mail, not sentences


def test_generated_support_rows_are_deterministic_per_seed_and_keep_the_earlier_rows() -> None:
    gen = _generator()
    first = gen.all_rows(7, support_per_label=30)
    assert first == gen.all_rows(7, support_per_label=30)
    assert first[: len(gen.rows(7))] == gen.rows(7)  # the rows made before the new styles are unchanged
    assert len(first) == len(gen.rows(7)) + 3 * 30
    assert gen.all_rows(7, support_per_label=0) == gen.rows(7)
    assert [r["text"] for r in gen.support_rows(8, 30)] != [r["text"] for r in gen.support_rows(9, 30)]
    shipped = load_tickets(DEFAULT_GENERATED, source="support_generated")
    assert [e.text for e in shipped] == [r["text"] for r in gen.all_rows()]


def test_generated_support_rows_cover_outages_requests_and_courtesy() -> None:
    gen = _generator()
    rows = gen.support_rows(gen.SEED + 1, 120)
    styles = Counter((r["label"], r["style"]) for r in rows)
    assert {
        ("negative", "outage"),
        ("negative", "courteous_outage"),
        ("neutral", "plan"),
        ("neutral", "courteous_request"),
        ("positive", "fixed_thanks"),
    } <= set(styles)
    assert Counter(r["label"] for r in rows) == dict.fromkeys(("negative", "neutral", "positive"), 120)
    outages = [r["text"].lower() for r in rows if r["label"] == "negative"]
    assert all(
        re.search(r"can't|cannot|unable|not|none|won't|no longer|fails|refuses|erroring|down|no way", t)
        for t in outages
    )
    courteous = [r["text"] for r in rows if r["style"].startswith("courteous")]
    closers_openers = gen.COURTESY_OPENERS + gen.COURTESY_CLOSERS
    assert all(any(c.lower() in t.lower() for c in closers_openers) for t in courteous)
