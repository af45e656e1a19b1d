"""Pure mapping from Zendesk JSON (shapes of the documented examples) to records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.records import SCORE_FIELDS
from integrations.zendesk import mapping

ORG = {
    "id": 35436,
    "name": "One Organization",
    "external_id": "0015g00000XyZ12AAA",
    "domain_names": ["Example.com", "test.com"],
    "created_at": "2009-07-20T22:55:29Z",
    "updated_at": "2011-05-05T10:38:52Z",
    "organization_fields": {"org_dropdown": "option_1"},
}
TICKET = {
    "id": 35436,
    "subject": "Help, my printer is on fire!",
    "description": "The fire is very colorful.",
    "status": "open",
    "priority": "high",
    "requester_id": 20978392,
    "assignee_id": 235323,
    "organization_id": 509974,
    "group_id": 98738,
    "tags": ["enterprise", "other_tag"],
    "created_at": "2009-07-20T22:55:29Z",
    "updated_at": "2011-05-05T10:38:52Z",
    "generated_timestamp": 1304592000,
}
METRIC = {
    "ticket_id": 35436,
    "reopens": 55,
    "replies": 322,
    "solved_at": "2011-05-09T10:38:52Z",
    "reply_time_in_minutes": {"calendar": 2391, "business": 737},
    "full_resolution_time_in_minutes": {"calendar": 2391, "business": 737},
}
USERS = {
    20978392: {"id": 20978392, "email": "Roger@Example.org", "role": "end-user"},
    235323: {"id": 235323, "email": "agent@support.example", "role": "agent"},
    555: {"id": 555, "email": "cc@example.org", "role": "end-user"},
}


def test_organization() -> None:
    rec = mapping.organization(ORG)
    assert rec.external_id == "35436"
    assert rec.domains == ("example.com", "test.com")
    assert rec.cross_ref == "0015g00000XyZ12AAA"
    assert rec.updated_at == datetime(2011, 5, 5, 10, 38, 52, tzinfo=UTC)
    assert not rec.deleted
    assert mapping.organization({**ORG, "external_id": None, "deleted_at": "2012-01-01T00:00:00Z"}).deleted
    assert mapping.organization({**ORG, "external_id": ""}).cross_ref is None


def test_ticket_with_metric_set() -> None:
    rec = mapping.ticket(TICKET, METRIC, USERS, {})
    assert rec.external_id == "35436"
    assert rec.account_external_id == "509974"
    assert rec.requester_email == "roger@example.org"
    assert (rec.first_reply_minutes, rec.full_resolution_minutes, rec.reopens) == (2391.0, 2391.0, 55)
    assert rec.solved_at == datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)
    assert rec.status == "open"
    assert rec.priority == "high"
    assert not rec.escalated
    assert not rec.deleted


def test_ticket_without_metrics_or_users() -> None:
    rec = mapping.ticket({**TICKET, "organization_id": None, "status": "hold"}, None, {}, {})
    assert rec.account_external_id is None
    assert rec.requester_email is None
    assert rec.first_reply_minutes is None
    assert rec.status == "pending"


def test_deleted_ticket() -> None:
    rec = mapping.ticket({**TICKET, "status": "deleted"}, None, USERS, {})
    assert rec.deleted
    assert rec.status == "closed"


@pytest.mark.parametrize(
    ("tags", "priority", "settings", "expected"),
    [
        (["escalated"], "normal", {}, True),
        (["Escalation"], "low", {}, True),
        ([], "urgent", {}, False),
        ([], "urgent", {"escalate_urgent": True}, True),
        (["tier3"], "normal", {"escalation_tags": ["tier3"]}, True),
        (["escalated"], "normal", {"escalation_tags": ["tier3"]}, False),
    ],
    ids=["tag", "tag-case", "urgent-alone", "urgent-opt-in", "custom-tag", "custom-replaces-default"],
)
def test_escalation_rule(tags: list[str], priority: str, settings: dict[str, Any], expected: bool) -> None:
    assert mapping.is_escalated({"tags": tags, "priority": priority}, settings) is expected


@pytest.mark.parametrize(
    ("author", "expected"),
    [(20978392, "customer"), (235323, "agent"), (555, "customer"), (999, "customer")],
    ids=["requester", "agent", "cc-end-user", "unknown"],
)
def test_comment_author_role(author: int, expected: str) -> None:
    assert mapping.author_role(author, TICKET, USERS) == expected
    assert mapping.author_role(235323, TICKET, {}) == "agent"  # the assignee, even without the sideload


def test_comment_prefers_plain_body() -> None:
    c = {"id": 1274, "author_id": 235323, "body": "**Thanks**", "plain_body": "Thanks", "public": False,
         "created_at": "2009-07-20T22:55:29Z"}  # fmt: skip
    rec = mapping.comment(c, TICKET, USERS)
    assert (rec.body, rec.public, rec.author_role, rec.ticket_external_id) == (
        "Thanks",
        False,
        "agent",
        "35436",
    )


@pytest.mark.parametrize(
    ("score", "expected"), [("good", 5.0), ("bad", 1.0), ("offered", None), ("unoffered", None)]
)
def test_rating(score: str, expected: float | None) -> None:
    r = {"id": 35436, "score": score, "ticket_id": 208, "comment": "Awesome support!",
         "created_at": "2011-07-20T22:55:29Z", "updated_at": "2011-07-21T22:55:29Z"}  # fmt: skip
    rec = mapping.rating(r)
    if expected is None:
        assert rec is None
        return
    assert rec is not None
    assert (rec.score, rec.kind, rec.ticket_external_id, rec.comment) == (
        expected,
        "csat",
        "208",
        "Awesome support!",
    )
    assert rec.updated_at > rec.responded_at


def test_field_specs_and_values() -> None:
    specs = {s.logical: s for s in mapping.field_specs()}
    assert set(specs) == set(SCORE_FIELDS)
    band = specs["health_band"]
    assert band.payload()["custom_field_options"][0] == {
        "name": "Green",
        "value": "healthscore_band_green",
    }
    assert mapping.field_value(band, "red") == "healthscore_band_red"
    assert mapping.field_value(specs["health_score"], 71.234) == 71.23
    assert (
        mapping.field_value(specs["health_scored_at"], datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        == "2026-01-02T03:04:05Z"
    )
    assert mapping.field_value(specs["health_drivers"], "x" * 2000) == "x" * 1000
    assert mapping.field_value(specs["health_score"], None) is None


EVENT = {
    "id": 1040000101,
    "ticket_id": 2,
    "timestamp": 1790943000,
    "created_at": "2026-10-02T12:10:00Z",
    "updater_id": 380000003,
    "via": "Web form",
    "event_type": "Audit",
    "child_events": [
        {"id": 11, "event_type": "Create", "field_name": "status", "value": "new"},
        {
            "id": 40000101,
            "event_type": "Comment",
            "author_id": 380000003,
            "body": "Hello\n\nthanks",
            "html_body": "<p>Hello</p>",
            "plain_body": "Hello thanks",
            "public": False,
            "attachments": [],
            "created_at": "2026-10-02T12:10:00Z",
        },
    ],
}


def test_comment_events_keep_only_comment_children_in_order() -> None:
    other = {**EVENT, "id": 2, "child_events": [{"id": 3, "event_type": "Change"}]}
    pairs = mapping.comment_events([EVENT, other, {**EVENT, "id": 4, "child_events": None}])
    assert [(e["id"], c["id"]) for e, c in pairs] == [(1040000101, 40000101)]


@pytest.mark.parametrize(
    ("agents", "role"),
    [(frozenset(), "customer"), (frozenset({380000003}), "agent"), (frozenset({1}), "customer")],
    ids=["no-agents", "author-is-agent", "other-agent"],
)
def test_event_comment(agents: frozenset[int], role: str) -> None:
    (pair,) = mapping.comment_events([EVENT])
    record = mapping.event_comment(pair, agents)
    assert record.author_role == role
    assert (record.external_id, record.ticket_external_id) == ("40000101", "2")
    assert record.body == "Hello thanks"
    assert record.public is False
    assert record.created_at == datetime(2026, 10, 2, 12, 10, tzinfo=UTC)


def test_event_comment_without_author_is_unreadable() -> None:
    child = {k: v for k, v in EVENT["child_events"][1].items() if k != "author_id"}  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        mapping.event_comment((EVENT, child), frozenset())
