"""Stream.ACCOUNT_HISTORY: every value the mapped number metrics of companies (`metric_properties` of kind
number: active_users, licensed_seats ...) were set to, from HubSpot's `propertiesWithHistory`, one
MetricChangeRecord per value set.

Read plan and its cost (n companies, m of them modified since the watermark). A request that asks for
history may hold at most 50 objects (search.HISTORY_PAGE), and search results cannot carry history:
- first pass (no watermark): list pages with `propertiesWithHistory`, ⌈n/50⌉ calls; finding the companies
  by search first would add ⌈n/200⌉ calls for the same batch reads;
- incremental: the keyset search over `hs_lastmodifieddate` in [watermark - overlap, upper] the accounts
  stream uses (setting a value modifies its company), then batch reads of ≤ 50 of the ids found with
  `propertiesWithHistory`: ⌈m/200⌉ + ⌈m/50⌉ calls, where re-listing every company costs ⌈n/50⌉. Companies of
  the previous read's overlap delivered with the same modification time are skipped before their batch
  read (delivered.py), so an idle pass costs its one search.
An incremental read sends only the values set at or after the window start: older ones were sent before.
The watermark follows the companies' modification times (the search's dimension), as for accounts.
Deleted companies are the accounts stream's business: their history rows stay as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from integrations import skips
from integrations.base import Page, Stream
from integrations.cursors import Cursor, advance, read_from
from integrations.errors import MalformedResponseError
from integrations.hubspot import search
from integrations.hubspot.client import HubSpotClient, ObjectPage
from integrations.hubspot.delivered import Delivered, stamp
from integrations.hubspot.mapping import VENDOR, HubRecord, Settings, parse_decimal, parse_time
from integrations.records import MetricChangeRecord
from integrations.skips import UNREADABLE

T = TypeVar("T")
STREAM = Stream.ACCOUNT_HISTORY
COMPANIES = "companies"
MODIFIED = "hs_lastmodifieddate"
MAX_EXTERNAL_ID = 200  # metric_changes.external_id


class Caller(Protocol):
    """The adapter's call wrapper: token refresh, retries, the shared budget."""

    def __call__(self, fn: Callable[[], T]) -> T: ...


def history_properties(s: Settings) -> list[str]:
    """The mapped metric properties whose history is read: the number ones (a bool or date has no level
    a backtest could use as of a date)."""
    return [name for name, kind in s.metric_properties.items() if kind == "number"]


def external_id(company_id: str, prop: str, when: datetime) -> str:
    """Stable per value set: company:property:epoch ms; a property name too long for the column is hashed."""
    ms = int(when.timestamp() * 1000)
    out = f"{company_id}:{prop}:{ms}"
    if len(out) > MAX_EXTERNAL_ID:
        out = f"{company_id}:{hashlib.sha256(prop.encode()).hexdigest()[:40]}:{ms}"
    return out


def _value(text: str | None) -> tuple[bool, float | None]:
    """(usable, value): an empty value is a clear (None); a non-numeric or non-finite one is not a level."""
    if text is None or text == "":
        return True, None
    number = parse_decimal(text)
    if number is None or not number.is_finite():
        return False, None
    return True, float(number)


def to_changes(
    rec: HubRecord, props: Sequence[str], since: datetime | None
) -> tuple[list[MetricChangeRecord], int]:
    """One record per history entry of `props` set at or after `since` (None: all). An entry whose
    timestamp cannot be read is skipped and logged on its own. Returns (records, how many were skipped)."""
    out: list[MetricChangeRecord] = []
    bad = 0
    for prop in props:
        for entry in rec.history.get(prop, ()):
            try:
                when = parse_time(entry.timestamp)
                if when is None:
                    raise ValueError("a history entry without a timestamp")
            except UNREADABLE as exc:
                skips.skipped(VENDOR, f"{prop} history entry of company", rec, exc)
                bad += 1
                continue
            usable, value = _value(entry.value)
            if not usable or (since is not None and when < since):
                continue
            out.append(
                MetricChangeRecord(
                    vendor=VENDOR,
                    external_id=external_id(rec.id, prop, when),
                    account_external_id=rec.id,
                    metric=prop,
                    value=value,
                    changed_at=when,
                    updated_at=when,
                )
            )
    return out, bad


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    since: datetime | None
    upper: datetime
    previous: datetime | None
    position: search.Position | None
    delivered: Delivered


