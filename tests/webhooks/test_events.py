"""Outbound event payloads, ids and the score-change rule."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from webhooks.events import (
    AccountChange,
    EventType,
    build_payload,
    encode_payload,
    make_event,
    new_event_id,
    should_emit_score_changed,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _change(**overrides: object) -> AccountChange:
    fields: dict[str, object] = {
        "account_ids": {"zendesk": "123", "salesforce": "001000000000001AAA"},
        "name": "Acme",
        "old_band": "green",
        "new_band": "red",
        "old_score": 71.5,
        "new_score": 41.0,
        "drivers": [{"name": "csat", "impact": -12.5}],
        "model_version": "health-v3",
        "occurred_at": datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))),
    }
    fields.update(overrides)
    return AccountChange(**fields)  # type: ignore[arg-type]


def test_payload_shape() -> None:
    payload = build_payload(EventType.BAND_CHANGED, _change(), timestamp=NOW)
    assert payload == {
        "type": "account.band_changed",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "data": {
            "account_ids": {"salesforce": "001000000000001AAA", "zendesk": "123"},
            "name": "Acme",
            "old_band": "green",
            "new_band": "red",
            "old_score": 71.5,
            "new_score": 41.0,
            "drivers": [{"name": "csat", "impact": -12.5}],
            "model_version": "health-v3",
            "occurred_at": "2024-01-01T00:00:00.000Z",  # converted to UTC
        },
    }


def test_make_event_body_is_the_encoded_payload_and_stable() -> None:
    event = make_event(EventType.SCORE_CHANGED, _change(), now=NOW, token_bytes=lambda n: b"\x00" * n)
    assert event.type == "account.score_changed"
    assert json.loads(event.body) == event.payload
    assert event.body == encode_payload(event.payload)
    assert b" " not in event.body.replace(b"health-v3", b"")  # compact separators
    assert event.id == "msg_01HK153X000000000000000000"


def test_event_id_is_ulid_sortable_and_unique() -> None:
    first = new_event_id(NOW)
    later = new_event_id(NOW + timedelta(milliseconds=1))
    assert first.startswith("msg_")
    assert len(first) == 4 + 26
    assert "." not in first  # Standard Webhooks forbids "." in ids
    assert later > first
    assert new_event_id(NOW) != new_event_id(NOW)


def test_unicode_names_are_kept_as_utf8() -> None:
    event = make_event(EventType.BAND_CHANGED, _change(name="Zürich AG"), now=NOW)
    assert "Zürich AG".encode() in event.body


@pytest.mark.parametrize(
    "overrides",
    [{"account_ids": {}}, {"new_score": math.nan}, {"old_score": math.inf}],
    ids=["no-ids", "nan", "inf"],
)
def test_invalid_changes_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"account_ids|finite"):
        build_payload(EventType.BAND_CHANGED, _change(**overrides), timestamp=NOW)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_payload(EventType.BAND_CHANGED, _change(occurred_at=datetime(2024, 1, 1)), timestamp=NOW)  # noqa: DTZ001


def test_first_band_assignment_has_null_old_values() -> None:
    payload = build_payload(EventType.BAND_CHANGED, _change(old_band=None, old_score=None), timestamp=NOW)
    assert payload["data"]["old_band"] is None
    assert payload["data"]["old_score"] is None


@pytest.mark.parametrize(
    ("old", "new", "delta", "expected"),
    [
        (50.0, 55.0, 5.0, True),
        (50.0, 45.0, 5.0, True),
        (50.0, 54.9, 5.0, False),
        (50.0, 50.0, 0.5, False),
        (None, 80.0, 5.0, False),
        (math.nan, 80.0, 5.0, False),
    ],
    ids=["up-at-threshold", "down-at-threshold", "below", "unchanged", "no-previous", "nan-previous"],
)
def test_should_emit_score_changed(old: float | None, new: float, delta: float, expected: bool) -> None:
    assert should_emit_score_changed(old, new, delta) is expected


def test_should_emit_score_changed_needs_positive_delta() -> None:
    with pytest.raises(ValueError, match="delta"):
        should_emit_score_changed(1.0, 2.0, 0)
