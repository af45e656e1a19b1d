"""The sentiment step with an injected fake classifier: only changed threads are scored, the cache is
used across tickets and passes, agent replies are ignored, the latest customer message weighs most."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from connector.pipeline import sentiment as sentiment_step
from connector.pipeline.sentiment import score_tenant
from nlp.sentiment import NOTHING_TO_JUDGE, Sentiment
from nlp.ticket import roll_up as rollup
from tests.connector import builders as b
from tests.connector.builders import DAY, T0

NEG = Sentiment(label="negative", score=-0.9, confidence=0.9, excerpt="terrible")
POS = Sentiment(label="positive", score=0.8, confidence=0.8, excerpt="thanks")
MEH = Sentiment(label="neutral", score=0.0, confidence=0.6, excerpt="meh")


class FakeClassifier:
    """Keyword sentiment; records every text it is asked about (the calls the cache must save)."""

    version = "fake-1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        self.seen.extend(texts)
        return [self._one(t) for t in texts]

    @staticmethod
    def _one(text: str) -> Sentiment:
        low = text.lower()
        if not low.strip() or low.startswith("--"):
            return NOTHING_TO_JUDGE
        if "terrible" in low or "angry" in low:
            return Sentiment(label="negative", score=-0.9, confidence=0.9, excerpt=text[:40])
        if "thanks" in low:
            return Sentiment(label="positive", score=0.8, confidence=0.8, excerpt=text[:40])
        return Sentiment(label="neutral", score=0.0, confidence=0.6, excerpt=text[:40])


@pytest.mark.parametrize(
    ("messages", "label", "excerpt"),
    [
        ([NEG, POS], "neutral", "thanks"),  # 0.188: the later thanks outweighs the complaint
        ([POS, NEG], "negative", "terrible"),  # -0.377
        ([POS, POS, NEG], "neutral", "terrible"),  # -0.22: the excerpt is the latest message's
        ([NEG, NEG, MEH], "negative", "terrible"),  # -0.476: the most negative message is quoted
        ([MEH], "neutral", "meh"),
        ([NOTHING_TO_JUDGE, NEG], "negative", "terrible"),
        ([], "neutral", ""),
    ],
    ids=["recovered", "soured", "soured-late", "calmer-but-negative", "neutral", "skips-empty", "nothing"],
)
def test_rollup_weighs_the_latest_customer_message_most(
    messages: list[Sentiment], label: str, excerpt: str
) -> None:
    judged = [x for x in messages if x.confidence > 0]
    weights = [2.0**i * x.confidence for i, x in enumerate(judged)]
    expected = (
        sum(w * x.score for w, x in zip(weights, judged, strict=True)) / sum(weights) if judged else 0.0
    )
    got = rollup(messages)
    assert (got.label, got.excerpt) == (label, excerpt)
    assert got.score == pytest.approx(expected, abs=1e-4)


def test_rollup_values() -> None:
    recovered = rollup([NEG, POS])
    assert recovered.score == pytest.approx((0.9 * -0.9 + 1.6 * 0.8) / 2.5, abs=1e-4)
    assert recovered.label == "neutral"  # 0.188: the thanks outweighs the complaint, not enough for positive
    assert rollup([POS, NEG]).score == pytest.approx((0.8 * 0.8 - 1.8 * 0.9) / 2.6, abs=1e-4)
    assert rollup([]) == NOTHING_TO_JUDGE


def _thread(db_url: str) -> int:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.ticket(s, t, "T1", "900", subject="Outage")
        b.comment(s, t, "c1", "T1", "This outage is terrible", created=T0)
        b.comment(s, t, "c2", "T1", "We are on it, terrible sorry", role="agent", created=T0 + DAY)
        b.comment(s, t, "c3", "T1", "Fixed, thanks", created=T0 + 2 * DAY)
        b.comment(s, t, "c4", "T1", "I am angry (deleted)", created=T0 + 3 * DAY, deleted=True)
        b.ticket(s, t, "T2", "900", subject="Angry about billing")  # no comments: the subject is judged
        b.ticket(s, t, "T3", "900", subject="Question", description="Where is the invoice?")
    return t


def test_changed_threads_are_scored_once_and_agents_ignored(db_url: str) -> None:
    t = _thread(db_url)
    fake = FakeClassifier()
    with b.session(db_url) as s:
        report = score_tenant(s, t, fake, "fake-1")
    assert sorted(fake.seen) == [
        "Angry about billing",
        "Fixed, thanks",
        "This outage is terrible",
        "Where is the invoice?",
    ]
    assert (report.tickets_changed, report.messages, report.model_calls, report.cache_hits) == (3, 4, 4, 0)
    assert report.negative == 1
    with b.session(db_url) as s:
        t1, t2 = b.ticket_row(s, t, "T1"), b.ticket_row(s, t, "T2")
        assert t1.sentiment_label == "neutral"
        assert t1.sentiment_score == pytest.approx((0.9 * -0.9 + 1.6 * 0.8) / 2.5, abs=1e-4)
        assert (t2.sentiment_label, t2.sentiment_excerpt) == ("negative", "Angry about billing")
    # Nothing changed: nothing is looked up, nothing scored.
    with b.session(db_url) as s:
        again = score_tenant(s, t, fake, "fake-1")
    assert (again.tickets_changed, again.model_calls, again.cache_hits, len(fake.seen)) == (0, 0, 0, 4)
    # A new customer message: only it goes to the model; the earlier ones come from the cache.
    with b.session(db_url) as s:
        b.comment(s, t, "c5", "T1", "Broken again, terrible", created=T0 + 4 * DAY)
    with b.session(db_url) as s:
        third = score_tenant(s, t, fake, "fake-1")
        assert b.ticket_row(s, t, "T1").sentiment_label == "negative"  # the latest message weighs most
    assert (third.tickets_changed, third.messages, third.model_calls, third.cache_hits) == (1, 3, 1, 2)
    assert fake.seen[4:] == ["Broken again, terrible"]


def test_the_cache_is_per_model_version_and_per_tenant(db_url: str) -> None:
    t = _thread(db_url)
    with b.session(db_url) as s:
        other = b.tenant(s, "other")
        b.ticket(s, other, "T9", "900", subject="Angry about billing")
        score_tenant(s, t, FakeClassifier(), "fake-1")
    fake = FakeClassifier()
    with b.session(db_url) as s:
        report = score_tenant(s, other, fake, "fake-1")  # same text, another tenant: not shared
    assert (report.model_calls, report.cache_hits, fake.seen) == (1, 0, ["Angry about billing"])
    fake2 = FakeClassifier()
    with b.session(db_url) as s:
        upgraded = score_tenant(s, t, fake2, "fake-2")
    assert (upgraded.tickets_changed, upgraded.model_calls, upgraded.cache_hits) == (3, 4, 0)


def test_nothing_to_judge_stores_no_score(db_url: str) -> None:
    """A thread of only signatures/boilerplate is not a neutral ticket: no score, and not sent again."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.ticket(s, t, "T1", "900", subject="")
        b.comment(s, t, "c1", "T1", "-- sent from my phone")
    fake = FakeClassifier()
    with b.session(db_url) as s:
        score_tenant(s, t, fake, "fake-1")
        row = b.ticket_row(s, t, "T1")
        assert (row.sentiment_label, row.sentiment_score, row.sentiment_hash is not None) == (
            None,
            None,
            True,
        )
    with b.session(db_url) as s:
        assert score_tenant(s, t, fake, "fake-1").tickets_changed == 0


