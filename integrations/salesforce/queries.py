"""Pure SOQL builders for incremental reads (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

CURSOR_FIELD = (
    "SystemModstamp"  # changes on system and user updates, unlike LastModifiedDate (vendor-sync.md §2.1)
)


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (unquoted, UTC): 2024-01-31T09:30:00Z."""
    if value.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_string(value: str) -> str:
    """A quoted SOQL string literal with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def incremental(sobject: str, fields: Sequence[str], since: datetime | None, until: datetime) -> str:
    """Rows of `sobject` with `since <= SystemModstamp <= until`, oldest first (ties broken by Id).

    `>=` re-reads the boundary second (harmless: upserts by Id); `<= until` keeps rows changed during
    the sync for the next run, so the saved cursor never passes the sync's own start.
    """
    if not fields:
        raise ValueError("a query needs at least one field")
    select = ", ".join(dict.fromkeys(fields))
    where = [f"{CURSOR_FIELD} <= {soql_datetime(until)}"]
    if since is not None:
        where.insert(0, f"{CURSOR_FIELD} >= {soql_datetime(since)}")
    return f"SELECT {select} FROM {sobject} WHERE {' AND '.join(where)} ORDER BY {CURSOR_FIELD} ASC, Id ASC"


HISTORY_CURSOR_FIELD = "CreatedDate"  # history rows are written once and never change: no SystemModstamp


def field_history(
    sobject: str, fields: Sequence[str], tracked: Sequence[str], since: datetime, until: datetime
) -> str:
    """Changes of the `tracked` fields in a field history object (AccountHistory) with
    `since <= CreatedDate <= until`, oldest first (ties broken by Id), with the boundaries of `incremental`.

    OldValue/NewValue cannot be filtered on (anyType), so every change of the fields comes back and the
    mapping keeps the readable ones.
    """
    if not fields or not tracked:
        raise ValueError("a history query needs fields and tracked fields")
    select = ", ".join(dict.fromkeys(fields))
    names = ", ".join(soql_string(f) for f in dict.fromkeys(tracked))
    where = (
        f"Field IN ({names}) AND {HISTORY_CURSOR_FIELD} >= {soql_datetime(since)} "
        f"AND {HISTORY_CURSOR_FIELD} <= {soql_datetime(until)}"
    )
    return f"SELECT {select} FROM {sobject} WHERE {where} ORDER BY {HISTORY_CURSOR_FIELD} ASC, Id ASC"
