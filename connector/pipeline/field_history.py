"""What a mapped account metric field said on a past date, from the CRM's field history (metric_changes).

The account row keeps today's value only; a backtest scoring a past date cannot use it (a churned account
shows 0 active users today), so without a history seat usage was left out of every backtest. The CRMs keep
the history (Salesforce AccountHistory: old and new value per change; HubSpot propertiesWithHistory: every
value set, the first included), and the sync stores it. Pure functions: the rows come from signals.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

# The fields a past date's seat utilisation needs (seat_utilisation below reads the same names).
HISTORY_METRICS = ("seat_utilisation", "active_users", "licensed_seats")


class Change(NamedTuple):
    changed_at: datetime
    value: float | None
    old_value: float | None


def value_at(changes: Sequence[Change], as_of: datetime) -> float | None:
    """The field's value at `as_of` from its changes (oldest first): the last value set at or before it;
    before the first recorded change, the value that change replaced (Salesforce says it; HubSpot records
    the first value too, so there it is unknown: the field was empty)."""
    before = None
    for c in changes:
        if c.changed_at > as_of:
            return before.value if before is not None else c.old_value
        before = c
    return before.value if before is not None else None


def metrics_as_of(
    current: Mapping[str, Any], history: Mapping[str, Sequence[Change]], as_of: datetime
) -> dict[str, Any]:
    """The usage fields as they were at `as_of`. A field with a history is read from it. Without one, only
    the licensed seats (which rarely change) keep today's value, and only when the account's usage has a
    history: with none, history is not tracked for this account and the date stays unknown. Today's
    active users or utilisation on a past date would leak the outcome (0 after a churn)."""
    if not history.get("active_users") and not history.get("seat_utilisation"):
        return {}
    out: dict[str, Any] = {}
    for name in HISTORY_METRICS:
        rows = history.get(name)
        if rows:
            out[name] = value_at(rows, as_of)
        else:
            out[name] = current.get(name) if name == "licensed_seats" else None
    return out


def number(value: Any) -> float | None:
    # A mapped CRM checkbox arrives as a bool, which is an int to Python but no count of anything.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def seat_utilisation(metrics: Mapping[str, Any]) -> float | None:
    """A mapped utilisation field, else active users ÷ licensed seats; None when neither is known."""
    direct = number(metrics.get("seat_utilisation"))
    if direct is not None:
        return direct
    users, seats = number(metrics.get("active_users")), number(metrics.get("licensed_seats"))
    if users is not None and seats:
        return users / seats
    return None