def test_run_uses_the_injected_model_and_commits(db_url: str, tmp_path: Path) -> None:
    t = _thread(db_url)
    report = sentiment_step.run(b.settings_for(db_url, tmp_path), t, model=FakeClassifier())
    assert (report["model_version"], report["tickets_changed"], report["model_calls"]) == ("fake-1", 3, 4)
    with b.session(db_url) as s:
        assert b.ticket_row(s, t, "T2").sentiment_hash is not None


def test_recent_then_older_judges_every_ticket_once_like_one_unwindowed_step(db_url: str) -> None:
    """A split pass judges the tickets the score reads (created within RECENT_DAYS of the tenant's now)
    before scoring and the older ones after the write-back: together exactly the unwindowed step."""
    from connector.clock import set_tenant_clock

    def book(slug: str) -> int:
        with b.session(db_url) as s:
            t = b.tenant(s, slug)
            set_tenant_clock(s, t, T0)
            edge = sentiment_step.RECENT_DAYS * DAY
            b.ticket(s, t, "NEW", "900", created=T0 - 3 * DAY, subject="Angry about billing")
            b.ticket(s, t, "EDGE", "900", created=T0 - edge + DAY, subject="Question")
            b.comment(s, t, "e1", "EDGE", "thanks a lot", created=T0 - 2 * DAY)
            b.ticket(s, t, "OLD", "900", created=T0 - edge, subject="Old one")
            b.comment(s, t, "o1", "OLD", "This outage is terrible", created=T0 - edge)
            b.ticket(s, t, "OLDEST", "900", created=T0 - 400 * DAY, subject="Where is it?")
        return t

    split, whole = book("split"), book("whole")
    recent, older = FakeClassifier(), FakeClassifier()
    with b.session(db_url) as s:
        score_tenant(s, split, recent, "fake-1", window="recent")
    assert sorted(recent.seen) == ["Angry about billing", "thanks a lot"]
    with b.session(db_url) as s:
        score_tenant(s, split, older, "fake-1", window="older")
        assert score_tenant(s, split, FakeClassifier(), "fake-1").tickets_changed == 0  # all judged
    assert sorted(older.seen) == ["This outage is terrible", "Where is it?"]
    with b.session(db_url) as s:
        score_tenant(s, whole, FakeClassifier(), "fake-1")
    with b.session(db_url) as s:
        for ext in ("NEW", "EDGE", "OLD", "OLDEST"):
            a, c = b.ticket_row(s, split, ext), b.ticket_row(s, whole, ext)
            assert (a.sentiment_label, a.sentiment_score, a.sentiment_hash) == (
                c.sentiment_label,
                c.sentiment_score,
                c.sentiment_hash,
            )


