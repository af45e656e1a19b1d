"""HubSpot adapter: incremental reads by windowed keyset search, deletes from archived lists, score write-back.

Read plan per stream (search.py explains the choices and their measured cost):
1. each object type of the stream:
   - incremental (a watermark exists): search `modified in [watermark - overlap, upper]`,
     `hs_object_id > last_id`, 200 a page, `upper` frozen at the sync's start (kept in the cursor token, so a
     resumed read covers the same window); deals/tickets/comments/surveys resolve their company/ticket with
     one v4 association batch read per page; contacts use `associatedcompanyid` (no extra call);
   - full read: the same search for companies/contacts; list pages with inline associations (100 a page)
     for the streams that need associations.
2. companies/contacts/deals/tickets: `archived=true` list pages, rows archived since the last listing →
   `deleted=True`; every row on a full read (so a re-sync learns old deletes); on incremental reads at most
   every `deletes_interval_minutes` (default 60), since each listing costs a call even when it is empty.
3. a last empty page carries the new watermark (`min(max modified seen, upper)`, never backwards) and, in
   its token, when archived rows were last listed and which records of the next read's overlap window were
   delivered (delivered.py): an incremental read skips those before any association lookup, so an idle
   sync costs one search per object type.
Every page's cursor is safe to save once that page is committed; a crash resumes from the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar, TypeVar

from integrations import skips
from integrations.base import CheckReport, Page, Problem, Stream
from integrations.cursors import DEFAULT_OVERLAP, Cursor, advance, read_from
from integrations.errors import (
    FatalIntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    ReauthRequiredError,
)
from integrations.hubspot import mapping, search, tasks, writeback
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.delivered import Delivered, stamp
from integrations.hubspot.errors import BatchRejectedError, ConflictError
from integrations.hubspot.history import HistoryReader
from integrations.hubspot.mapping import HubRecord, Settings
from integrations.hubspot.names import Names
from integrations.records import FieldChange, Record, ScoreWrite, WriteResult
from integrations.registry import Connection
from integrations.retry import Reach, RetryPolicy, call_with_retry
from integrations.skips import UNREADABLE
from integrations.tasks import TaskClose, TaskCreate, TaskResult

logger = logging.getLogger(__name__)
T = TypeVar("T")
VENDOR = "hubspot"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSpec:
    object_types: tuple[str, ...]
    links: tuple[str, ...] = ()  # association targets resolved per page
    archived: bool = False  # read archived=true lists for deletes


SPECS: dict[Stream, StreamSpec] = {
    Stream.ACCOUNTS: StreamSpec(object_types=("companies",), archived=True),
    Stream.CONTACTS: StreamSpec(object_types=("contacts",), archived=True),
    Stream.DEALS: StreamSpec(object_types=("deals",), links=("companies",), archived=True),
    Stream.TICKETS: StreamSpec(object_types=("tickets",), links=("companies",), archived=True),
    Stream.COMMENTS: StreamSpec(object_types=("emails", "notes"), links=("tickets",)),
    Stream.SURVEYS: StreamSpec(object_types=("feedback_submissions",), links=("companies", "tickets")),
}
MODIFIED = {"contacts": "lastmodifieddate"}  # every other type: hs_lastmodifieddate
# Stream.ACCOUNT_HISTORY reads companies too (history.py): the accounts scope covers it.
READ_SCOPES = {
    Stream.ACCOUNTS: "crm.objects.companies.read",
    Stream.CONTACTS: "crm.objects.contacts.read",
    Stream.DEALS: "crm.objects.deals.read",
    Stream.TICKETS: "tickets",
    Stream.SURVEYS: "crm.objects.feedback_submissions.read",
}
WRITE_SCOPES = ("crm.objects.companies.write", "crm.schemas.companies.write")
Links = dict[str, dict[str, list[str]]]


def _modified(object_type: str) -> str:
    return MODIFIED.get(object_type, "hs_lastmodifieddate")


def _first(links: Links, to_type: str, rec_id: str) -> str | None:
    ids = links.get(to_type, {}).get(rec_id) or []
    return ids[0] if ids else None


def _updated_at(record: Record) -> datetime | None:
    return getattr(record, "updated_at", None) or getattr(record, "created_at", None)


def _newest(records: Sequence[Record], current: datetime | None) -> datetime | None:
    stamps = [t for t in (_updated_at(r) for r in records) if t is not None]
    return max([*stamps, *([current] if current else [])], default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    """One stream read: what it covers (`since`..`upper`, frozen) and where it resumes."""

    stream: Stream
    spec: StreamSpec
    since: datetime | None
    upper: datetime
    previous: datetime | None
    position: search.Position | None
    deletes_checked: int | None = None  # epoch ms of the last archived listing
    deletes_since: datetime | None = None  # archived rows from here on are new deletes
    delivered: Delivered  # records of the overlap already delivered (skipped), and those delivered now

    @property
    def upper_ms(self) -> int:
        return search.epoch_ms(self.upper)


class HubSpotAdapter:
    """Reads one HubSpot portal and writes our company properties back to it."""

    vendor: ClassVar[str] = VENDOR
    streams: ClassVar[frozenset[Stream]] = frozenset({*SPECS, Stream.ACCOUNT_HISTORY})

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._tokens = connection.tokens
        self._settings = Settings.from_mapping(connection.settings)
        self._client = HubSpotClient(connection)
        self._policy = RetryPolicy()
        self._reach = Reach(connection.base_url)  # a refusal before any answer fails the pass at once
        self._overlap: timedelta = DEFAULT_OVERLAP
        self._page = min(connection.page_size or search.SEARCH_PAGE, search.SEARCH_PAGE)
        self.refreshes = 0
        self._names = Names(self._client, self._call)
        self._history = HistoryReader(
            self._client,
            self._call,
            self._settings,
            clock=connection.clock,
            overlap=self._overlap,
            search_page=self._page,
            history_page=connection.page_size or search.HISTORY_PAGE,
        )

    @property
    def api_calls(self) -> int:
        """HTTP requests made so far (retries and token refreshes included)."""
        return self._client.api_calls

    # --- tokens and calls ------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Refresh grant; the new token set is saved before it is used (HubSpot may rotate the refresh token).

        Raises:
            ReauthRequiredError: no refresh token, or HubSpot refused it.
        """
        refresh_token = self._tokens.refresh_token
        if not refresh_token:
            raise ReauthRequiredError(VENDOR, "no refresh token stored")
        response = call_with_retry(
            lambda: self._client.refresh(refresh_token),
            vendor=VENDOR,
            refresh=None,
            sleep=self._conn.sleep,
            reach=self._reach,
        )
        self._tokens = self._tokens.rotated(response, self._conn.clock())
        self._conn.save_tokens(self._tokens)
        self._client.set_access_token(self._tokens.access_token)
        self.refreshes += 1
        logger.info("refreshed the HubSpot access token", extra={"vendor": VENDOR})

    def _call(self, fn: Callable[[], T]) -> T:
        if self._tokens.needs_refresh(self._conn.clock()):
            self._refresh()
        return call_with_retry(
            fn,
            vendor=VENDOR,
            refresh=self._refresh,
            sleep=self._conn.sleep,
            policy=self._policy,
            reach=self._reach,
        )

    # --- read ------------------------------------------------------------------------------------------

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        """Pages of changed (and deleted) records since `cursor`; see the module docstring for the plan.

        Raises:
            MalformedResponseError: a page could not be read (no page is yielded for it: cursor untouched).
            PermissionDeniedError, ReauthRequiredError, QuotaExhaustedError, TransientError (retries spent).
        """
        if stream is Stream.ACCOUNT_HISTORY:
            yield from self._history.read(cursor)
            return
        spec = SPECS[stream]
        token = cursor.token if cursor else None
        position = search.Position.loads(token)
        upper = search.from_epoch_ms(position.upper) if position else self._conn.clock()
        since = read_from(cursor, self._overlap)
        checked = search.deletes_checked(token)
        w = _Window(
            stream=stream,
            spec=spec,
            since=since,
            upper=upper,
            previous=cursor.watermark if cursor else None,
            position=position,
            deletes_checked=checked,
            # Rows archived since the last listing (less the overlap) are the new deletes.
            deletes_since=search.from_epoch_ms(checked) - self._overlap
            if checked is not None and since
            else since,
            # A fresh full read re-sends everything, so it starts knowing nothing delivered; a resumed one
            # knows what its committed pages sent.
            delivered=Delivered(
                search.seen(token) if since is not None or position is not None else {},
                since=since,
                upper=upper,
                previous=cursor.watermark if cursor else None,
                overlap=self._overlap,
            ),
        )
        max_seen: datetime | None = None
        for phase in range(position.phase if position else 0, len(spec.object_types)):
            # A full read of a stream that needs associations is cheaper from list pages, which carry
            # them inline (search.py, "Cost"); everything else is a windowed keyset search.
            use_list = w.since is None and bool(spec.links)
            seen = yield from (self._list_phase(w, phase) if use_list else self._search_phase(w, phase))
            max_seen = max([t for t in (max_seen, seen) if t is not None], default=None)
        w.delivered.saw(max_seen)
        if self._deletes_due(w):
            yield from self._read_archived(w)
            checked = w.upper_ms
        token_out = search.finished_token(checked, w.delivered.snapshot(finished=True))
        final = Cursor(watermark=advance(max_seen, upper, w.previous), token=token_out)
        yield Page(stream=stream, records=[], cursor=final)

    def _deletes_due(self, w: _Window) -> bool:
        """List archived rows on full reads, on resumed reads that had not finished them, and otherwise at
        most every `deletes_interval_minutes` (each listing costs a call even when nothing was deleted)."""
        if not w.spec.archived:
            return False
        if w.position is not None:
            return w.position.phase <= len(w.spec.object_types)
        if w.since is None or w.deletes_checked is None:
            return True
        interval = timedelta(minutes=self._settings.deletes_interval_minutes)
        return w.upper - search.from_epoch_ms(w.deletes_checked) >= interval

    def _search_phase(self, w: _Window, phase: int) -> Generator[Page, None, datetime | None]:
        object_type = w.spec.object_types[phase]
        last_id = w.position.last_id if w.position and phase == w.position.phase else None
        max_seen: datetime | None = None
        asked: set[str] = set()
        while True:
            body = search.window_search(
                modified_property=_modified(object_type),
                since=w.since,
                upper=w.upper,
                after_id=last_id,
                properties=self._properties(object_type),
                limit=self._page,
            )
            page = self._call(partial(self._client.search, object_type, body))
            if not page.records:
                if page.unreadable:  # nothing to take the next keyset id from: cannot page past it
                    raise MalformedResponseError(
                        VENDOR, f"{object_type}: a search page of only id-less objects"
                    )
                return max_seen
            records, unreadable = self._map_fresh(w, object_type, page.records)
            last_id = search.onward(asked, page.records[-1].id, object_type)
            max_seen = _newest(records, max_seen)
            w.delivered.saw(max_seen)
            done = page.next_after is None  # HubSpot omits paging on the last page
            # The last page's cursor points at the next phase, so a resume does not repeat this one.
            yield _page(
                w,
                records,
                phase + int(done),
                last_id=None if done else last_id,
                unreadable=page.unreadable + unreadable,
            )
            if done:
                return max_seen

    def _list_phase(self, w: _Window, phase: int) -> Generator[Page, None, datetime | None]:
        object_type = w.spec.object_types[phase]
        after = w.position.after if w.position and phase == w.position.phase else None
        max_seen: datetime | None = None
        asked: set[str] = set()
        while True:
            page = self._call(
                partial(
                    self._client.list_page,
                    object_type,
                    after=after,
                    properties=self._properties(object_type),
                    archived=False,
                    associations=w.spec.links,
                    limit=search.LIST_PAGE,
                )
            )
            records, unreadable = self._map_fresh(w, object_type, page.records, inline=True)
            max_seen = _newest(records, max_seen)
            w.delivered.saw(max_seen)
            done = page.next_after is None
            yield _page(
                w, records, phase + int(done), after=page.next_after, unreadable=page.unreadable + unreadable
            )
            if done:
                return max_seen
            after = search.onward(asked, page.next_after, object_type)

    def _read_archived(self, w: _Window) -> Iterator[Page]:
        object_type = w.spec.object_types[0]
        phase = len(w.spec.object_types)
        after = w.position.after if w.position and w.position.phase == phase else None
        asked: set[str] = set()
        while True:
            page = self._call(
                partial(
                    self._client.list_page,
                    object_type,
                    after=after,
                    properties=[_modified(object_type)],
                    archived=True,
                    limit=search.LIST_PAGE,
                )
            )
            since = w.deletes_since
            fresh = [
                r
                for r in page.records
                if since is None or (r.archived_at is not None and r.archived_at >= since)
            ]
            records, unreadable = skips.map_each(
                VENDOR, f"archived {object_type}", partial(self._deleted, w.stream), fresh
            )
            done = page.next_after is None
            yield _page(
                w, records, phase + int(done), after=page.next_after, unreadable=page.unreadable + unreadable
            )
            if done:
                return
            after = search.onward(asked, page.next_after, object_type)

    def _properties(self, object_type: str) -> list[str]:
        return {
            "companies": self._settings.company_properties(),
            "contacts": mapping.CONTACT_PROPERTIES,
            "deals": mapping.DEAL_PROPERTIES,
            "tickets": mapping.TICKET_PROPERTIES,
            "emails": mapping.EMAIL_PROPERTIES,
            "notes": mapping.NOTE_PROPERTIES,
            "feedback_submissions": mapping.FEEDBACK_PROPERTIES,
        }[object_type]

    def _links(self, object_type: str, to_types: Sequence[str], ids: list[str]) -> Links:
        return {to: self._call(partial(self._client.associations, object_type, to, ids)) for to in to_types}

    def _map_fresh(
        self, w: _Window, object_type: str, recs: list[HubRecord], *, inline: bool = False
    ) -> tuple[list[Record], int]:
        """Map the records not delivered before (same id and modification time): skipped ones cost no
        association lookup, so a re-read page of the overlap that holds nothing new costs only its search.

        A record whose modification time (or another value the mapping needs) cannot be read is skipped on
        its own and logged (integrations.skips): failing the page failed the stream on every pass. Its
        time is unknown, so it never moves the cursor. Returns (records, how many were skipped)."""
        modified = _modified(object_type)
        readable: list[HubRecord] = []
        bad = 0
        for r in recs:
            try:
                stamp(r, modified)
            except UNREADABLE as exc:
                skips.skipped(VENDOR, object_type, r, exc)
                bad += 1
            else:
                readable.append(r)
        fresh = [r for r in readable if not w.delivered.has(object_type, r, modified)]
        records, unmapped = self._map(w.stream, object_type, fresh, inline=inline) if fresh else ([], 0)
        w.delivered.add(object_type, readable, modified)
        return records, bad + unmapped

    def _map(
        self, stream: Stream, object_type: str, recs: list[HubRecord], *, inline: bool = False
    ) -> tuple[list[Record], int]:
        to_types = SPECS[stream].links
        if inline:  # list pages carried the associations
            links: Links = {to: {r.id: list(r.links.get(to, ())) for r in recs} for to in to_types}
        else:
            links = self._links(object_type, to_types, [r.id for r in recs])
        mapped, bad = skips.map_each(
            VENDOR, object_type, partial(self._one, stream, object_type, links), recs
        )
        out = [r for r in mapped if r is not None]
        return (self._names.apply(out) if stream in (Stream.ACCOUNTS, Stream.DEALS) else out), bad

    def _one(self, stream: Stream, object_type: str, links: Links, r: HubRecord) -> Record | None:
        """One HubSpot object as its record (None: not one the product uses)."""
        s = self._settings
        if stream is Stream.ACCOUNTS:
            return mapping.to_account(r, s)
        if stream is Stream.CONTACTS:
            return mapping.to_contact(r)
        if stream is Stream.DEALS:
            return mapping.to_deal(r, _first(links, "companies", r.id), s)
        if stream is Stream.TICKETS:
            return mapping.to_ticket(r, _first(links, "companies", r.id), s)
        if stream is Stream.COMMENTS:
            ticket = _first(links, "tickets", r.id)
            # e-mails/notes not on a ticket are sales activity, not support
            return mapping.to_comment(r, object_type, ticket) if ticket is not None else None
        return mapping.to_survey(r, _first(links, "companies", r.id), _first(links, "tickets", r.id))

    def _deleted(self, stream: Stream, r: HubRecord) -> Record:
        s = self._settings
        if stream is Stream.ACCOUNTS:
            return mapping.to_account(r, s)
        if stream is Stream.CONTACTS:
            return mapping.to_contact(r)
        if stream is Stream.DEALS:
            return mapping.to_deal(r, None, s)
        return mapping.to_ticket(r, None, s)

    # --- fields ----------------------------------------------------------------------------------------

    def ensure_fields(self) -> list[FieldChange]:
        """Create the `healthscore` group and our company properties where missing (idempotent).

        Raises:
            PermissionDeniedError: the install lacks `crm.schemas.companies.write` (named in `.missing`).
        """
        s = self._settings
        if s.property_group not in self._call(lambda: self._client.group_names("companies")):
            try:
                self._call(lambda: self._client.create_group("companies", s.property_group, "Health score"))
            except ConflictError:
                logger.info("property group exists already (created concurrently)")
        existing = self._call(lambda: self._client.property_names("companies"))
        changes: list[FieldChange] = []
        for prop in mapping.SCORE_PROPERTIES:
            action: str = "exists"
            if prop.name not in existing:
                definition = mapping.property_definition(prop, s)
                try:
                    self._call(partial(self._client.create_property, "companies", definition))
                    action = "created"
                except ConflictError:
                    action = "exists"  # HubSpot answers 409 for an existing property
            changes.append(FieldChange(key=prop.key, vendor_name=prop.name, action=action))  # type: ignore[arg-type]
        return changes

    # --- write -----------------------------------------------------------------------------------------

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteResult]:
        """Batch-update company properties, ≤ 100 a call; per-row results in the order of `writes`
        (207 rows refused individually; a whole-batch 400 split until the bad rows stand alone)."""
        rows: list[writeback.Row] = [
            (i, {"id": w.account_external_id, "properties": mapping.score_properties(w.values)})
            for i, w in enumerate(writes)
        ]

        def send(inputs: list[dict[str, object]]) -> writeback.BatchOutcome:
            return self._call(lambda: self._client.batch_update("companies", inputs))

        results = writeback.write_rows(rows, send)
        return [results[i] for i in range(len(writes))]

    # --- play tasks (tasks.py builds the inputs) ---------------------------------------------------------

    def create_tasks(self, items: Sequence[TaskCreate]) -> list[TaskResult]:
        """Tasks for each company's owner, associated with the company: per ≤ 100 one batch read of the
        owners and one batch create; one TaskResult per task, in order."""
        out: list[TaskResult] = []
        for chunk in search.chunks(list(items), search.BATCH_LIMIT):
            out.extend(self._create_tasks(list(chunk)))
        return out

    def _create_tasks(self, chunk: list[TaskCreate]) -> list[TaskResult]:
        ids = sorted({t.account_external_id for t in chunk if t.account_external_id.isdigit()})
        found = self._call(lambda: self._client.batch_read("companies", ids, [tasks.OWNER])) if ids else []
        live = {c.id for c in found}
        owners = tasks.owners(found)
        results = {
            t.key: TaskResult(key=t.key, ok=False, error_code="NO_COMPANY", message="company not found")
            for t in chunk
            if t.account_external_id not in live
        }
        send = [t for t in chunk if t.account_external_id in live]
        results.update(self._create(send, owners))
        return [results[t.key] for t in chunk]

    def _create(self, send: list[TaskCreate], owners: dict[str, str]) -> dict[str, TaskResult]:
        if not send:
            return {}
        inputs = [tasks.task_input(t, owners.get(t.account_external_id)) for t in send]
        try:
            made = self._call(lambda: self._client.batch_create("tasks", inputs))
        except BatchRejectedError as exc:  # one bad input refuses the batch: split until it stands alone
            if len(send) == 1:
                return {
                    send[0].key: TaskResult(
                        key=send[0].key, ok=False, error_code=exc.code, message=exc.detail
                    )
                }
            mid = len(send) // 2
            return {**self._create(send[:mid], owners), **self._create(send[mid:], owners)}
        by_trace = {trace: oid for oid, trace in made if trace}
        if not by_trace and len(made) == len(send):  # no trace ids echoed: HubSpot kept the order
            by_trace = {t.key: oid for t, (oid, _) in zip(send, made, strict=True)}
        return {
            t.key: TaskResult(key=t.key, ok=True, external_id=by_trace[t.key])
            if t.key in by_trace
            else TaskResult(
                key=t.key,
                ok=False,
                error_code="NOT_CONFIRMED",
                message="absent from the response",
                retryable=True,
            )
            for t in send
        }

    def close_tasks(self, items: Sequence[TaskClose]) -> list[TaskResult]:
        """hs_task_status=COMPLETED through batch updates of ≤ 100; one TaskResult per task, in order."""
        rows: list[writeback.Row] = [(i, tasks.close_input(t)) for i, t in enumerate(items)]

        def send(inputs: list[dict[str, object]]) -> writeback.BatchOutcome:
            return self._call(lambda: self._client.batch_update("tasks", inputs))

        done = writeback.write_rows(rows, send)
        return [
            TaskResult(
                key=t.key,
                ok=done[i].ok,
                external_id=t.task_external_id,
                error_code=done[i].error_code,
                message=done[i].message,
                retryable=done[i].retryable,
            )
            for i, t in enumerate(items)
        ]

    # --- check -----------------------------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Token valid, scopes granted (token info), our company properties present."""
        try:
            return self._check()
        except ReauthRequiredError as exc:
            return CheckReport(
                vendor=VENDOR, ok=False, problems=(Problem(message=exc.detail, hint=exc.hint),)
            )

    def _token_scopes(self) -> list[str]:
        try:
            return self._call(self._client.token_scopes)
        except FatalIntegrationError:
            # Token info answers 404 for a token HubSpot no longer knows (expired, revoked): refresh once.
            self._refresh()
            return self._call(self._client.token_scopes)

    def _check(self) -> CheckReport:
        problems: list[Problem] = []
        scopes = self._token_scopes()
        for scope in [*READ_SCOPES.values(), *WRITE_SCOPES]:
            if scope not in scopes:
                problems.append(
                    Problem(message=f"scope {scope} not granted", hint=f"Reconnect HubSpot granting {scope}.")
                )
        missing: tuple[str, ...] = ()
        try:
            names = self._call(lambda: self._client.property_names("companies"))
            missing = tuple(p.name for p in mapping.SCORE_PROPERTIES if p.name not in names)
        except PermissionDeniedError as exc:
            problems.append(Problem(message=exc.detail, hint=exc.hint))
        if missing:
            problems.append(
                Problem(
                    message=f"{len(missing)} healthscore properties missing on companies",
                    hint="Run field setup (ensure_fields) from Admin → Integrations.",
                )
            )
        return CheckReport(
            vendor=VENDOR,
            ok=not problems,
            problems=tuple(problems),
            missing_fields=missing,
            granted_scopes=tuple(scopes),
        )

    def close(self) -> None:
        self._client.close()


ADAPTER = HubSpotAdapter


def _page(
    w: _Window,
    records: Sequence[Record],
    phase: int,
    *,
    last_id: str | None = None,
    after: str | None = None,
    unreadable: int = 0,
) -> Page:
    """A page of the window's stream whose cursor resumes at `phase` (keyset `last_id` or list `after`)."""
    pos = search.Position(
        phase=phase,
        upper=w.upper_ms,
        last_id=last_id,
        after=after,
        deletes_checked=w.deletes_checked,
        seen=w.delivered.snapshot(),
    )
    return Page(
        stream=w.stream,
        records=records,
        cursor=Cursor(watermark=w.previous, token=pos.dumps()),
        unreadable=unreadable,
    )
