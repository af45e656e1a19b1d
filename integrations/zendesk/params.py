"""Pure request builders for the Zendesk adapter: hosts, export start times, write payloads, polling plan."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from integrations.cursors import Cursor, read_from

T = TypeVar("T")

EXPORT_PAGE = 1000  # incremental export maximum
CBP_PAGE = 100  # cursor-based pagination maximum
UPDATE_MANY_MAX = 100  # organizations per update_many job
EXPORT_LAG = timedelta(seconds=61)  # Zendesk refuses start_time within the last minute (StartTimeTooRecent)
TICKET_SIDELOADS = ("metric_sets", "users", "groups")  # groups: names for group_id, no extra call
EVENT_CURSOR_PREFIX = "ev1:"
EVENT_CURSOR_MAX_IDS = 2000  # bound on the cursor's size; beyond it a few comments are merely re-sent
# Pages one export read follows in a pass (up to 1,000 records a page): the bound that stops a server whose
# export never ends. A 10,000-account book's first pass reads ~1,000 export pages over all streams (the
# sandbox: 1,025 calls), so 1,000 per read keeps a big first pass whole (a stopped read reports ok and the
# pass would score on part of the history); a bigger backlog (a bulk import) goes on next pass. At Zendesk's
# 10 export requests a minute that is 100 minutes of one account's budget, spent in countdown re-queues.
EXPORT_PAGES_PER_READ = 1000
# Pages in a row that bring nothing new before a read stops for this pass: a real export only repeats its
# page edges and the overlap window; a server that creeps a second a page from 1970 never ends.
IDLE_PAGES = 20
RESUME_PREFIX = "at:"  # token of a read cut short: "at:<start_time>;<the stream's own token>"


def split_host(base_url: str) -> tuple[str, str]:
    """zenpy builds `https://{subdomain}.{domain}`: split a base URL so that it rebuilds it exactly.

    `https://acme.zendesk.com` → ("acme", "zendesk.com"); `https://127.0.0.1:8443` → ("127", "0.0.1:8443").
    """
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"Zendesk base_url must be https://host[:port], got {base_url!r}")
    sub, _, domain = parts.netloc.partition(".")
    if not domain:
        raise ValueError(f"Zendesk base_url needs a dotted host, got {base_url!r}")
    return sub, domain


def clamp_start(start: datetime, now: datetime) -> int:
    """Epoch seconds for `start_time`, never within the minute Zendesk refuses, never negative."""
    return max(0, int(min(start, now - EXPORT_LAG).timestamp()))


def export_position(cursor: Cursor | None, now: datetime, overlap: timedelta) -> tuple[str, int | str]:
    """Where the ticket export resumes: ("cursor", after_cursor) when one was saved, else ("start_time", t).

    The saved `after_cursor` is exact (Zendesk keeps it valid after end_of_stream), so no overlap is needed;
    without one we start at the watermark minus the overlap, clamped out of the refused last minute.
    """
    if cursor is not None and cursor.token:
        return ("cursor", cursor.token)
    start = read_from(cursor, overlap)
    return ("start_time", 0 if start is None else clamp_start(start, now))


def resume_token(start_time: int, inner: str | None) -> str:
    """The token of a time-based read cut short at `start_time` (page cap, idle pages): the next read
    starts exactly there, not at watermark - overlap, so a backlog bigger than the overlap still advances.
    `inner` is the stream's own token (the event ids already sent), kept behind the position."""
    return f"{RESUME_PREFIX}{start_time};{inner or ''}"


def split_resume(token: str | None) -> tuple[int | None, str | None]:
    """(start_time to resume at or None, the stream's own token) from a saved token."""
    if not token or not token.startswith(RESUME_PREFIX):
        return None, token
    at, _, inner = token.removeprefix(RESUME_PREFIX).partition(";")
    return (int(at) if at.isdigit() else None), (inner or None)


def time_start(cursor: Cursor | None, now: datetime, overlap: timedelta) -> int:
    """`start_time` of a time-based read (organizations, ratings): where a read cut short stopped, else
    watermark - overlap, or 0 for a full read."""
    at, _ = split_resume(cursor.token if cursor is not None else None)
    if at is not None:  # an int, not a datetime: a hostile end_time can be past datetime's range
        return max(0, min(at, int((now - EXPORT_LAG).timestamp())))
    start = read_from(cursor, overlap)
    return 0 if start is None else clamp_start(start, now)


def event_start(cursor: Cursor | None, now: datetime, overlap: timedelta) -> tuple[int, frozenset[int]]:
    """Where the ticket event export resumes: (`start_time`, ids of events already delivered from there).

    The time-based export is re-read from watermark - overlap; the cursor's token lists the events of that
    window that were already delivered, so only new (or late-committed) events are sent on. A token from
    another format (e.g. an older cursor holding a ticket-export position) just means no ids are known.
    """
    start = time_start(cursor, now, overlap)
    _, token = split_resume(cursor.token if cursor is not None else None)
    if not token or not token.startswith(EVENT_CURSOR_PREFIX):
        return start, frozenset()
    raw = token.removeprefix(EVENT_CURSOR_PREFIX)
    return start, frozenset(int(part) for part in raw.split(",") if part.isdigit())


def event_token(recent: Mapping[int, int], latest: int, overlap: timedelta) -> str:
    """The cursor token after a page: ids of the delivered events the next read will re-read (those at or
    after `latest` - overlap, newest first, at most EVENT_CURSOR_MAX_IDS)."""
    floor = latest - int(overlap.total_seconds())
    window = sorted((i for i, t in recent.items() if t >= floor), key=lambda i: (-recent[i], -i))
    return EVENT_CURSOR_PREFIX + ",".join(str(i) for i in window[:EVENT_CURSOR_MAX_IDS])


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def update_many_body(rows: Sequence[tuple[int, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """`organizations` items for PUT /organizations/update_many.json: id + organization_fields."""
    return [{"id": org, "organization_fields": dict(values)} for org, values in rows]


def poll_delays(max_polls: int, first: float = 1.0, cap: float = 8.0) -> list[float]:
    """Sleeps before each job-status poll: 1, 2, 4, 8, 8 … seconds (bounded by `max_polls`)."""
    out: list[float] = []
    delay = first
    for _ in range(max_polls):
        out.append(delay)
        delay = min(cap, delay * 2)
    return out
