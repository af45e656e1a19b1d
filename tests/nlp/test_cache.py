"""text_hash and the LRU cache, and that classify_many never scores the same text twice."""

from __future__ import annotations

import hashlib

from nlp.cache import CACHE_VERSION, LRUCache, text_hash
from nlp.model import SentimentModel
from nlp.preprocess import clean_message
from nlp.sentiment import Sentiment


def test_text_hash_is_stable_and_distinguishes_texts() -> None:
    assert text_hash("hello") == text_hash("hello")
    assert text_hash("hello") != text_hash("hello ")
    assert len(text_hash("")) == 64


def test_text_hash_accepts_lone_surrogates() -> None:
    assert text_hash("bad \udcff byte") != text_hash("bad  byte")


def test_lru_evicts_least_recently_used() -> None:
    cache: LRUCache[int] = LRUCache(maxsize=2)
    cache["a"], cache["b"] = 1, 2
    assert cache["a"] == 1  # touch a, so b is the oldest
    cache["c"] = 3
    assert set(cache) == {"a", "c"}
    assert len(cache) == 2


def test_classify_many_scores_each_distinct_text_once(fake_model: SentimentModel) -> None:
    encoder = fake_model.encoder
    first = fake_model.classify_many(["The sync failed.", "The sync failed.", "All good now."])
    rows_after_first = encoder.rows_seen  # type: ignore[attr-defined]
    assert rows_after_first == 2  # duplicates inside one call are scored once
    again = fake_model.classify_many(["All good now.", "The sync failed."])
    assert encoder.rows_seen == rows_after_first  # type: ignore[attr-defined]
    assert again == [first[2], first[0]]


def test_external_cache_mapping_is_used(fake_model: SentimentModel) -> None:
    planted = Sentiment(label="positive", score=0.5, confidence=0.9, excerpt="x")
    store: dict[str, Sentiment] = {text_hash("anything"): planted}
    fake_model.cache = store
    assert fake_model.classify_many(["anything", "something new"])[0] is planted
    assert text_hash("something new") in store
    assert fake_model.encoder.rows_seen == 1  # type: ignore[attr-defined]


# Cached results are keyed by the raw text and CACHE_VERSION, so a change in what cleaning hands the model
# must bump the version or stored results of the old cleaning are served for the new. These probes pin the
# cleaning of each version; a cleaning change fails here until CACHE_VERSION is bumped and a line added.
CLEANING_PROBES = (
    "Hi! Hope you're well. We would like to review our plan. Thanks so much!",
    "Hi team, the export is broken",
    "Good morning :) could you add two seats to our account",
    "Hi Anna,\n\nThe sync failed overnight.\n\nBest regards,\nJo",
    "It works now, thank you so much!",
    "<p>Hello there!</p><p>Hope this email finds you well.</p><p>Invoices are wrong.</p>",
    "Hello, thanks",  # added with version 4 (the earlier versions' lines hold for the probes before it)
)
CLEANING_BY_VERSION = {
    "2": "23548da8d785849b",
    "3": "c2fa93dbf09fe88a",  # openers-only courtesy cut; greeting lines that go on are kept (issue 14)
    "4": "198d8f82d70f95c6",  # a message that is only its salutation line is kept
}


def test_a_cleaning_change_comes_with_a_cache_version() -> None:
    cleaned = "\x00".join(clean_message(t) for t in CLEANING_PROBES)
    assert hashlib.sha256(cleaned.encode()).hexdigest()[:16] == CLEANING_BY_VERSION.get(CACHE_VERSION)
