"""Vendor records that cannot be read (a required id or timestamp missing or unparsable): each is skipped
on its own with a warning and counted on its Page, so one bad record no longer fails its whole page on every
pass and stops the stream for the tenant for good (security audit 4). Pure apart from the log line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
R = TypeVar("R")

# What a pure mapping raises on a vendor value it cannot read: a missing key, an unparsable or
# out-of-range date or number (datetime.fromtimestamp raises OverflowError or OSError), a wrong type.
UNREADABLE: tuple[type[Exception], ...] = (KeyError, ValueError, TypeError, OverflowError, OSError)


def record_id(raw: Any) -> str:
    """The record's id as far as it can be read, for the log line (never the record itself)."""
    if isinstance(raw, tuple) and raw:  # (parent, child) pairs, e.g. a Zendesk event and its comment
        raw = raw[-1]
    value = raw.get("id", raw.get("Id")) if isinstance(raw, Mapping) else getattr(raw, "id", None)
    return "unknown" if value is None else repr(value)[:64]


def skipped(vendor: str, what: str, raw: Any, exc: BaseException) -> None:
    """Log one skipped record: vendor, kind, its id if readable, and why (the message cut short)."""
    logger.warning(
        "%s %s %s skipped: unreadable (%s: %s); the rest of its page is read",
        vendor,
        what,
        record_id(raw),
        type(exc).__name__,
        str(exc)[:200],
        extra={"vendor": vendor, "record_kind": what},
    )


def map_each(vendor: str, what: str, fn: Callable[[Any], R], items: Iterable[Any]) -> tuple[list[R], int]:
    """`fn` over `items`; an item it cannot read is skipped (logged). Returns (mapped, how many skipped)."""
    out: list[R] = []
    skips = 0
    for item in items:
        try:
            out.append(fn(item))
        except UNREADABLE as exc:
            skipped(vendor, what, item, exc)
            skips += 1
    return out, skips
