"""HubSpot sandbox vendor state: deterministic credentials, ground truth, written fields, rendering rules."""

from __future__ import annotations

from datetime import timedelta

from integrations.sandbox import hubspot as hs
from tests.integrations.hubspot.book_factory import NOW, make_book, make_context


def test_make_state_is_deterministic_per_seed() -> None:
    a, b, c = hs.make_state(3), hs.make_state(3), hs.make_state(4)
    assert (a.oauth.client_id, a.oauth.client_secret) == (b.oauth.client_id, b.oauth.client_secret)
    assert a.extra["initial"] == b.extra["initial"]
    assert a.oauth.client_id != c.oauth.client_id
    assert a.oauth.access_ttl == timedelta(minutes=30)
    token = a.extra["initial"]["access_token"]
    assert a.access_tokens[token] > NOW + timedelta(days=365)  # the printed token stays usable
    assert a.extra["initial"]["refresh_token"] in a.refresh_tokens
    assert a.webhook_secret == a.oauth.client_secret  # v3 webhooks are signed with the client secret


def test_issued_tokens_live_30_minutes_on_the_sandbox_clock() -> None:
    state = hs.make_state(0)
    body = hs.issue_tokens(state, NOW, ["oauth"])
    assert body["expires_in"] == 1800
    assert state.access_tokens[body["access_token"]] == NOW + timedelta(minutes=30)
    again = hs.issue_tokens(state, NOW, ["oauth"], refresh=body["refresh_token"])
    assert again["refresh_token"] == body["refresh_token"]


def test_truth_maps_companies_and_crm_tickets_to_customers() -> None:
    book = make_book(customers=3)
    book.customers["C000003"].hubspot.duplicate_of = "C000001"
    book.customers["C000002"].hubspot.present = False
    truth = hs.truth(make_context(book))
    assert truth["accounts"] == {hs.company_id("C000001"): "C000001", hs.company_id("C000003"): "C000001"}
    assert len(truth["tickets"]) == 6  # crm tickets only; the Zendesk-channel one is absent
    assert truth["tickets"]["3000002"] == "C000001"


def test_rendering_follows_the_book_conventions() -> None:
    book = make_book(customers=2)
    book.contacts["P0000001"].deleted_at = NOW - timedelta(hours=1)
    ctx = make_context(book)
    companies = {o.key: o for o in hs.render(ctx, "companies")}
    assert companies["C000002"].properties["zendesk_org_id"] == hs.numeric_id("organization", "C000002")
    assert companies["C000001"].properties["zendesk_org_id"] is None  # cross_ref not set on odd customers
    contacts = {o.key: o for o in hs.render(ctx, "contacts")}
    assert contacts["P0000001"].archived_at == NOW - timedelta(hours=1)
    tickets = hs.render(ctx, "tickets")
    assert {t.properties["hs_pipeline"] for t in tickets} == {"0"}
    emails = hs.render(ctx, "emails")
    notes = hs.render(ctx, "notes")
    assert len(emails) == 8  # customer + public agent comment on each of 4 crm tickets
    assert len(notes) == 4  # the private agent comments
    assert {e.properties["hs_email_direction"] for e in emails} == {"INCOMING_EMAIL", "EMAIL"}


def test_written_fields_and_modification_bump() -> None:
    ctx = make_context(make_book(customers=1))
    state = ctx.vendors[hs.VENDOR]
    cid = hs.company_id("C000001")
    state.written[cid] = {"healthscore_score": "80"}
    state.extra["touched"][cid] = NOW
    [company] = hs.render(ctx, "companies")
    assert company.properties["healthscore_score"] == "80"
    assert company.properties["hs_lastmodifieddate"] == hs.hs_time(NOW)
    assert hs.written_fields(ctx) == {cid: {"healthscore_score": "80"}}
    # one record, as benchmarks/freshness.py polls it (unknown ids are left out)
    assert hs.written_fields(ctx, ids=[cid, "404"]) == {cid: {"healthscore_score": "80"}}
    assert hs.written_fields(ctx, ids=[]) == {}


def test_a_churned_customer_past_its_outcome_date_is_a_former_customer() -> None:
    book = make_book(customers=2)
    c = book.customers["C000001"]
    c.outcome, c.outcome_date = "churned", (NOW - timedelta(days=1)).date()
    later = book.customers["C000002"]
    later.outcome, later.outcome_date = "churned", (NOW + timedelta(days=30)).date()
    companies = {o.key: o for o in hs.render(make_context(book), "companies")}
    assert companies["C000001"].properties["lifecyclestage"] == "other"
    assert companies["C000001"].properties["customer_status"] == "churned"
    assert (
        companies["C000002"].properties["lifecyclestage"] == "customer"
    )  # not decided yet on the book clock
    assert companies["C000002"].properties["customer_status"] == "active"
