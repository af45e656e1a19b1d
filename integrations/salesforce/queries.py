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
