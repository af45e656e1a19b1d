"""Names, not ids, wherever a person reads: ticket titles, groups, deal stages, drivers, surveys, problems."""

from __future__ import annotations

from typing import Any

from connector.store import models as m
from connector.store.db import transaction
from connector.web.formatting import driver_text, problem_text, ratio, survey_scale, ticket_title, truth_text
from tests.connector.web.seed import NOW, TenantData


def test_driver_text_in_rep_words() -> None:
    sentiment = {
        "metric": "sentiment_30d",
        "value": -0.63,
        "text": "support sentiment -0.63 (-1..1, 30 days)",
    }
    assert driver_text({**sentiment, "counts": {"tickets_30d": 9, "negative_30d": 6}}) == (
        "6 of 9 tickets in the last 30 days read negative"
    )
    assert "-1..1" not in driver_text(sentiment)
    assert driver_text({"metric": "negative_ticket_share_30d", "value": 0.5}) == (
        "50 % of tickets in the last 30 days read negative"
    )
    assert driver_text({"metric": "csat_avg_90d", "value": 2.1, "text": "CSAT 2.1/5"}) == "CSAT 2.1/5"


def test_problem_truth_ratio_and_scales_read_as_words() -> None:
    assert problem_text("bad_scheme: (none)") == "The address must start with https://."
    assert "(none)" not in problem_text("bad_scheme: (none)")
    assert problem_text("something else") == "something else"
    # host names and addresses keep their dots (was "check for typos (example).com.")
    assert problem_text("unresolvable: nope.example.com") == (
        "The host name does not resolve; check for typos (nope.example.com)."
    )
    assert "(10.0.0.1 is private)" in problem_text("refused: blocked_address: 10.0.0.1 is private. Try X")
    assert "sandbox" not in truth_text("sandbox ground truth")
    assert "∞" not in ratio(float("inf"))
    assert survey_scale("csat", 4) == "4 / 5"
    assert survey_scale("nps", 9) == "9 / 10"


def test_ticket_titles_quote_the_case_number_not_the_id() -> None:
    class T:
        vendor, external_id, subject, number = (
            "salesforce",
            "500Hs00001ABCDEFGHI",
            "Invoice wrong",
            "00001234",
        )

    assert ticket_title(T()) == "Invoice wrong · Case 00001234"
    T.subject = ""
    assert ticket_title(T()) == "Case 00001234"


def test_account_page_shows_names_links_and_counts(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=acme.id, vendor="zendesk", base_url="https://acme.zendesk.example", token_url="x",
                client_id="x", client_secret_enc="x", created_at=NOW,
            )
        )  # fmt: skip
        deal = session.query(m.Deal).filter_by(tenant_id=acme.id, external_id="Acme-D2").one()
        deal.stage, deal.stage_label = "qualifiedtobuy", "Qualified To Buy"
        snap = (
            session.query(m.ScoreSnapshot)
            .filter_by(account_id=red)
            .order_by(m.ScoreSnapshot.as_of.desc())
            .first()
        )
        assert snap is not None
        snap.drivers = [
            {"metric": "sentiment_30d", "dimension": "support", "direction": "down", "impact": -5.0,
             "value": -0.8, "text": "support sentiment -0.80 (-1..1, 30 days)"},
        ]  # fmt: skip
    page = acme_viewer.get(f"/accounts/{red}").data.decode()
    assert "Qualified To Buy" in page
    assert "qualifiedtobuy" not in page
    assert "1 of 1 ticket in the last 30 days read negative" in page
    assert "-1..1" not in page
    assert 'href="https://acme.zendesk.example/agent/tickets/Acme-T2"' in page
    assert "CSAT (1\u20135)" in acme_viewer.get("/static/charts.js").data.decode()


def test_webhook_url_problems_read_as_words(acme_admin: Any) -> None:
    resp = acme_admin.post(
        "/admin/webhooks/", data={"url": "ftp://example.com/x", "event_types": ["account.band_changed"]}
    )
    page = resp.data.decode()
    assert resp.status_code == 400
    assert "bad_scheme" not in page
    assert "(none)" not in page
    assert "problem_text" not in page
    assert "https://" in page
    assert problem_text("refused ftp://x: bad_scheme: (none). Private targets need X") == (
        "refused ftp://x: the address must start with https://. Private targets need X."
    )


def test_a_problem_inside_a_sentence_goes_on_in_lower_case() -> None:
    # Was 'the URL cannot receive webhooks: The host name does not resolve; …' (page walk N7).
    assert problem_text("the URL cannot receive webhooks: unresolvable: nope.example.com") == (
        "the URL cannot receive webhooks: the host name does not resolve; check for typos (nope.example.com)."
    )
    assert problem_text("unresolvable: x.example").startswith("The host name")  # a message of its own
