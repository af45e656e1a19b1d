"""Courtesy around a message (issue 14): a documented negative result, and the contract the next try keeps.

Wrapped in "Hi! Hope you're well. ... Thanks so much!", requests and outages read positive. Cutting courtesy
sentences at the start and end of a message in cleaning was measured and NOT shipped (docs/sentiment-model.md,
"Courtesy cut in preprocessing"): it fixed the adversarial set but cutting closing thanks turned happy
messages ("It works now, thank you so much!") negative. The cut that is wanted next (openers only) is
marked xfail(strict): when a courtesy cut ships, these turn into passes and the marker must go.

The texts here are written for this test (not taken from data/tickets/adversarial.jsonl)."""

from __future__ import annotations

import time

import pytest

from nlp.preprocess import MAX_CHARS, clean_message

WRAPPED = [
    (
        "Hello, hope you are doing well! We need to move our billing date to the 15th. Many thanks!",
        "We need to move our billing date to the 15th. Many thanks!",
    ),
    (
        "Hi Sam, hope this email finds you well.\nThe CSV export has been failing since Monday.",
        "The CSV export has been failing since Monday.",
    ),
    ("Good morning :) could you add two seats to our account", "could you add two seats to our account"),
    ("Happy Monday! The invoice shows the wrong VAT number.", "The invoice shows the wrong VAT number."),
]


@pytest.mark.xfail(strict=True, reason="courtesy cut measured, not shipped (docs/sentiment-model.md)")
@pytest.mark.parametrize(("text", "expected"), WRAPPED, ids=[f"wrapped-{i}" for i in range(len(WRAPPED))])
def test_a_courtesy_opening_is_cut_from_the_request(text: str, expected: str) -> None:
    assert clean_message(text) == expected


KEPT = [
    # thanks-only messages are the whole message: genuine positive
    "Thanks so much!",
    "Thank you!",
    "Many thanks, have a lovely weekend.",
    # thanks that names a fix; cutting the closing thanks here is what lost on unseen writers
    "Thank you, that fixed it!",
    "Works now, thanks!",
    "It works now, thank you so much!",
    # thanks in the middle
    "We moved to the new plan, thanks for the tip, and the export still fails every night.",
    "Thanks to your update the dashboard loads twice as fast now.",
    "I want to say thank you to Priya for sorting out our invoices last week.",
    # a greeting that is the whole message, or a hope that asks for something, is content
    "Hi! Hope you are well.",
    "Hello? Is anyone there?",
    "Hope you can fix the login loop before Friday.",
    # a closing word inside a sentence is not a sign-off
    "The old dashboard was the best.",
]


@pytest.mark.parametrize("text", KEPT, ids=[f"kept-{i}" for i in range(len(KEPT))])
def test_thanks_alone_or_inside_the_message_is_kept(text: str) -> None:
    assert clean_message(text) == text


HOSTILE = {
    "closers with stops": "Thanks so much! " * 7_000,
    "closers without stops": "thank you " * 10_000,
    "openers": "Hi! Hope you are well. " * 5_000,
    "openers and closers": "Hello there, hope all is well! Many thanks, have a great day. " * 1_700,
    "emoticons": "Hi :) :) :) " * 9_000,
    "no break": "Thanks" + " so much" * 13_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_100_kb_of_courtesy_cleans_fast(text: str) -> None:
    assert len(text) >= 100_000 > MAX_CHARS
    started = time.process_time()
    clean_message(text)
    assert time.process_time() - started < 0.1
