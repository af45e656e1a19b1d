"""HubSpot's value formats: ISO timestamps with milliseconds, epoch milliseconds, numbers and dates as the
strings HubSpot sends, and parsing them back for comparisons.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

# ---------------------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def hs_time(dt: datetime | None) -> str | None:
    """HubSpot's ISO-8601 with milliseconds and a Z ("2019-10-30T03:30:17.883Z"); cached: books repeat stamps."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(dt: datetime) -> int:
    """Epoch milliseconds, floored exactly (float timestamps can land a millisecond low)."""
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _num(value: Any) -> str | None:
    if value is None:
        return None
    text = format(value, "f") if not isinstance(value, int) else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _date_prop(d: date | None) -> str | None:
    return d.isoformat() if d else None


@functools.lru_cache(maxsize=65536)
def _to_ms(value: str, ptype: str) -> float | None:
    """A property or filter value as epoch ms (datetime/date) or a float (number); None when unparsable."""
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    if ptype in ("datetime", "date"):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return float(_ms(parsed))
    return None
