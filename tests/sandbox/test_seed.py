"""The seeded book: determinism, the identity mess a matcher must cope with, and a noisy health → outcome link."""

from __future__ import annotations

import copy
import pickle
import random
from collections import Counter
from datetime import date, timedelta

import pytest

from integrations.sandbox import ids
from integrations.sandbox.book import Book, Customer
from integrations.sandbox.seed import (
    DEFAULT_NOW,
    advance,
    churn_probability,
    generate_book,
    health_at,
    renewal_health,
)
from integrations.sandbox.seed_identity import FREE_MAIL, SHARED_DOMAINS, normalise_name


@pytest.fixture(scope="module")
def book() -> Book:
    return generate_book(seed=11, accounts=1000)


def auc(scores_pos: list[float], scores_neg: list[float]) -> float:
    """P(a random positive scores higher than a random negative); ties count half (Mann-Whitney)."""
    ranked = sorted([(s, 1) for s in scores_pos] + [(s, 0) for s in scores_neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg = (i + j + 1) / 2
        rank_sum += avg * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    n_pos, n_neg = len(scores_pos), len(scores_neg)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def real_customers(book: Book) -> list[Customer]:
    return [c for c in book.customers.values() if not c.zendesk.duplicate_of]


def decided(book: Book) -> list[Customer]:
    return [c for c in real_customers(book) if c.outcome is not None]


# --- determinism -------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_book() -> None:
    assert pickle.dumps(generate_book(seed=5, accounts=40)) == pickle.dumps(
        generate_book(seed=5, accounts=40)
    )


def test_different_seeds_give_different_books() -> None:
    a, b = generate_book(seed=5, accounts=40), generate_book(seed=6, accounts=40)
    assert [c.name for c in a.customers.values()] != [c.name for c in b.customers.values()]


def test_default_clock_is_fixed_and_nothing_is_in_the_future(book: Book) -> None:
    assert book.now == DEFAULT_NOW
    stamps = [t.updated_at for t in book.tickets.values()] + [t.created_at for t in book.tickets.values()]
    stamps += [c.created_at for t in book.tickets.values() for c in t.comments]
    stamps += [s.responded_at for s in book.surveys.values()] + [d.updated_at for d in book.deals.values()]
    assert max(stamps) <= book.now


# --- shape and volume --------------------------------------------------------------------------------------


def test_segments_contacts_and_ticket_volume(book: Book) -> None:
    segments = Counter(c.segment for c in real_customers(book))
    assert set(segments) == {"smb", "mid_market", "enterprise"}
    assert segments["smb"] > segments["mid_market"] > segments["enterprise"] > 0
    assert 15 <= len(book.tickets) / len(real_customers(book)) <= 25  # ≈ 200,000 tickets at 10,000 accounts
    assert all(book.contacts[k].email.count("@") == 1 for k in list(book.contacts)[:200])


def test_threads_read_like_support_mail(book: Book) -> None:
    bodies = [c.body for t in book.tickets.values() for c in t.comments]
    assert sum(len(t.comments) for t in book.tickets.values()) / len(book.tickets) >= 2.5
    for marker in (" wrote:", "\n> ", "Sent from my iPhone", "Hi ", "Internal"):
        assert any(marker in b for b in bodies), marker
    assert len(set(bodies)) > 0.95 * len(bodies)  # wording varies a lot
    customer_texts = {
        c.body.split("\n\n")[1] for t in book.tickets.values() for c in t.comments[:1] if "\n\n" in c.body
    }
    assert len(customer_texts) > 0.5 * len(book.tickets)
    comment = next(iter(book.tickets.values())).comments[0]
    assert comment.html_body.startswith("<div>")
    assert "<p>" in comment.html_body
    tones = Counter(t.tone for t in book.tickets.values())
    assert set(tones) == {"angry", "negative", "neutral", "positive", "mixed"}


def test_tickets_carry_metrics(book: Book) -> None:
    solved = [t for t in book.tickets.values() if t.solved_at is not None]
    assert solved
    assert all(t.full_resolution_minutes and t.full_resolution_minutes > 0 for t in solved)
    assert any(t.escalated for t in solved)
    assert any(t.reopens for t in solved)
    assert {t.priority for t in solved} == {"low", "normal", "high", "urgent"}
    assert {t.status for t in book.tickets.values()} >= {"open", "solved", "closed"}


# --- CRM consistency with ground truth ----------------------------------------------------------------------


def test_renewal_deals_agree_with_outcomes(book: Book) -> None:
    deals_by_customer: dict[str, list] = {}
    for d in book.deals.values():
        deals_by_customer.setdefault(d.customer_key, []).append(d)
    for c in decided(book):
        closed = [
            d for d in deals_by_customer[c.key] if d.kind == "renewal" and d.close_date == c.outcome_date
        ]
        assert len(closed) == 1
        if c.outcome == "churned":
            assert closed[0].stage == "closed_lost"
            assert c.active_users == 0
            assert c.renewal_date == c.outcome_date
        else:
            assert closed[0].stage == "closed_won"
            assert c.renewal_date == c.outcome_date + timedelta(days=365) > book.now.date()


def test_open_renewal_deals_exist_for_upcoming_renewals(book: Book) -> None:
    soon = [
        c
        for c in real_customers(book)
        if c.outcome != "churned" and (c.renewal_date - book.now.date()).days <= 90
    ]
    open_renewals = {
        d.customer_key
        for d in book.deals.values()
        if d.kind == "renewal" and not d.stage.startswith("closed")
    }
    assert soon
    assert all(c.key in open_renewals for c in soon)


# --- identity mess ------------------------------------------------------------------------------------------


def _usable(domain: str) -> str | None:
    d = domain.lower().removeprefix("www.")
    if d in FREE_MAIL or any(d.endswith("." + s) for s in SHARED_DOMAINS):
        return None
    return d


def match_zendesk_orgs(book: Book) -> dict[str, tuple[str | None, str]]:
    """A reference matcher (explicit id → domain → unique normalised name → review), Salesforce tenant."""
    crm = [c for c in real_customers(book) if c.salesforce.present]
    by_domain: dict[str, set[str]] = {}
    by_name: dict[str, set[str]] = {}
    for c in crm:
        for d in c.salesforce.domains:
            if _usable(d):
                by_domain.setdefault(_usable(d) or "", set()).add(c.key)
        by_name.setdefault(normalise_name(c.salesforce.name), set()).add(c.key)
    sf_cross = {c.key for c in crm if c.salesforce.cross_ref}
    out: dict[str, tuple[str | None, str]] = {}
    for org in book.customers.values():
        z = org.zendesk
        if not z.present or z.deleted_at:
            continue
        if z.cross_ref:  # the org's external_id names a Salesforce Account Id
            out[org.key] = (z.duplicate_of or org.key, "id")
            continue
        if org.key in sf_cross:  # the Account names this org id
            out[org.key] = (org.key, "id")
            continue
        hits = {k for d in z.domains if _usable(d) for k in by_domain.get(_usable(d) or "", set())}
        if len(hits) == 1:
            out[org.key] = (hits.pop(), "domain")
            continue
        names = by_name.get(normalise_name(z.name), set())
        out[org.key] = (next(iter(names)), "name") if len(names) == 1 else (None, "review")
    return out


def test_a_sensible_matcher_links_almost_every_ticket_but_not_trivially(book: Book) -> None:
    links = match_zendesk_orgs(book)
    tickets = [t for t in book.tickets.values() if t.channel == "zendesk"]
    ok = wrong = unmatched = 0
    via: Counter[str] = Counter()
    for t in tickets:
        truth = book.customers[t.customer_key].zendesk.duplicate_of or t.customer_key
        linked, how = links[t.customer_key]
        via[how] += 1
        if linked is None:
            unmatched += 1
        elif linked == truth:
            ok += 1
        else:
            wrong += 1
    n = len(tickets)
    assert (ok + wrong) / n >= 0.98
    assert wrong / n <= 0.005
    assert 0.002 <= unmatched / n <= 0.02  # some genuinely need a human
    assert 0.3 <= via["id"] / n <= 0.6  # explicit ids cover well under all of them
    assert via["name"] / n >= 0.01  # a few % only match by name


def test_the_mess_has_every_kind_of_trap(book: Book) -> None:
    orgs = [c for c in book.customers.values() if c.zendesk.present]
    all_domains = [d for c in orgs for d in c.zendesk.domains]
    assert any(d in FREE_MAIL for d in all_domains)
    assert any(d.endswith(SHARED_DOMAINS) for d in all_domains)
    assert any(not c.zendesk.domains for c in orgs)
    renamed = [c for c in orgs if normalise_name(c.zendesk.name) != normalise_name(c.name)]
    restyled = [c for c in orgs if c.zendesk.name != c.name and c not in renamed]
    assert renamed
    assert restyled
    shared = Counter(c.domain for c in real_customers(book))
    assert any(n == 2 for n in shared.values())  # one domain used by two customers
    dups = [c for c in book.customers.values() if c.zendesk.duplicate_of]
    assert dups
    assert all(c.key == f"{c.zendesk.duplicate_of}-dup" for c in dups)
    assert all(not c.salesforce.present and not c.hubspot.present for c in dups)
    assert any(t.customer_key.endswith("-dup") for t in book.tickets.values())
    assert ids.number(dups[0].key) != ids.number(dups[0].zendesk.duplicate_of or "")


# --- latent health and outcomes -----------------------------------------------------------------------------


def test_latent_health_predicts_churn_but_noisily(book: Book) -> None:
    out = decided(book)
    churned = [c for c in out if c.outcome == "churned"]
    renewed = [c for c in out if c.outcome == "renewed"]
    assert 0.08 <= len(churned) / len(out) <= 0.25
    # higher risk = lower health, so score with -health
    a = auc(
        [-renewal_health(c, c.outcome_date) for c in churned],
        [-renewal_health(c, c.outcome_date) for c in renewed],
    )  # type: ignore[arg-type]
    assert 0.75 <= a <= 0.95
    # healthy-looking churners and unhealthy renewers both exist
    assert any(renewal_health(c, c.outcome_date) > 0.7 for c in churned)  # type: ignore[arg-type]
    assert any(renewal_health(c, c.outcome_date) < 0.35 for c in renewed)  # type: ignore[arg-type]


def _window_signal(book: Book, c: Customer, days: int) -> tuple[int, float | None]:
    end = c.outcome_date or book.now.date()
    start = end - timedelta(days=days)
    n = sum(
        1 for t in book.tickets.values() if (t.customer_key == c.key) and start <= t.created_at.date() < end
    )
    nps = [
        s.score
        for s in book.surveys.values()
        if s.customer_key == c.key and s.kind == "nps" and start <= s.responded_at.date() < end
    ]
    return n, (sum(nps) / len(nps) if nps else None)


def test_single_signals_carry_only_part_of_the_truth(book: Book) -> None:
    out = decided(book)[:500]
    health = auc(
        [-renewal_health(c, c.outcome_date) for c in out if c.outcome == "churned"],  # type: ignore[arg-type]
        [-renewal_health(c, c.outcome_date) for c in out if c.outcome == "renewed"],  # type: ignore[arg-type]
    )
    sig = {c.key: _window_signal(book, c, 180) for c in out}
    nps_churn = [-s[1] for c in out if c.outcome == "churned" and (s := sig[c.key])[1] is not None]
    nps_renew = [-s[1] for c in out if c.outcome == "renewed" and (s := sig[c.key])[1] is not None]
    nps_auc = auc(nps_churn, nps_renew)
    assert 0.55 < nps_auc < health
    volume_auc = auc(
        [float(sig[c.key][0]) for c in out if c.outcome == "churned"],
        [float(sig[c.key][0]) for c in out if c.outcome == "renewed"],
    )
    assert volume_auc < health


def test_churn_probability_falls_with_health() -> None:
    assert (
        churn_probability(0.2, "smb") > churn_probability(0.5, "smb") > churn_probability(0.9, "smb") >= 0.02
    )
    assert churn_probability(0.5, "smb") > churn_probability(0.5, "enterprise")


def test_health_path_is_weekly_history(book: Book) -> None:
    c = real_customers(book)[0]
    assert len(c.health_path) >= 40
    assert all(0 <= h <= 1 for _, h in c.health_path)
    assert health_at(c, c.health_path[3][0]) == c.health_path[3][1]


# --- advance ------------------------------------------------------------------------------------------------


@pytest.fixture
def small() -> Book:
    return generate_book(seed=3, accounts=150)


def test_advance_moves_the_clock_and_generates_activity(small: Book) -> None:
    before = len(small.tickets)
    changes = advance(small, 30)
    assert small.now == DEFAULT_NOW + timedelta(days=30)
    assert len(small.tickets) > before
    assert changes.tickets
    assert changes.surveys
    assert changes.deals
    assert changes.contacts
    assert all(small.tickets[k].updated_at <= small.now for k in changes.tickets)
    assert all(c.created_at <= small.now for t in small.tickets.values() for c in t.comments)


def test_advance_resolves_renewals_that_fall_due(small: Book) -> None:
    today = small.now.date()
    due = [
        c
        for c in real_customers(small)
        if c.outcome != "churned" and today < c.renewal_date <= today + timedelta(days=60)
    ]
    dates = {c.key: c.renewal_date for c in due}
    changes = advance(small, 60)
    assert due
    for c in due:
        assert c.outcome in ("renewed", "churned")
        assert c.outcome_date == dates[c.key]
        assert c.key in changes.customers
        if c.outcome == "renewed":
            assert c.renewal_date == dates[c.key] + timedelta(days=365)


def test_advance_is_deterministic_for_the_same_book(small: Book) -> None:
    twin = copy.deepcopy(small)
    a, b = advance(small, 14), advance(twin, 14)
    assert a == b
    assert pickle.dumps(small) == pickle.dumps(twin)


def test_advance_deletes_and_renames_over_time(small: Book) -> None:
    changes = advance(small, 120, random.Random(1))
    deleted_contacts = [k for k in changes.deleted if k in small.contacts]
    assert deleted_contacts
    assert all(small.contacts[k].deleted_at for k in deleted_contacts)
    assert any(
        c.zendesk.name != c.name or c.salesforce.name != c.name or c.hubspot.name != c.name
        for k in changes.customers
        if (c := small.customers[k])
    )


def test_advance_zero_days_changes_nothing(small: Book) -> None:
    assert advance(small, 0).empty()
    assert small.now == DEFAULT_NOW
    with pytest.raises(ValueError, match="days"):
        advance(small, -1)


def test_health_path_keeps_growing(small: Book) -> None:
    c = next(c for c in real_customers(small) if c.outcome != "churned")
    n = len(c.health_path)
    advance(small, 28)
    assert len(c.health_path) == n + 4
    assert c.health_path[-1][0] <= small.now.date()
    assert c.health_path[-1][0] > date(2026, 11, 1)


def test_a_renewal_due_on_the_ticks_last_day_is_not_stamped_after_the_clock() -> None:
    """A tick ending at midnight resolved the renewals due that day at 08:00-18:00 of it: the customer,
    its renewal deal and its usage (0 after a churn) were stamped after book.now, and a churn let the
    tick write tickets up to 18:00 of that day. A sync reading up to now then missed them until later."""
    book = generate_book(seed=3, accounts=400)
    for days in range(1, 40):
        ahead = book.now.date() + timedelta(days=days)
        if sum(1 for c in real_customers(book) if c.renewal_date == ahead and c.outcome != "churned") >= 3:
            break
    due = [c for c in real_customers(book) if c.renewal_date == ahead and c.outcome != "churned"]
    deals_before = set(book.deals)
    advance(book, days)
    assert book.now.date() == ahead
    assert all(c.outcome in ("renewed", "churned") for c in due)
    stamps = [c.updated_at for c in book.customers.values() if c.updated_at]
    stamps += [
        p.updated_at for c in book.customers.values() for p in (c.salesforce, c.hubspot) if p.updated_at
    ]
    stamps += [when for c in book.customers.values() for when, _ in c.usage_path]
    stamps += [d.updated_at for d in book.deals.values()]
    stamps += [t.created_at for t in book.tickets.values()] + [t.updated_at for t in book.tickets.values()]
    late = [s for s in stamps if s > book.now]
    assert not late, f"{len(late)} stamps after {book.now}: {sorted(late)[:3]}"
    assert set(book.deals) >= deals_before