def test_a_pass_reads_only_tickets_whose_text_changed(db_url: str) -> None:
    """Issue 17: the step selects tickets by a stale hash in SQL, so an incremental pass reads what the
    sync changed, not the tenant's whole history; the store clears the hash of a ticket whose customer
    thread, description or subject changed, and keeps it on a re-read of the same text."""
    t = _thread(db_url)
    with b.session(db_url) as s:
        b.ticket(s, t, "T4", "900", subject="Fine", description="All good, thanks")
        first = score_tenant(s, t, FakeClassifier(), "fake-1")
    assert (first.tickets_read, first.tickets_changed) == (4, 4)
    # The sync re-reads its overlap window: the same comments and tickets again. Nothing is read.
    with b.session(db_url) as s:
        b.comment(s, t, "c1", "T1", "This outage is terrible", created=T0)
        b.ticket(s, t, "T3", "900", subject="Question", description="Where is the invoice?")
    with b.session(db_url) as s:
        again = score_tenant(s, t, FakeClassifier(), "fake-1")
    assert (again.tickets_read, again.tickets_changed) == (0, 0)
    # A deleted comment (T1), a new description (T3), a new comment on a ticket that had none (T2):
    # exactly those tickets are read, and only the new texts reach the model.
    with b.session(db_url) as s:
        b.comment(s, t, "c3", "T1", "Fixed, thanks", created=T0 + 2 * DAY, deleted=True)
        b.ticket(s, t, "T3", "900", subject="Question", description="Where is the invoice? Terrible wait")
        b.comment(s, t, "c9", "T2", "Still angry", created=T0 + 5 * DAY)
    fake = FakeClassifier()
    with b.session(db_url) as s:
        report = score_tenant(s, t, fake, "fake-1")
        assert b.ticket_row(s, t, "T1").sentiment_label == "negative"  # the thanks was deleted
        assert b.ticket_row(s, t, "T3").sentiment_label == "negative"
        assert b.ticket_row(s, t, "T4").sentiment_label == "positive"
    assert (report.tickets_read, report.tickets_changed) == (3, 3)
    assert sorted(fake.seen) == ["Still angry", "Where is the invoice? Terrible wait"]
    # An edited comment body counts as a change too.
    with b.session(db_url) as s:
        b.comment(s, t, "c9", "T2", "Still angry, thanks", created=T0 + 5 * DAY)
    with b.session(db_url) as s:
        assert score_tenant(s, t, FakeClassifier(), "fake-1").tickets_read == 1
    # Another model version: every ticket is read again, once.
    with b.session(db_url) as s:
        upgraded = score_tenant(s, t, FakeClassifier(), "fake-2")
        assert (upgraded.tickets_read, upgraded.tickets_changed) == (4, 4)
        assert score_tenant(s, t, FakeClassifier(), "fake-2").tickets_read == 0
