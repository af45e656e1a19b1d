"""Outbound event types and their JSON payloads: pure, the clock and the randomness are passed in.

An event id (``msg_<ULID>``) is made once when the event is queued; the caller stores it with the body so
every retry reuses both (the id is the receivers' idempotency key, Standard Webhooks §"webhook-id").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from secrets import token_bytes as _token_bytes
from typing import Any, TypeAlias

EVENT_ID_PREFIX = "msg_"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

JSONValue: TypeAlias = str | int | float | bool | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None


class EventType(StrEnum):
    """The event types we publish."""

    BAND_CHANGED = "account.band_changed"
    SCORE_CHANGED = "account.score_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChange:
    """What changed for one account in one scoring pass (the ``data`` of an event)."""

    account_ids: Mapping[str, str]  # vendor → that vendor's id, e.g. {"salesforce": "001…", "zendesk": "123"}
    name: str
    old_band: str | None
    new_band: str
    old_score: float | None
    new_score: float
    drivers: Sequence[Mapping[str, JSONValue]] = field(default_factory=tuple)
    model_version: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One queued event: its stable id, type, payload and the exact bytes every attempt sends."""

    id: str
    type: EventType
    payload: Mapping[str, Any]
    body: bytes


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("datetimes in events must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id(now: datetime, *, token_bytes: Callable[[int], bytes] = _token_bytes) -> str:
    """Return ``msg_<ULID>``: 48-bit ms timestamp + 80 random bits, Crockford base32, sortable by time."""
    millis = int(_require_aware(now).timestamp() * 1000)
    if not 0 <= millis < 1 << 48:
        raise ValueError("now is outside the ULID time range")
    value = (millis << 80) | int.from_bytes(token_bytes(10), "big")
    chars = [_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return EVENT_ID_PREFIX + "".join(chars)


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value


def _check_score(name: str, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number")


def build_payload(event_type: EventType, change: AccountChange, *, timestamp: datetime) -> dict[str, Any]:
    """Return the JSON-ready payload ``{"type", "timestamp", "data": {...}}`` for one event."""
    if not change.account_ids:
        raise ValueError("account_ids must name the account in at least one system")
    _check_score("old_score", change.old_score)
    _check_score("new_score", change.new_score)
    return {
        "type": str(event_type),
        "timestamp": _iso(timestamp),
        "data": {
            "account_ids": dict(sorted(change.account_ids.items())),
            "name": change.name,
            "old_band": change.old_band,
            "new_band": change.new_band,
            "old_score": change.old_score,
            "new_score": change.new_score,
            "drivers": [dict(d) for d in change.drivers],
            "model_version": change.model_version,
            "occurred_at": _iso(change.occurred_at),
        },
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Serialise compactly and deterministically (UTF-8, no NaN) so stored bodies are stable."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def make_event(
    event_type: EventType,
    change: AccountChange,
    *,
    now: datetime,
    token_bytes: Callable[[int], bytes] = _token_bytes,
) -> Event:
    """Build an event with a fresh id; store ``id`` and ``body`` and reuse them on every retry."""
    payload = build_payload(event_type, change, timestamp=now)
    return Event(
        id=new_event_id(now, token_bytes=token_bytes),
        type=event_type,
        payload=payload,
        body=encode_payload(payload),
    )


def should_emit_score_changed(old: float | None, new: float, delta: float) -> bool:
    """True when the score moved by at least ``delta`` points since the last emitted score.

    No previous score (a new account) is not a *change*: the band event covers first assignment.
    """
    if not delta > 0:
        raise ValueError("delta must be positive")
    if old is None:
        return False
    if not (math.isfinite(old) and math.isfinite(new)):
        return False
    return abs(new - old) >= delta
