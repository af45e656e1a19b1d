"""Sync cursors: an opaque per-stream position plus the watermark rules every adapter shares (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """Where a stream's next incremental read starts.

    `watermark` is the modification time up to which everything was committed; `token` is a vendor
    position (a Zendesk `after_cursor`, a last-seen id for HubSpot tie-breaks) or None.
    """

    watermark: datetime | None = None
    token: str | None = None

    def dumps(self) -> str:
        return json.dumps(
            {"watermark": self.watermark.isoformat() if self.watermark else None, "token": self.token}
        )

    @classmethod
    def loads(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        data = json.loads(raw)
        wm = data.get("watermark")
        return cls(watermark=datetime.fromisoformat(wm) if wm else None, token=data.get("token"))


DEFAULT_OVERLAP = timedelta(minutes=5)


def read_from(cursor: Cursor | None, overlap: timedelta = DEFAULT_OVERLAP) -> datetime | None:
    """Start of the next read: the watermark minus the overlap window (late commits are re-read)."""
    if cursor is None or cursor.watermark is None:
        return None
    return cursor.watermark - overlap


def advance(max_seen: datetime | None, sync_start: datetime, previous: datetime | None) -> datetime | None:
    """The new watermark: never past the sync's own start, never backwards."""
    candidates = [t for t in (max_seen, previous) if t is not None]
    if not candidates:
        return None
    return min(max(candidates), sync_start)
