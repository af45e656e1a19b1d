"""Table tests for the pure ticket-text cleaning and sentence splitting."""

from __future__ import annotations

import pytest

from nlp.preprocess import MAX_CHARS, clean_message, has_words, looks_english, split_sentences

CLEAN_CASES = [
    ("plain", "The export is broken.", "The export is broken."),
    (
        "on-wrote-quote",
        "Still failing, sorry.\n\nOn Tue, 3 Mar 2026 at 10:01, Support <s@x.io> wrote:\n> Have you tried again?",
        "Still failing, sorry.",
    ),
    (
        "on-wrote-wrapped",
        "Still failing.\n\nOn Tue, 3 Mar 2026 at 10:01, Support Team\n<support@example.com> wrote:\n> We fixed it!",
        "Still failing.",
    ),
    ("gt-lines-inline", "I disagree.\n> You said it works\nIt does not.", "I disagree.\nIt does not."),
    (
        "outlook-original",
        "See below, still wrong.\n-----Original Message-----\nFrom: Agent\nSent: Monday\nWe are happy to help!",
        "See below, still wrong.",
    ),
    (
        "outlook-from-header",
        "Thanks, fixed.\n\nFrom: Support <s@x.io>\nSent: Monday\nSubject: Re: bug",
        "Thanks, fixed.",
    ),
    (
        "sig-dashes",
        "Love the new dashboard.\n-- \nJo Bloggs\nACME Corp | +44 20 7946 0000",
        "Love the new dashboard.",
    ),
    ("sent-from-iphone", "App crashes on start.\n\nSent from my iPhone", "App crashes on start."),
    (
        "best-regards-name",
        "Invoice is wrong again.\n\nBest regards,\nMarta Kowalski\nHead of Finance",
        "Invoice is wrong again.",
    ),
    (
        "title-pipe-company",
        "The dashboard only shows error E-1042.\n\nKind regards,\nQuinn\nIT Administrator | Tyrellstar Labs Corp",
        "The dashboard only shows error E-1042.",
    ),
    (
        "title-comma-company-phone",
        "Please cancel seat 12.\n\nBest,\nAmara Obi\nHead of Customer Operations, Northwind Traders Ltd\n+44 20 7946 0123",
        "Please cancel seat 12.",
    ),
    (
        "long-last-line-after-thanks-kept",
        "Thanks,\nthe export is still broken for every user we have",
        "Thanks,\nthe export is still broken for every user we have",
    ),
    ("thanks-comma-name", "Can you resend the invoice?\n\nThanks,\nOliver", "Can you resend the invoice?"),
    ("bare-thanks-is-content", "Thanks!", "Thanks!"),
    ("thanks-sentence-kept", "Thanks for the quick fix, works now.", "Thanks for the quick fix, works now."),
    ("greeting-hi-name", "Hi Anna,\n\nThe sync failed overnight.", "The sync failed overnight."),
    ("greeting-dear-team", "Dear support team,\nPlease cancel our plan.", "Please cancel our plan."),
    ("greeting-good-morning", "Good morning!\nReports are empty today.", "Reports are empty today."),
    (
        "greeting-in-sentence-kept",
        "Hello? Is anyone reading these tickets?",
        "Hello? Is anyone reading these tickets?",
    ),
    (
        "html-mail",
        "<html><body><p>Hi,</p><p>This is <b>awful</b> &amp; slow.</p><blockquote>We love it</blockquote></body></html>",
        "This is awful & slow.",
    ),
    ("html-br", "Line one<br>Line two", "Line one\nLine two"),
    ("html-entities-plain", "Fish &amp; chips", "Fish & chips"),
    ("control-chars", "bad\x00\x01 input\r\nhere", "bad input\nhere"),
    ("blank-runs-collapsed", "one\n\n\n\ntwo", "one\n\ntwo"),
    ("empty", "", ""),
    ("only-quote", "> old text\n> more", ""),
]


@pytest.mark.parametrize(
    ("raw", "want"), [(r, w) for _, r, w in CLEAN_CASES], ids=[c[0] for c in CLEAN_CASES]
)
def test_clean_message(raw: str, want: str) -> None:
    assert clean_message(raw) == want


def test_clean_message_bounds_huge_input() -> None:
    assert len(clean_message("word " * 40_000)) <= MAX_CHARS


SPLIT_CASES = [
    ("two-sentences", "It broke. Fix it!", ["It broke.", "Fix it!"]),
    ("question-and-newline", "Why?\nNobody answered", ["Why?", "Nobody answered"]),
    ("closing-quote", 'He said "no." Then left.', ['He said "no."', "Then left."]),
    ("no-punctuation", "just one line", ["just one line"]),
    ("empty", "", []),
    ("decimal-not-split", "Version 2.5 is slow.", ["Version 2.5 is slow."]),
]


@pytest.mark.parametrize(
    ("text", "want"), [(t, w) for _, t, w in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES]
)
def test_split_sentences(text: str, want: list[str]) -> None:
    assert split_sentences(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [("", False), ("!!! ??? 123", False), ("\x00\x01\x02", False), ("ok", True), ("日本", True)],
    ids=["empty", "punctuation-digits", "binary", "word", "cjk"],
)
def test_has_words(text: str, want: bool) -> None:
    assert has_words(text) is want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("The sync has been failing for three days and nobody answers.", True),
        ("Thanks!", True),
        ("Das ist eine Katastrophe, nichts funktioniert mehr seit gestern und keiner antwortet.", False),
        ("El sistema no funciona desde ayer y nadie responde a mis correos.", False),
        ("这个系统太糟糕了\uff0c一直崩溃", False),
    ],
    ids=["english", "short", "german", "spanish", "chinese"],
)
def test_looks_english(text: str, want: bool) -> None:
    assert looks_english(text) is want
