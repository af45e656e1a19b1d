"""Row → record mapping and the tenant field map (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from integrations.base import Stream
from integrations.records import ScoreWrite, SurveyRecord
from integrations.salesforce import mapping

STAMP = "2026-05-02T11:54:00.000+0000"
FMAP = mapping.FieldMap()


def account_row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attributes": {"type": "Account", "url": "/services/data/v59.0/sobjects/Account/001"},
        "Id": "0015g0000000001AAA",
        "Name": "Acme",
        "Website": "https://www.Acme.example/about",
        "Owner": {"attributes": {"type": "User"}, "Name": "Rep 1"},
        "IsDeleted": False,
        "CreatedDate": STAMP,
        "SystemModstamp": STAMP,
        "AnnualRevenue": 120000.5,
        "ARR_Prior_Year__c": 100000,
        "Renewal_Date__c": "2026-09-01",
        "Segment__c": "Mid-Market",
        "Plan__c": "growth",
        "Zendesk_Organization_Id__c": "360000002",
        "Active_Users__c": 40,
        "Licensed_Seats__c": None,
    }
    row.update(over)
    return row


def test_account_mapping() -> None:
    rec = mapping.to_account(account_row(), FMAP)
    assert rec.external_id == "0015g0000000001AAA"
    assert rec.domains == ("acme.example",)
    assert rec.segment == "mid_market"
    assert rec.arr == Decimal("120000.5")
    assert rec.arr_prev == Decimal("100000")
    assert rec.renewal_date == date(2026, 9, 1)
    assert rec.cross_ref == "360000002"
    assert rec.owner == "Rep 1"
    assert rec.metrics == {"active_users": 40.0, "licensed_seats": None}
    assert rec.updated_at == datetime(2026, 5, 2, 11, 54, tzinfo=UTC)
    assert rec.deleted is False


def test_custom_mapping_reads_other_fields() -> None:
    fmap = mapping.field_map(
        {"arr_field": "ARR__c", "zendesk_org_field": None, "metric_fields": {"nps_flag": "Is_Promoter__c"}}
    )
    rec = mapping.to_account(account_row(ARR__c=5.0, Is_Promoter__c=True), fmap)
    assert rec.arr == Decimal("5.0")
    assert rec.cross_ref is None
    assert rec.metrics == {"nps_flag": True}
    assert "ARR__c" in mapping.select_fields("Account", fmap)
    assert "Zendesk_Organization_Id__c" not in mapping.select_fields("Account", fmap)


def test_field_map_reports_every_problem() -> None:
    with pytest.raises(ValueError, match="unknown Salesforce setting 'colour'") as info:
        mapping.field_map({"colour": "red", "arr_field": 5, "renewal_types": "Renewal"})
    assert "arr_field must be" in str(info.value)
    assert "renewal_types must be a list" in str(info.value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Renewal", "renewal"),
        ("renewal", "renewal"),
        ("Existing Customer - Upgrade", "upsell"),
        ("New Customer", "new_business"),
        ("Existing Customer - Downgrade", "other"),
        (None, "other"),
    ],
)
def test_deal_kind(value: str | None, kind: str) -> None:
    assert mapping.deal_kind(value, FMAP) == kind


@pytest.mark.parametrize(
    ("status", "closed", "expected"),
    [
        ("New", False, "new"),
        ("Working", False, "open"),
        ("Escalated", False, "open"),
        ("On Hold", False, "pending"),
        ("Closed", True, "closed"),
        ("Resolved", True, "solved"),
    ],
)
def test_case_status(status: str, closed: bool, expected: str) -> None:
    assert mapping.case_status(status, closed) == expected


@pytest.mark.parametrize(
    ("website", "domains"),
    [
        ("www.acme.com", ("acme.com",)),
        ("http://acme.co.uk:8080/x", ("acme.co.uk",)),
        ("", ()),
        (None, ()),
        ("n/a", ()),
    ],
)
def test_website_domains(website: str | None, domains: tuple[str, ...]) -> None:
    assert mapping.website_domains(website) == domains


def test_email_and_case_comment_author_roles() -> None:
    base = {"Id": "x", "ParentId": "500", "CreatedDate": STAMP, "SystemModstamp": STAMP, "IsDeleted": True}
    incoming = mapping.to_email_message({**base, "Incoming": True, "TextBody": "hi", "MessageDate": STAMP})
    outgoing = mapping.to_email_message({**base, "Incoming": False, "TextBody": "re", "MessageDate": None})
    portal = mapping.to_case_comment(
        {**base, "CreatedBy": {"UserType": "CspLitePortal"}, "IsPublished": True}
    )
    agent = mapping.to_case_comment({**base, "CreatedBy": {"UserType": "Standard"}, "IsPublished": False})
    assert [c.author_role for c in (incoming, outgoing, portal, agent)] == [
        "customer",
        "agent",
        "customer",
        "agent",
    ]
    assert agent.public is False
    assert incoming.deleted is True


def test_survey_kinds_and_unknown_types() -> None:
    row = {
        "Id": "0Mr",
        "Type__c": "NPS",
        "Score__c": 9,
        "Account__c": "001",
        "Responded_At__c": STAMP,
        "SystemModstamp": STAMP,
    }
    rec = mapping.to_survey(row, FMAP)
    assert isinstance(rec, SurveyRecord)
    assert (rec.kind, rec.score, rec.account_external_id) == ("nps", 9.0, "001")
    assert mapping.to_survey({**row, "Type__c": "CES"}, FMAP) is None
    with pytest.raises(mapping.MappingError):
        mapping.to_survey({**row, "Score__c": "nine"}, FMAP)


@pytest.mark.parametrize(
    "row",
    [{"Id": "1"}, {"Id": "1", "SystemModstamp": "yesterday"}, {"SystemModstamp": STAMP}],
    ids=["no-modstamp", "bad-datetime", "no-id"],
)
def test_malformed_rows_raise_mapping_error(row: dict[str, Any]) -> None:
    with pytest.raises(mapping.MappingError):
        mapping.to_record("Contact", row, FMAP)


def test_objects_per_stream() -> None:
    assert mapping.objects_for(Stream.COMMENTS, FMAP) == ("CaseComment", "EmailMessage")
    assert mapping.objects_for(Stream.SURVEYS, mapping.field_map({"survey_object": "NPS__c"})) == ("NPS__c",)


def test_score_record_formats_values_for_the_fields() -> None:
    write = ScoreWrite(
        account_external_id="001",
        values={
            "health_score": 71.26,
            "sentiment_30d": -0.12345,
            "health_drivers": "x" * 1500,
            "health_scored_at": datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
            "health_band": None,
        },
    )
    rec = mapping.score_record(write, FMAP)
    assert rec["attributes"] == {"type": "Account"}
    assert rec["Health_Score__c"] == 71.3
    assert rec["Sentiment_30d__c"] == -0.123
    assert len(rec["Health_Drivers__c"]) == 1000
    assert rec["Health_Scored_At__c"] == "2026-06-01T12:00:00.000Z"
    assert rec["Health_Band__c"] is None


def test_score_record_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown score field"):
        mapping.score_record(ScoreWrite(account_external_id="001", values={"mood": 1.0}), FMAP)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Former Customer", "churned"), ("former customer", "churned"), ("Churned", "churned"),
     ("Customer - Direct", "active"), ("Channel Partner / Reseller", "active"), (None, None), ("", None)],
    ids=["former", "former-lower", "churned", "customer", "partner", "none", "empty"],
)  # fmt: skip
def test_account_status_from_type(value: object, expected: str | None) -> None:
    from integrations.salesforce.mapping import account_status

    assert account_status(value) == expected
