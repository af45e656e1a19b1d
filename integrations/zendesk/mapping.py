"""Pure mapping from Zendesk JSON to vendor-neutral records, and our organization field definitions.

Rules worth knowing (tenant settings keys in brackets):
- Organization → AccountRecord: `domain_names` become domains (lower-cased), `external_id` is the cross_ref
  (the Salesforce Account Id when Zendesk's Salesforce sync set it); `deleted_at` → deleted.
- Ticket → TicketRecord: status `hold` → "pending", `deleted` → deleted=True (status kept as "closed");
  metric set: `reply_time_in_minutes.calendar` → first reply, `full_resolution_time_in_minutes.calendar` → full
  resolution, `reopens`. Calendar minutes, not business minutes: the other vendors only give calendar time.
- Escalation: a ticket is escalated when it carries one of the escalation tags [escalation_tags, default
  ("escalated", "escalation")]; with [escalate_urgent] true, priority "urgent" counts as well (off by default:
  urgent is a severity, not an escalation, and Zendesk has no escalation field of its own).
- Comment author: the requester, or any user whose role is "end-user" → "customer"; agents/admins → "agent".
  Unknown authors (not sideloaded) count as agents only if they are the ticket's assignee, else customer.
  Comments from the ticket event export carry no users: their author is an agent iff the author id is in
  the account's agent/admin list (everyone else, requesters included, is an end user → "customer").
- Satisfaction rating → CSAT SurveyRecord: good → 5, bad → 1 (Zendesk keeps only the binary score);
  offered/unoffered ratings are not responses and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from integrations.records import AccountRecord, CommentRecord, SurveyRecord, TicketRecord
from scoring import band_names

VENDOR: Literal["zendesk"] = "zendesk"
DEFAULT_ESCALATION_TAGS = ("escalated", "escalation")
CSAT_SCORES = {"good": 5.0, "bad": 1.0}
_STATUS = {"new": "new", "open": "open", "pending": "pending", "hold": "pending", "solved": "solved"}
_PRIORITY = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """One organization field we create: logical key (records.SCORE_FIELDS) → Zendesk field."""

    logical: str
    key: str
    title: str
    type: str
    options: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": self.key,
            "title": self.title,
            "type": self.type,
            "description": "Written by healthscore; do not edit by hand.",
        }
        if self.options:
            body["custom_field_options"] = [
                {"name": band_names.colour(o.removeprefix("healthscore_band_")), "value": o}
                for o in self.options
            ]
        return body


def field_specs(bands: Sequence[str] = ("green", "yellow", "red")) -> tuple[FieldSpec, ...]:
    """Our organization fields. Timestamps are text (Zendesk `date` fields hold a day, not a time)."""
    return (
        FieldSpec(logical="health_score", key="healthscore_score", title="Health score", type="decimal"),
        FieldSpec(
            logical="health_band",
            key="healthscore_band",
            title="Health band",
            type="dropdown",
            options=tuple(f"healthscore_band_{b}" for b in bands),
        ),
        FieldSpec(
            logical="health_trend_30d", key="healthscore_trend_30d", title="Health trend 30d", type="decimal"
        ),
        FieldSpec(
            logical="health_drivers", key="healthscore_drivers", title="Health drivers", type="textarea"
        ),
        FieldSpec(
            logical="sentiment_30d", key="healthscore_sentiment_30d", title="Sentiment 30d", type="decimal"
        ),
        FieldSpec(
            logical="recommended_action",
            key="healthscore_recommended_action",
            title="Recommended action",
            type="text",
        ),
        FieldSpec(
            logical="health_scored_at", key="healthscore_scored_at", title="Health scored at", type="text"
        ),
        FieldSpec(
            logical="health_model_version",
            key="healthscore_model_version",
            title="Health model version",
            type="text",
        ),
    )


def field_value(spec: FieldSpec, value: str | float | datetime | None) -> str | float | None:
    """A logical value as the Zendesk field stores it (dropdowns take the option tag)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if spec.type == "dropdown":
        return f"healthscore_band_{value}"
    if spec.type == "decimal":
        return round(float(value), 2)
    return str(value)[:1000] if spec.type == "textarea" else str(value)[:255]


