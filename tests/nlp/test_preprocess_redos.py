"""Ticket text is written by anyone who can e-mail a support desk: cleaning it must stay linear in its
length (security audit 4). Each case took seconds of the scoring worker's CPU per message before."""

from __future__ import annotations

import time

import pytest

from nlp.preprocess import MAX_CHARS, clean_message, html_to_text

SLOW_BEFORE = {
    # _WRAPPED_ON's leading ^\s* spanned lines, so every blank line rescanned the rest (1.9 s before)
    "blank lines": "\n" * MAX_CHARS,
    # an unclosed "<a " makes HTMLParser rescan the rest of the body for each one (3.5 s before)
    "unclosed tags": "<a " * (MAX_CHARS // 3),
    # _VALEDICTION's \s*[,.!]?\s*$ tried every split of a run of em spaces (not collapsed like spaces):
    # 1.1 s before (security audit 9)
    "sign-off then unicode spaces": "It broke.\nregards" + "\u2003" * (MAX_CHARS - 30) + "x",
}


@pytest.mark.parametrize("text", SLOW_BEFORE.values(), ids=SLOW_BEFORE.keys())
def test_cleaning_a_hostile_message_is_fast(text: str) -> None:
    started = time.process_time()
    clean_message(text)
    assert time.process_time() - started < 0.5


def test_markup_and_wrapped_quote_headers_still_clean_as_before() -> None:
    assert html_to_text("<p>Hello <b>there</b></p><blockquote>old</blockquote><p>a < b and c > d</p>") == (
        "\nHello there\n\na < b and c > d\n"
    )
    text = "Hello,\n\nThe app is broken.\n\n  On Tue, 3 Mar 2026 at 10:01, Jo <jo@x.io>\nwrote:\n> old"
    assert clean_message(text) == "The app is broken."


def test_an_unclosed_tag_is_text() -> None:
    # a "<" with another "<" before any ">" starts no tag: it is shown (before, it swallowed "<a 2 <b>")
    assert html_to_text("<p>1 <a 2 <b>bold</b></p>") == "\n1 <a 2 bold\n"


def test_a_thread_of_thousands_of_customer_replies_rolls_up() -> None:
    # Before: each message weighed GROWTH ** i, which raised OverflowError at the 1,025th judged message, so
    # one long thread (anyone can reply to a support e-mail) failed the tenant's whole sentiment pass.
    from nlp.sentiment import Sentiment
    from nlp.ticket import roll_up

    angry = Sentiment(label="negative", score=-0.9, confidence=0.9, excerpt="broken again")
    happy = Sentiment(label="positive", score=0.8, confidence=0.95, excerpt="thanks")
    thread = [angry, happy] * 1000
    rolled = roll_up(thread)
    # messages older than a few dozen replies weigh nothing measurable: the same as the recent part alone
    assert rolled == roll_up(thread[-100:])
    assert -1.0 <= rolled.score <= 1.0