class HistoryReader:
    """Reads Stream.ACCOUNT_HISTORY for the adapter (its client, call wrapper, settings and clock)."""

    def __init__(
        self,
        client: HubSpotClient,
        call: Caller,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        overlap: timedelta,
        search_page: int,
        history_page: int,
    ) -> None:
        self._client = client
        self._call = call
        self._settings = settings
        self._clock = clock
        self._overlap = overlap
        self._search_page = search_page
        self._history_page = min(history_page, search.HISTORY_PAGE)

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        """Pages of metric changes since `cursor` (module docstring); every page's cursor resumes the read."""
        token = cursor.token if cursor else None
        position = search.Position.loads(token)
        since = read_from(cursor, self._overlap)
        previous = cursor.watermark if cursor else None
        upper = search.from_epoch_ms(position.upper) if position else self._clock()
        w = _Window(
            since=since,
            upper=upper,
            previous=previous,
            position=position,
            delivered=Delivered(
                search.seen(token) if since is not None or position is not None else {},
                since=since,
                upper=upper,
                previous=previous,
                overlap=self._overlap,
            ),
        )
        props = history_properties(self._settings)
        max_seen: datetime | None = None
        if props and (position is None or position.phase == 0):
            pages = self._list(w, props) if since is None else self._search(w, props)
            max_seen = yield from pages
        w.delivered.saw(max_seen)
        token_out = search.finished_token(None, w.delivered.snapshot(finished=True))
        yield Page(
            stream=STREAM,
            records=[],
            cursor=Cursor(watermark=advance(max_seen, upper, previous), token=token_out),
        )

    def _list(self, w: _Window, props: list[str]) -> Generator[Page, None, datetime | None]:
        after = w.position.after if w.position else None
        asked: set[str] = set()
        max_seen: datetime | None = None
        while True:
            page = self._call(
                partial(
                    self._client.list_page,
                    COMPANIES,
                    after=after,
                    properties=[MODIFIED],
                    archived=False,
                    history=props,
                    limit=self._history_page,
                )
            )
            readable, bad = self._readable(page.records)
            records, unreadable = self._changes(w, readable, props)
            w.delivered.add(COMPANIES, readable, MODIFIED)
            max_seen = _newest(readable, max_seen)
            w.delivered.saw(max_seen)
            done = page.next_after is None
            yield self._page(
                w, records, done, after=page.next_after, unreadable=page.unreadable + bad + unreadable
            )
            if done:
                return max_seen
            after = search.onward(asked, page.next_after, COMPANIES)

    def _search(self, w: _Window, props: list[str]) -> Generator[Page, None, datetime | None]:
        last_id = w.position.last_id if w.position else None
        asked: set[str] = set()
        max_seen: datetime | None = None
        while True:
            body = search.window_search(
                modified_property=MODIFIED,
                since=w.since,
                upper=w.upper,
                after_id=last_id,
                properties=[MODIFIED],
                limit=self._search_page,
            )
            page = self._call(partial(self._client.search, COMPANIES, body))
            if not page.records:
                if page.unreadable:  # nothing to take the next keyset id from: cannot page past it
                    raise MalformedResponseError(VENDOR, "companies: a search page of only id-less objects")
                return max_seen
            readable, bad = self._readable(page.records)
            fresh = [r.id for r in readable if not w.delivered.has(COMPANIES, r, MODIFIED)]
            records: list[MetricChangeRecord] = []
            unreadable = page.unreadable + bad
            for ids in search.chunks(fresh, self._history_page):
                got: ObjectPage = self._call(
                    partial(self._client.batch_read_history, COMPANIES, list(ids), [MODIFIED], props)
                )
                changes, skipped = self._changes(w, got.records, props)
                records.extend(changes)
                unreadable += got.unreadable + skipped
            w.delivered.add(COMPANIES, readable, MODIFIED)
            last_id = search.onward(asked, page.records[-1].id, COMPANIES)
            max_seen = _newest(readable, max_seen)
            w.delivered.saw(max_seen)
            done = page.next_after is None  # HubSpot omits paging on the last page
            yield self._page(w, records, done, last_id=None if done else last_id, unreadable=unreadable)
            if done:
                return max_seen

    @staticmethod
    def _readable(recs: list[HubRecord]) -> tuple[list[HubRecord], int]:
        """The records whose modification time can be read (the others are skipped and logged: their time
        is unknown, so they can neither be placed in the window nor move the cursor)."""
        out: list[HubRecord] = []
        bad = 0
        for r in recs:
            try:
                if stamp(r, MODIFIED) is None:
                    raise ValueError("no modification time")
            except UNREADABLE as exc:
                skips.skipped(VENDOR, COMPANIES, r, exc)
                bad += 1
            else:
                out.append(r)
        return out, bad

    @staticmethod
    def _changes(w: _Window, recs: list[HubRecord], props: list[str]) -> tuple[list[MetricChangeRecord], int]:
        out: list[MetricChangeRecord] = []
        bad = 0
        for r in recs:
            changes, skipped = to_changes(r, props, w.since)
            out.extend(changes)
            bad += skipped
        return out, bad

    @staticmethod
    def _page(
        w: _Window,
        records: Sequence[MetricChangeRecord],
        done: bool,
        *,
        last_id: str | None = None,
        after: str | None = None,
        unreadable: int = 0,
    ) -> Page:
        """A page whose cursor resumes after it (the last page's at phase 1: nothing left to read)."""
        pos = search.Position(
            phase=int(done),
            upper=search.epoch_ms(w.upper),
            last_id=None if done else last_id,
            after=None if done else after,
            seen=w.delivered.snapshot(),
        )
        return Page(
            stream=STREAM,
            records=records,
            cursor=Cursor(watermark=w.previous, token=pos.dumps()),
            unreadable=unreadable,
        )


def _newest(recs: Sequence[HubRecord], current: datetime | None) -> datetime | None:
    stamps = [search.from_epoch_ms(ms) for r in recs if (ms := stamp(r, MODIFIED)) is not None]
    return max([*stamps, *([current] if current else [])], default=None)