def parse_time(raw: Any) -> datetime | None:
    """Zendesk ISO-8601 `2024-01-01T00:00:00Z` (or epoch seconds) → aware UTC datetime."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw, UTC)
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC)


def _required_time(raw: Any, what: str) -> datetime:
    parsed = parse_time(raw)
    if parsed is None:
        raise ValueError(f"{what} is missing")
    return parsed


def organization(org: Mapping[str, Any]) -> AccountRecord:
    """A Zendesk organization as an AccountRecord."""
    external = org.get("external_id")
    return AccountRecord(
        vendor=VENDOR,
        external_id=str(org["id"]),
        name=str(org.get("name") or ""),
        domains=tuple(sorted({str(d).lower().strip() for d in org.get("domain_names") or [] if d})),
        cross_ref=str(external) if external not in (None, "") else None,
        updated_at=_required_time(org.get("updated_at"), "organization updated_at"),
        deleted=org.get("deleted_at") is not None,
    )


def _minutes(metric: Mapping[str, Any] | None, name: str) -> float | None:
    value = (metric or {}).get(name) or {}
    calendar = value.get("calendar") if isinstance(value, Mapping) else None
    return float(calendar) if calendar is not None else None


def is_escalated(ticket: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
    """The documented escalation rule (module docstring)."""
    tags = {str(t).lower() for t in ticket.get("tags") or []}
    wanted = {str(t).lower() for t in settings.get("escalation_tags", DEFAULT_ESCALATION_TAGS)}
    urgent = bool(settings.get("escalate_urgent", False)) and ticket.get("priority") == "urgent"
    return bool(tags & wanted) or urgent


def ticket(
    t: Mapping[str, Any],
    metric: Mapping[str, Any] | None,
    users: Mapping[int, Mapping[str, Any]],
    settings: Mapping[str, Any],
) -> TicketRecord:
    """A ticket from the incremental export with its sideloaded metric set and users."""
    deleted = t.get("status") == "deleted"
    requester = users.get(int(t["requester_id"])) if t.get("requester_id") is not None else None
    org = t.get("organization_id")
    return TicketRecord(
        vendor=VENDOR,
        external_id=str(t["id"]),
        account_external_id=str(org) if org is not None else None,
        requester_email=str(requester["email"]).lower() if requester and requester.get("email") else None,
        subject=str(t.get("subject") or ""),
        description=str(t.get("description") or ""),
        status="closed" if deleted else _STATUS.get(str(t.get("status")), "closed"),
        priority=_PRIORITY.get(str(t.get("priority")), "normal"),
        escalated=is_escalated(t, settings),
        reopens=int((metric or {}).get("reopens") or 0),
        group=str(t["group_id"]) if t.get("group_id") is not None else None,
        created_at=_required_time(t.get("created_at"), "ticket created_at"),
        solved_at=parse_time((metric or {}).get("solved_at")),
        first_reply_minutes=_minutes(metric, "reply_time_in_minutes"),
        full_resolution_minutes=_minutes(metric, "full_resolution_time_in_minutes"),
        updated_at=_required_time(t.get("updated_at"), "ticket updated_at"),
        deleted=deleted,
    )


def author_role(
    author_id: int, ticket: Mapping[str, Any], users: Mapping[int, Mapping[str, Any]]
) -> Literal["customer", "agent"]:
    """Who wrote a comment (module docstring)."""
    if author_id == ticket.get("requester_id"):
        return "customer"
    user = users.get(author_id)
    if user is not None:
        return "customer" if user.get("role") == "end-user" else "agent"
    return "agent" if author_id == ticket.get("assignee_id") else "customer"


def comment(
    c: Mapping[str, Any], ticket: Mapping[str, Any], users: Mapping[int, Mapping[str, Any]]
) -> CommentRecord:
    """A ticket comment; the plain-text body is preferred (what the sentiment model reads)."""
    return CommentRecord(
        vendor=VENDOR,
        external_id=str(c["id"]),
        ticket_external_id=str(ticket["id"]),
        author_role=author_role(int(c["author_id"]), ticket, users),
        public=bool(c.get("public", True)),
        body=str(c.get("plain_body") or c.get("body") or ""),
        created_at=_required_time(c.get("created_at"), "comment created_at"),
    )


def comment_events(events: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(event, child) for every `Comment` child event of a ticket event export page, in page order."""
    return [
        (event, child)
        for event in events
        for child in event.get("child_events") or []
        if isinstance(child, Mapping) and child.get("event_type") == "Comment"
    ]


def event_comment(pair: tuple[Mapping[str, Any], Mapping[str, Any]], agents: frozenset[int]) -> CommentRecord:
    """A comment child event (`include=comment_events`) as a CommentRecord; role from the agent id list."""
    event, c = pair
    author = int(c["author_id"])
    return CommentRecord(
        vendor=VENDOR,
        external_id=str(c["id"]),
        ticket_external_id=str(event["ticket_id"]),
        author_role="agent" if author in agents else "customer",
        public=bool(c.get("public", True)),
        body=str(c.get("plain_body") or c.get("body") or ""),
        created_at=_required_time(c.get("created_at") or event.get("created_at"), "comment created_at"),
    )


def rating(r: Mapping[str, Any]) -> SurveyRecord | None:
    """A satisfaction rating as CSAT (good → 5, bad → 1); None for offered/unoffered placeholders."""
    score = CSAT_SCORES.get(str(r.get("score")))
    if score is None:
        return None
    created = _required_time(r.get("created_at"), "rating created_at")
    return SurveyRecord(
        vendor=VENDOR,
        external_id=str(r["id"]),
        kind="csat",
        score=score,
        ticket_external_id=str(r["ticket_id"]) if r.get("ticket_id") is not None else None,
        comment=str(r.get("comment") or ""),
        responded_at=created,
        updated_at=parse_time(r.get("updated_at")) or created,
    )
