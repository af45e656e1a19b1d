"""The book keeps the CRM field history of active users (monthly, as a product usage export writes it)."""

from __future__ import annotations

import statistics
from datetime import timedelta

from integrations.sandbox.seed import advance, generate_book
from integrations.sandbox.seed_model import USAGE_HOUR, month_starts


def _live(book):  # customers the generator simulated (Zendesk duplicates carry no seats)
    return [c for c in book.customers.values() if c.licensed_seats]


def test_history_is_monthly_and_ends_in_todays_value() -> None:
    book = generate_book(seed=5, accounts=120)
    for c in _live(book):
        assert c.usage_path, c.key
        assert c.usage_path[-1][1] == c.active_users
        whens = [w for w, _ in c.usage_path]
        assert whens == sorted(whens)
        assert whens[-1] < book.now
        for when, value in c.usage_path[1:]:
            if value == 0:  # the churn itself
                continue
            assert (when.day, when.hour) == (1, USAGE_HOUR)
            assert 1 <= value <= c.licensed_seats
        gaps = {(b - a).days for (a, _), (b, v) in zip(c.usage_path[1:], c.usage_path[2:], strict=False) if v}
        assert gaps <= {28, 29, 30, 31}


def test_churned_accounts_end_at_zero_users_and_history_before_is_not_zero() -> None:
    book = generate_book(seed=5, accounts=300)
    churned = [c for c in _live(book) if c.outcome == "churned"]
    assert churned
    for c in churned:
        assert c.usage_path[-1][1] == 0
        assert c.active_users == 0
        assert all(v > 0 for _, v in c.usage_path[:-1])


def test_usage_follows_health_on_the_date_it_was_written() -> None:
    book = generate_book(seed=6, accounts=400)
    pairs = []
    for c in _live(book):
        health = dict(c.health_path)
        for when, value in c.usage_path:
            h = next((health[d] for d in sorted(health, reverse=True) if d <= when.date()), None)
            if value and h is not None:
                pairs.append((h, value / c.licensed_seats))
    hs, us = zip(*pairs, strict=True)
    assert statistics.correlation(hs, us) > 0.6


def test_a_tick_past_the_first_of_a_month_writes_that_month_once() -> None:
    book = generate_book(seed=7, accounts=60)
    before = {c.key: len(c.usage_path) for c in _live(book) if c.outcome != "churned"}
    months = month_starts(book.now.date() - timedelta(days=1), (book.now + timedelta(days=40)).date())
    changes = advance(book, 40)
    for key, n in before.items():
        c = book.customers[key]
        if c.outcome == "churned":
            continue
        assert len(c.usage_path) == n + len(months), key
        assert key in changes.customers
        assert c.usage_path[-1][1] == c.active_users
