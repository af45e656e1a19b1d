"""Courtesy around a message (issue 14): the openers-only cut in cleaning, and what it must keep.

Wrapped in "Hi! Hope you're well. ... Thanks so much!", requests and outages read positive. Cutting courtesy
sentences at the start AND end of a message was measured and not shipped (docs/sentiment-model.md, "Courtesy
cut in preprocessing"): cutting closing thanks turned happy messages ("It works now, thank you so much!")
negative. What ships is the openers-only cut (`nlp.preprocess.strip_courtesy`): greetings and well-wishes
at the start go, closing and inner thanks stay, and a message of courtesy alone is left whole.

The texts here are written for this test (not taken from data/tickets/adversarial.jsonl)."""

from __future__ import annotations

import time

import pytest

from nlp.preprocess import MAX_CHARS, clean_message, strip_courtesy

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


EDGES = [
    # a greeting on the complaint's own line: the old salutation rule (any 40 characters after "Hi") dropped
    # the whole message, so the model judged nothing
    ("Hi team, the export is broken", "the export is broken"),
    ("Hi, it works now, thank you so much!", "it works now, thank you so much!"),
    ("hi is there a phone number i can call", "hi is there a phone number i can call"),
    ("Good morning from Disney World :)", "Good morning from Disney World :)"),
    # salutation lines still go, however long the addressee
    (
        "Dear Patient Advice and Liaison Service,\nMy referral letter never arrived.",
        "My referral letter never arrived.",
    ),
    ("Hi all :)\nThe export is broken.", "The export is broken."),
    ("Hey, where is the export button gone?", "where is the export button gone?"),
    # HTML mail: the cut runs on the cleaned text, after tags, the salutation line and the quote are gone
    (
        "<html><body><p>Hi Anna,</p><p>Hope you are well!</p><p>The export fails every night.</p>"
        "<blockquote>On Monday you wrote: all fixed</blockquote></body></html>",
        "The export fails every night.",
    ),
    (
        "<div>Hello there!</div><div>Hope this email finds you well.</div>"
        "<div>Our invoices show the wrong VAT number.</div>",
        "Our invoices show the wrong VAT number.",
    ),
]


@pytest.mark.parametrize(("text", "expected"), EDGES, ids=[f"edge-{i}" for i in range(len(EDGES))])
def test_greeting_edges_keep_the_message(text: str, expected: str) -> None:
    assert clean_message(text) == expected


@pytest.mark.parametrize("text", ["Hello, thanks", "Hi, thank you!", "Hello"])
def test_a_message_that_is_only_its_salutation_line_is_kept(text: str) -> None:
    # was cleaned to "" and judged as no text at all
    assert clean_message(text) == text


def test_a_salutation_line_before_the_message_still_goes() -> None:
    assert clean_message("Hello, thanks\n\nThe export fails again.") == "The export fails again."


UNTOUCHED = [
    # courtesy alone, or too little left after it: the message is its courtesy (min-words rule)
    "Hi!",
    "Hello, thanks",
    "Hi! Hope you are well. Thank you!",
    "Hello! Hope all is well. Thanks!",
    # not English: the phrase list is English e-mail courtesy and must not guess at other languages
    "Hola, espero que estés bien. El export no funciona desde el lunes.",
    "Bonjour, j'espère que vous allez bien. L'export ne marche plus depuis lundi.",
    "Hallo, ich hoffe, es geht Ihnen gut. Der Export ist seit Montag kaputt.",
    # a greeting word that starts a sentence about something else
    "Morning reports have been empty since the update.",
]


@pytest.mark.parametrize("text", UNTOUCHED, ids=[f"untouched-{i}" for i in range(len(UNTOUCHED))])
def test_short_or_foreign_messages_are_left_alone(text: str) -> None:
    assert strip_courtesy(text) == text


OPENER_LIKE = {
    "a greeting and endless names": "Hi " + "Anna " * 25_000,
    "endless bangs": "Hello" + "!" * 100_000,
    "endless emoticons": "Hey" + " :-)" * 25_000,
    "greeting then spaces and tabs": "Hi" + " \t" * 50_000 + "x",
    "endless greetings": "Hi! Hello! Hey! " * 7_000,
    "a well-wish that never ends": "I hope you're doing well " + "so " * 34_000,
    "blank lines first": "\n \n" * 34_000 + "Hi!",
}


@pytest.mark.parametrize("text", OPENER_LIKE.values(), ids=OPENER_LIKE.keys())
def test_100_kb_of_opener_like_text_is_cut_fast(text: str) -> None:
    # strip_courtesy called directly: no MAX_CHARS in front of it, only its own window
    assert len(text) >= 100_000
    started = time.process_time()
    strip_courtesy(text)
    assert time.process_time() - started < 0.1
