"""Which records of the overlap window were already delivered, so a re-read skips them (pure).

An incremental read re-reads `[watermark - overlap, upper]` to catch late commits. Without memory, every
record in that window is sent again and, for streams that need associations, costs a v4 association batch
read per page even when nothing changed. The cursor token therefore keeps the (object type, id, modified
time) of delivered records that the next read will re-read; a record whose id *and* modification time
match one of them is skipped before any association lookup. A record modified again has a new time and is
delivered again. Old tokens without this memory just mean nothing is known (the record is re-sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from integrations.cursors import advance
from integrations.hubspot.mapping import HubRecord, parse_time

MAX_SEEN = 2000  # bound on the token's size; beyond it the oldest are merely re-sent


def key(object_type: str, rec_id: str) -> str:
    return f"{object_type}:{rec_id}"


def stamp(rec: HubRecord, modified_property: str) -> int | None:
    """The record's modification time in epoch ms (the same precedence mapping uses), None if unknown."""
    moment = parse_time(rec.properties.get(modified_property)) or rec.updated_at
    return int(moment.timestamp() * 1000) if moment is not None else None


class Delivered:
    """Delivered (key → modified ms) of one stream read, pruned to what the next read can re-read."""

    def __init__(
        self,
        known: Mapping[str, int],
        *,
        since: datetime | None,
        upper: datetime,
        previous: datetime | None,
        overlap: timedelta,
    ) -> None:
        self._stamps = dict(known)
        self._since = since
        self._upper = upper
        self._previous = previous
        self._overlap = overlap
        self._newest: datetime | None = None

    def has(self, object_type: str, rec: HubRecord, modified_property: str) -> bool:
        ms = stamp(rec, modified_property)
        return ms is not None and self._stamps.get(key(object_type, rec.id)) == ms

    def add(self, object_type: str, recs: Iterable[HubRecord], modified_property: str) -> None:
        for rec in recs:
            ms = stamp(rec, modified_property)
            if ms is not None:
                self._stamps[key(object_type, rec.id)] = ms

    def saw(self, newest: datetime | None) -> None:
        """The newest delivered modification so far: the final watermark is at least this (capped)."""
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest

    def floor_ms(self, *, finished: bool) -> int | None:
        """The earliest modification a read from this token re-reads. Mid-read, a resume repeats this
        read's window, from `since`; once finished, the next read starts at the new watermark less the
        overlap (at or after `since`). A full read (no `since`) resumes with a full read, which only needs
        what the finished token will keep: the floor rises as the read goes on."""
        if not finished and self._since is not None:
            return int(self._since.timestamp() * 1000)
        watermark = advance(self._newest, self._upper, self._previous)
        return None if watermark is None else int((watermark - self._overlap).timestamp() * 1000)

    def snapshot(self, *, finished: bool = False) -> dict[str, int]:
        """What to keep in the token now: entries at or after the floor, newest first, at most MAX_SEEN."""
        floor = self.floor_ms(finished=finished)
        kept = [(k, ms) for k, ms in self._stamps.items() if floor is None or ms >= floor]
        kept.sort(key=lambda item: (-item[1], item[0]))
        self._stamps = dict(kept[:MAX_SEEN])
        return dict(self._stamps)
