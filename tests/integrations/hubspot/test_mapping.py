"""Pure HubSpot ↔ record mapping and the tenant settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integrations.hubspot import mapping
from integrations.hubspot.mapping import HubRecord, Settings

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def rec(props: dict[str, str | None], *, archived: datetime | None = None, rid: str = "1") -> HubRecord:
    return HubRecord(id=rid, properties=props, updated_at=T0, archived_at=archived)


def test_company_with_default_settings() -> None:
    account = mapping.to_account(
        rec(
            {
                "name": "Acme",
                "domain": "Acme.example ",
                "zendesk_org_id": "360000043",
                "arr": "12000.5",
                "arr_previous": "",
                "renewal_date": "2026-09-01",
                "customer_segment": "smb",
                "active_users": "41",
                "licensed_seats": None,
                "hs_lastmodifieddate": "2026-03-01T10:00:00.000Z",
            }
        ),
        Settings(),
    )
    assert account.domains == ("acme.example",)
    assert account.cross_ref == "360000043"
    assert account.arr == Decimal("12000.5")
    assert account.arr_prev is None
    assert account.renewal_date == date(2026, 9, 1)
    assert account.metrics == {"active_users": 41.0, "licensed_seats": None}
    assert account.updated_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert not account.deleted


def test_tenant_settings_remap_fields_and_metrics() -> None:
    s = Settings.from_mapping(
        {
            "arr_property": "annualrevenue",
            "metric_properties": {"uses_sso": "bool", "go_live": "date"},
            "bogus": 1,
        }
    )
    account = mapping.to_account(
        rec({"name": "A", "annualrevenue": "5", "uses_sso": "true", "go_live": "1772409600000"}), s
    )
    assert account.arr == Decimal(5)
    assert account.metrics == {"uses_sso": True, "go_live": date(2026, 3, 2)}
    assert "annualrevenue" in s.company_properties()


@pytest.mark.parametrize(
    ("dealtype", "stage", "kind", "closed", "won"),
    [
        ("newbusiness", "appointmentscheduled", "new_business", False, False),
        ("renewal", "closedwon", "renewal", True, True),
        ("existingbusiness", "closedlost", "renewal", True, False),
        ("upsell", "contractsent", "upsell", False, False),
        (None, "qualifiedtobuy", "other", False, False),
    ],
    ids=["new", "renewal-won", "existing-lost", "upsell", "untyped"],
)
def test_deal_kind_and_stage(dealtype: str | None, stage: str, kind: str, closed: bool, won: bool) -> None:
    deal = mapping.to_deal(
        rec(
            {
                "dealname": "D",
                "dealtype": dealtype,
                "dealstage": stage,
                "closedate": "2026-06-30T00:00:00.000Z",
                "amount": "10",
            }
        ),
        "5000002",
        Settings(),
    )
    assert (deal.kind, deal.is_closed, deal.is_won) == (kind, closed, won)
    assert deal.close_date == date(2026, 6, 30)
    assert deal.account_external_id == "5000002"


@pytest.mark.parametrize(
    ("stage", "priority", "status", "norm_priority"),
    [
        ("1", "LOW", "new", "low"),
        ("2", "MEDIUM", "pending", "normal"),
        ("3", "HIGH", "open", "high"),
        ("4", "URGENT", "closed", "urgent"),
    ],
)
def test_ticket_status_priority_and_times(stage: str, priority: str, status: str, norm_priority: str) -> None:
    ticket = mapping.to_ticket(
        rec(
            {
                "subject": "S",
                "hs_pipeline_stage": stage,
                "hs_ticket_priority": priority,
                "createdate": "2026-03-01T00:00:00.000Z",
                "time_to_first_agent_reply": "1800000",
                "time_to_close": None,
            }
        ),
        None,
        Settings(),
    )
    assert (ticket.status, ticket.priority) == (status, norm_priority)
    assert ticket.first_reply_minutes == 30.0
    assert ticket.full_resolution_minutes is None


@pytest.mark.parametrize(
    ("kind", "props", "role", "public"),
    [
        ("emails", {"hs_email_direction": "INCOMING_EMAIL", "hs_email_text": "help"}, "customer", True),
        ("emails", {"hs_email_direction": "EMAIL", "hs_email_text": "hi"}, "agent", True),
        ("notes", {"hs_note_body": "internal"}, "agent", False),
    ],
    ids=["incoming", "outgoing", "note"],
)
def test_comment_roles(kind: str, props: dict[str, str | None], role: str, public: bool) -> None:
    comment = mapping.to_comment(rec({**props, "hs_timestamp": "2026-03-01T00:00:00.000Z"}), kind, "3000002")
    assert (comment.author_role, comment.public, comment.ticket_external_id) == (role, public, "3000002")
    assert comment.body in ("help", "hi", "internal")


def test_surveys_nps_csat_and_others_skipped() -> None:
    nps = mapping.to_survey(
        rec({"hs_survey_type": "NPS", "hs_response_value": "9", "hs_contact_email_address": "A@X.example"}),
        "5",
        None,
    )
    assert nps is not None
    assert (nps.kind, nps.score, nps.contact_email) == ("nps", 9.0, "a@x.example")
    assert mapping.to_survey(rec({"hs_survey_type": "CES", "hs_response_value": "3"}), None, None) is None
    assert mapping.to_survey(rec({"hs_survey_type": "CSAT", "hs_response_value": ""}), None, None) is None


def test_archived_records_are_deleted() -> None:
    contact = mapping.to_contact(rec({"email": None}, archived=T0))
    assert contact.deleted
    assert contact.updated_at == T0


def test_score_values_formatting() -> None:
    props = mapping.score_properties(
        {
            "health_score": 71.25,
            "health_band": "green",
            "health_scored_at": datetime(2026, 3, 2, 12, tzinfo=UTC),
            "health_trend_30d": None,
            "unknown_key": "x",
        }
    )
    assert props == {
        "healthscore_score": "71.25",
        "healthscore_band": "green",
        "healthscore_scored_at": "1772452800000",
        "healthscore_trend_30d": "",
    }


def test_property_definitions() -> None:
    band = mapping.property_definition(
        mapping.PROPERTY_BY_KEY["health_band"], Settings(band_options=("a", "b"))
    )
    assert band["type"] == "enumeration"
    assert [o["value"] for o in band["options"]] == ["a", "b"]
    assert band["groupName"] == "healthscore"
    score = mapping.property_definition(mapping.PROPERTY_BY_KEY["health_score"], Settings())
    assert (score["type"], score["fieldType"]) == ("number", "number")
    assert "options" not in score
    assert {p.key for p in mapping.SCORE_PROPERTIES} == set(mapping.PROPERTY_BY_KEY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-02T12:00:00.000Z", T0),
        ("1772452800000", T0),
        ("2026-03-02T12:00:00", T0),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(raw: str | None, expected: datetime | None) -> None:
    assert mapping.parse_time(raw) == expected
