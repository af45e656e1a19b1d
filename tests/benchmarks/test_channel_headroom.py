"""The channel probe (benchmarks/channel_headroom.py): it must see headroom where a channel carries health,
or its verdict ('no observable channel adds measurable headroom') would mean nothing."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from benchmarks.channel_headroom import ORACLE, cases_of, evaluate, wmean
from integrations.sandbox.seed import generate_book


@pytest.fixture(scope="module")
def cases() -> tuple[list, list]:
    train = cases_of(generate_book(0, 150), [90, 180], tone_noise=0.65)
    test = cases_of(generate_book(1, 150), [90], tone_noise=0.65)
    return train, test


def test_wmean_is_nan_without_data() -> None:
    assert math.isnan(wmean([]))
    assert wmean([(1.0, 2.0), (3.0, 6.0)]) == 5.0


def test_a_channel_that_carries_health_shows_as_headroom(cases: tuple[list, list]) -> None:
    # The generated tone read without noise is information the noisy sentiment metrics lack: the fit with
    # it must track the health clearly better on a book it was not fitted on.
    train, test = cases
    (base,) = evaluate(train, test, [])
    (oracle,) = evaluate(train, test, [ORACLE])
    assert oracle["rho"] > base["rho"] + 0.02


def test_the_store_metrics_carry_the_health(cases: tuple[list, list]) -> None:
    train, test = cases
    (base,) = evaluate(train, test, [])
    assert base["rho"] > 0.6
    assert 0.8 < base["ratio"] < 1.1


def test_no_look_ahead_past_the_as_of_date() -> None:
    # A ticket and an NPS answer after the as-of date change no metric and no candidate.
    book = generate_book(0, 80)
    (before,) = cases_of(book, [90], tone_noise=0.65)
    as_of = book.now - timedelta(days=90)
    first = next(t for t in book.tickets.values() if t.created_at <= as_of)
    later = replace(
        first, key="T9999999", created_at=as_of + timedelta(days=1), priority="urgent", tone="angry"
    )
    book.tickets[later.key] = later
    survey = next(s for s in book.surveys.values() if s.kind == "nps")
    book.surveys["S9999999"] = replace(
        survey, key="S9999999", score=0, responded_at=as_of + timedelta(days=2)
    )
    (after,) = cases_of(book, [90], tone_noise=0.65)
    for x, y in zip([*before.store, *before.extra], [*after.store, *after.extra], strict=True):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k] == y[k] or (math.isnan(x[k]) and math.isnan(y[k])), k
