"""Pure request builders for HubSpot reads: the windowed, id-keyset search and the per-stream plan.

Why keyset paging: HubSpot search stops at 10,000 results (`after` ≥ 10,000 → 400), and month-end bulk
edits stamp more than 10,000 records with one modification time (airbyte#43317), so paging by timestamp
loops. Every page here is a *fresh* search over the frozen window `[since, upper]` with
`hs_object_id > last_id`, sorted by `hs_object_id`: no page ever needs `after`, the cap never applies,
and the cursor after each page (`last_id`) resumes exactly.

Cost (measured in tests/integrations/hubspot/test_adapter_calls.py): search pages hold 200 rows, list pages
100. Lists carry associations inline; search results cannot, so a search page of deals/tickets/comments/
surveys costs one more call (a v4 association batch read, ≤ 1,000 ids). For a full read of n objects:
- companies, contacts (no associations needed): search ⌈n/200⌉ < list ⌈n/100⌉ → search;
- deals, tickets, comments, surveys: list ⌈n/100⌉ ≤ search (1 + links)·⌈n/200⌉ → list (no cap either).
Incremental reads always search: a list cannot filter on modification time, so it would rescan everything.
Deletes come from `GET …?archived=true` (100 a page; HubSpot keeps archived records ~90 days), filtered on
`archivedAt`; one call per stream while there are ≤ 100 archived records, so incremental reads list them
at most hourly (adapter.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from integrations.errors import MalformedResponseError

SEARCH_PAGE = 200
LIST_PAGE = 100
BATCH_LIMIT = 100
# Objects a list page or batch read may hold when `propertiesWithHistory` is asked (HubSpot: 400 past it).
HISTORY_PAGE = 50
SEARCH_CAP = 10_000

T = TypeVar("T")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    """The inverse of epoch_ms: a cursor's or HubSpot's epoch milliseconds as an aware UTC time."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def window_search(
    *,
    modified_property: str,
    since: datetime | None,
    upper: datetime,
    after_id: str | None,
    properties: Sequence[str],
    limit: int = SEARCH_PAGE,
) -> dict[str, Any]:
    """One keyset page: modified in [since, upper] (since None: everything up to upper), id > after_id."""
    filters: list[dict[str, Any]] = []
    if since is None:
        filters.append({"propertyName": modified_property, "operator": "LTE", "value": str(epoch_ms(upper))})
    else:
        filters.append(
            {
                "propertyName": modified_property,
                "operator": "BETWEEN",
                "value": str(epoch_ms(since)),
                "highValue": str(epoch_ms(upper)),
            }
        )
    if after_id is not None:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": after_id})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }


def offset_search(
    *,
    modified_property: str,
    since: datetime,
    properties: Sequence[str],
    after: int,
    limit: int = SEARCH_PAGE,
) -> dict[str, Any]:
    """The naive search (timestamp filter + `after` offset) that fails past 10,000 results; kept for tests
    and benchmarks that show why `window_search` exists."""
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": modified_property, "operator": "GTE", "value": str(epoch_ms(since))}
                ]
            }
        ],
        "sorts": [{"propertyName": modified_property, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
        "after": str(after),
    }


def onward(asked: set[str], position: str | None, object_type: str) -> str | None:
    """The next page's position (`after` token or keyset id), once: a page that points back at one this
    read asked for already would loop forever, re-reading (and re-committing) the same pages."""
    if position is not None:
        if position in asked:
            raise MalformedResponseError("hubspot", f"{object_type}: paging points back at {position[:40]!r}")
        asked.add(position)
    return position


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """Where an interrupted stream read resumes (stored in Cursor.token).

    `phase` indexes the stream's object types, then "archived"; `upper` is the frozen window end (epoch ms)
    so a resumed read covers the same window; `last_id` is the keyset position in a search phase and
    `after` the list token in the archived phase.
    """

    phase: int
    upper: int
    last_id: str | None = None
    after: str | None = None
    deletes_checked: int | None = None  # when archived records were last listed (epoch ms), carried along
    seen: Mapping[str, int] = field(default_factory=dict)  # delivered records of the overlap (delivered.py)

    def dumps(self) -> str:
        data: dict[str, Any] = {
            "phase": self.phase,
            "upper": self.upper,
            "last_id": self.last_id,
            "after": self.after,
            "deletes_checked": self.deletes_checked,
        }
        if self.seen:
            data["seen"] = dict(self.seen)
        return json.dumps(data)

    @classmethod
    def loads(cls, raw: str | None) -> Position | None:
        """The stored position, or None when there is none or it is not ours (a fresh read starts)."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(
                phase=int(data["phase"]),
                upper=int(data["upper"]),
                last_id=data.get("last_id"),
                after=data.get("after"),
                deletes_checked=data.get("deletes_checked"),
                seen=seen(raw),
            )
        except (ValueError, KeyError, TypeError):
            return None


def finished_token(deletes_checked: int | None, delivered: Mapping[str, int] | None = None) -> str | None:
    """The token a completed read leaves: when archived records were last listed and which records of the
    next read's overlap were delivered; None when there is neither (a token without `seen` is the older
    format, still read)."""
    data: dict[str, Any] = {}
    if deletes_checked is not None:
        data["deletes_checked"] = deletes_checked
    if delivered:
        data["seen"] = dict(delivered)
    return json.dumps(data) if data else None


def seen(raw: str | None) -> dict[str, int]:
    """Delivered records (key → modified epoch ms) from either token format; {} when absent or not ours."""
    if not raw:
        return {}
    try:
        value = json.loads(raw).get("seen")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def deletes_checked(raw: str | None) -> int | None:
    """When archived records were last listed, from a finished token or a mid-read Position."""
    if not raw:
        return None
    try:
        value = json.loads(raw).get("deletes_checked")
    except (ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int | float) else None
