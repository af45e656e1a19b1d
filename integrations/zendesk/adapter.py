"""Zendesk Support adapter: organizations, tickets with metric sets, comments, CSAT; organization-field write-back.

Streams and cursors:
- TICKETS: cursor-based incremental export (`start_time` on the first call, then only `cursor`), 1,000 a page,
  `include=metric_sets,users`. Each page's Cursor carries Zendesk's `after_cursor` (token) and the highest
  `generated_timestamp` seen, capped at the sync start (watermark). A saved token resumes exactly; without one
  the export starts at watermark - overlap, clamped out of the last minute Zendesk refuses.
- COMMENTS: the time-based ticket event export with `include=comment_events` (1,000 events a page), so a
  full read costs ⌈events/1000⌉ calls and an idle one 1. Its own cursor: watermark = newest event time
  (never past the sync start) and a token listing the events of the overlap window already sent; the next
  read starts at watermark - overlap and skips those. Roles come from the agent/admin list (one CBP call,
  made once per adapter and only when a page carried comments). Comments of tickets deleted later stay in
  the export (the ticket's own deletion arrives on TICKETS). The per-ticket comments endpoint is no longer
  read (client.comments stays for one-ticket reads).
- ACCOUNTS: time-based organization export from watermark - overlap; the watermark advances per page; page
  edges' repeats are dropped, and a second holding more than a page is read from the organization list
  (`_accounts`).
- SURVEYS: satisfaction ratings updated in [watermark - overlap, sync start]; the cursor moves on the last page.
Every export read is bounded per pass (security audit 4: an export that advanced its end_time one second a
page from 1970 held the worker for good): it stops after `max_export_pages` pages, or after IDLE_PAGES pages
in a row that brought nothing new, with a warning; each page's cursor is committed, and a time-based read cut
short saves where it stopped (`params.resume_token`), so the next pass continues there and a bulk import
bigger than one pass (or than the overlap window) still syncs fully over passes.
A record stamped in the future (clock skew, an import) is read and stored, but no page's cursor passes where
the read stands (the page's `end_time`; for the ticket export its last ticket's stamp) nor the sync start, and a
read cut short resumes no later than the sync start: a pass stopped after that page misses nothing next time.
Users' e-mail domains come from the `users` sideload of the ticket export (requester_email on TicketRecord), so
no separate users stream is read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Literal, TypeVar

from integrations import skips
from integrations.base import CheckReport, Page, Problem, Stream
from integrations.cursors import DEFAULT_OVERLAP, Cursor, advance
from integrations.errors import (
    FatalIntegrationError,
    IntegrationError,
    MalformedResponseError,
    RecordRejectedError,
)
from integrations.records import (
    AccountRecord,
    CommentRecord,
    FieldChange,
    Record,
    ScoreWrite,
    TicketRecord,
    WriteResult,
)
from integrations.registry import Connection
from integrations.skips import UNREADABLE
from integrations.tasks import TaskResult, TicketCreate
from integrations.zendesk import mapping
from integrations.zendesk import tasks as zd_tasks
from integrations.zendesk.client import ExportPage, ZendeskClient
from integrations.zendesk.params import (
    EXPORT_PAGE,
    EXPORT_PAGES_PER_READ,
    IDLE_PAGES,
    UPDATE_MANY_MAX,
    chunks,
    event_start,
    event_token,
    export_position,
    poll_delays,
    resume_token,
    time_start,
    update_many_body,
)

logger = logging.getLogger(__name__)
R = TypeVar("R")
_DONE = frozenset({"completed", "failed", "killed"})
SHOW_MANY_MAX = 100  # job ids per Show Many Job Statuses call
# The first job-status poll after a round of jobs: a round is one Show Many call whatever its size, so an
# early look is cheap, and jobs of 100 organizations are often done within a second (a first wait of 1 s
# was most of a 10k write-back's wait: 4 rounds). Then 0.5, 1, 2, 4, 8 … s: 14 polls wait ~80 s in all.
FIRST_POLL_S = 0.25
JOBS_AT_ONCE = 25  # update_many jobs in flight before they are polled (Zendesk keeps the last 100 jobs)
Rows = Sequence[tuple[int, dict[str, Any], ScoreWrite]]


class ZendeskAdapter:
    """Reads one Zendesk account and writes health scores into our organization fields."""

    vendor: ClassVar[str] = "zendesk"
    # Rows the write-back claims at a time: one polling round of update_many jobs (see write_scores).
    write_batch: ClassVar[int] = JOBS_AT_ONCE * UPDATE_MANY_MAX
    streams: ClassVar[frozenset[Stream]] = frozenset(
        {Stream.ACCOUNTS, Stream.TICKETS, Stream.COMMENTS, Stream.SURVEYS}
    )

    def __init__(
        self, connection: Connection, *, max_polls: int = 14, max_export_pages: int = EXPORT_PAGES_PER_READ
    ) -> None:
        self._conn = connection
        self._client = ZendeskClient(connection)
        self._settings: Mapping[str, Any] = connection.settings
        self._overlap = timedelta(
            seconds=float(self._settings.get("overlap_seconds", DEFAULT_OVERLAP.seconds))
        )
        self._page = min(connection.page_size or EXPORT_PAGE, EXPORT_PAGE)
        self._specs = mapping.field_specs(tuple(self._settings.get("bands", ("green", "yellow", "red"))))
        self._max_polls = max_polls
        self._max_pages = max(1, max_export_pages)
        self._agents: frozenset[int] | None = None  # agent/admin ids, looked up once when comments arrive
        # group id → name from the export's `groups` sideload; kept across pages (a page only sideloads the
        # groups of its own tickets, and people read "Billing", not "Group #26636584").
        self._groups: dict[str, str] = {}

    @property
    def api_calls(self) -> int:
        """HTTP calls made to Zendesk so far (token refreshes included)."""
        return self._client.api_calls

    # --------------------------------------------------------------------------------------------- read
    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        """Pages of `stream` changed since `cursor`; each page's cursor is safe to save once it is committed.

        Raises:
            IntegrationError: per the taxonomy; MalformedResponseError leaves the caller's cursor untouched.
        """
        sync_start = self._conn.clock()
        if stream is Stream.ACCOUNTS:
            return self._accounts(cursor, sync_start)
        if stream is Stream.TICKETS:
            return self._tickets(cursor, sync_start)
        if stream is Stream.COMMENTS:
            return self._comments(cursor, sync_start)
        if stream is Stream.SURVEYS:
            return self._surveys(cursor, sync_start)
        raise ValueError(f"zendesk does not supply {stream}")

    def _accounts(self, cursor: Cursor | None, sync_start: datetime) -> Iterator[Page]:
        """The time-based organization export, each organization version sent once.

        A time-based page ends at `end_time` (the last item's second) and the next page starts AT it, so
        the items of that second come again (Zendesk: exclude duplicates on your side): an organization
        already sent with the same `updated_at` is skipped. When the second a page starts at holds a whole page
        or more, the export answers `end_time == start_time` for as long as it is asked (a client that follows
        next_page loops: zendesk_api_client_rb #168, Estuary PR #2007). That second is then read from the
        organization list (cursor-based, 100 a page, no 10,000 cap), keeping the organizations whose
        `updated_at` falls in it, and the export goes on from the next second. An organization changed
        meanwhile has left that second for a later one, which the export still covers.
        """
        start = time_start(cursor, sync_start, self._overlap)
        watermark = cursor.watermark if cursor else None
        sent: dict[str, datetime] = {}  # organization id -> updated_at already sent, for seconds >= start
        pages = idle = 0
        while True:
            page = self._client.export_organizations(start, self._page)
            records, unreadable = _mapped("organization", mapping.organization, page.items)
            reached = _reached(_latest(r.updated_at for r in records), page.end_time)
            watermark = advance(reached, sync_start, watermark)
            fresh = _unsent(records, sent)
            # new: changed at or after the start asked for (all a real export returns) and not sent yet
            new = any(r.updated_at.timestamp() >= start for r in fresh)
            yield Page(
                stream=Stream.ACCOUNTS,
                records=fresh,
                cursor=Cursor(watermark=watermark),
                unreadable=unreadable,
            )
            if page.end_of_stream or not page.items:
                return
            if page.end_time is None or page.end_time < start:
                raise MalformedResponseError(self.vendor, f"organization export went back to {page.end_time}")
            if page.end_time == start:  # a whole page (or more) of organizations share the second `start`
                logger.info(
                    "zendesk organization export: more than a page at one second; reading it from the list",
                    extra={"vendor": self.vendor, "start_time": start},
                )
                for chunk in self._client.organizations():
                    listed, unreadable = _mapped("organization", mapping.organization, chunk)
                    found = [r for r in listed if int(r.updated_at.timestamp()) == start]
                    yield Page(
                        stream=Stream.ACCOUNTS,
                        records=_unsent(found, sent),
                        cursor=None,
                        unreadable=unreadable,
                    )
                start += 1
                watermark = advance(datetime.fromtimestamp(start - 1, UTC), sync_start, watermark)
                yield Page(stream=Stream.ACCOUNTS, records=[], cursor=Cursor(watermark=watermark))
            else:
                start = page.end_time
            sent = {k: v for k, v in sent.items() if v.timestamp() >= start}
            pages, idle = pages + 1, (0 if new else idle + 1)
            if self._cut_short(Stream.ACCOUNTS, pages, idle, start):
                resume = Cursor(watermark=watermark, token=resume_token(_until(start, sync_start), None))
                yield Page(stream=Stream.ACCOUNTS, records=[], cursor=resume)
                return

    def _export(self, cursor: Cursor | None, sync_start: datetime) -> Iterator[tuple[ExportPage, Cursor]]:
        position = export_position(cursor, sync_start, self._overlap)
        watermark = cursor.watermark if cursor else None
        asked: set[str] = set()
        pages = idle = 0
        while True:
            page = self._client.export_tickets(position, self._page)
            # an unreadable generated_timestamp just does not count for the watermark (the ticket's own
            # mapping decides whether the ticket is read)
            stamps = [_epoch(t.get("generated_timestamp")) for t in page.tickets]
            seen = _latest(s for s in stamps if s is not None)
            if not page.end_of_stream and stamps and stamps[-1] is not None:
                # the export is ordered by generated_timestamp: its last ticket is where the read stands
                seen = _reached(seen, int(stamps[-1].timestamp()))
            watermark = advance(seen, sync_start, watermark)
            token = page.after_cursor or (str(position[1]) if position[0] == "cursor" else None)
            yield page, Cursor(watermark=watermark, token=token)
            if page.end_of_stream:
                return
            if not page.after_cursor:
                raise MalformedResponseError(self.vendor, "ticket export page without after_cursor")
            if page.after_cursor in asked:  # an export pointing back would loop forever
                raise MalformedResponseError(self.vendor, "ticket export after_cursor points back")
            asked.add(page.after_cursor)
            position = ("cursor", page.after_cursor)
            pages, idle = pages + 1, (0 if page.tickets else idle + 1)
            if self._cut_short(Stream.TICKETS, pages, idle, page.after_cursor[:40]):
                return  # the page's cursor holds after_cursor: the next pass resumes exactly here

    def _tickets(self, cursor: Cursor | None, sync_start: datetime) -> Iterator[Page]:
        for page, next_cursor in self._export(cursor, sync_start):
            metrics = _by_id(page.metric_sets, "ticket_id")
            users = _users(page)
            # our own play tickets are not the customer's support signals (zd_tasks.is_play_ticket)
            theirs = [t for t in page.tickets if not zd_tasks.is_play_ticket(t)]
            ticket = partial(_ticket, metrics=metrics, users=users, settings=self._settings)
            records, unreadable = _mapped("ticket", ticket, theirs)
            self._groups.update(
                {
                    str(g["id"]): str(g["name"])
                    for g in page.groups
                    if g.get("id") is not None and g.get("name")
                }
            )
            records = [
                replace(r, group=self._groups.get(r.group, r.group)) if r.group else r for r in records
            ]
            yield Page(stream=Stream.TICKETS, records=records, cursor=next_cursor, unreadable=unreadable)

    def _comments(self, cursor: Cursor | None, sync_start: datetime) -> Iterator[Page]:
        start, delivered = event_start(cursor, sync_start, self._overlap)
        watermark = cursor.watermark if cursor else None
        latest = int(watermark.timestamp()) if watermark else 0
        # id -> timestamp of events already sent (the cursor's overlap window, then this read's), so page
        # edges (a time-based page starts AT the previous end_time) and the overlap re-read send nothing twice
        recent = dict.fromkeys(delivered, latest)
        pages = idle = 0
        while True:
            page = self._client.ticket_events(start, self._page)
            # an event whose id or timestamp cannot be read is skipped whole: its timestamp never reaches
            # the cursor (neither backwards nor past what was read)
            events, unreadable = _events(page.items)
            fresh = [(e, ts) for eid, ts, e in events if eid not in recent]
            pairs = mapping.comment_events([e for e, _ in fresh])
            new = any(ts >= start for _, ts in fresh)
            if pairs and self._agents is None:
                self._agents = self._client.agent_ids()  # once per adapter, only when comments arrived
            comment = partial(mapping.event_comment, agents=self._agents or frozenset())
            records, bad = _mapped("comment", comment, pairs)
            unreadable += bad
            for eid, ts, _ in events:  # re-read ones too: their stamp from the cursor was only the watermark
                recent[eid] = ts
            # a future-dated event (clock skew, an import) is sent, but the position stays where the read
            # is: never past the page's end_time nor the sync start (a later page may fail, and the next
            # pass starts from this page's cursor)
            reached = min(int(sync_start.timestamp()), page.end_time if page.end_time is not None else _NEVER)
            latest = max([latest, *(min(ts, reached) for _, ts, _ in events)])
            watermark = advance(
                datetime.fromtimestamp(latest, UTC) if latest else None, sync_start, watermark
            )
            token = event_token(recent, latest, self._overlap)
            recent = {i: t for i, t in recent.items() if t >= latest - self._overlap.total_seconds()}
            yield Page(
                stream=Stream.COMMENTS,
                records=records,
                cursor=Cursor(watermark=watermark, token=token),
                unreadable=unreadable,
            )
            if page.end_of_stream or not page.items:
                return
            if page.end_time is None or page.end_time <= start:
                # more than a page of events share one second: the time-based export would return the same
                # page forever; stop loudly instead of looping
                raise FatalIntegrationError(self.vendor, f"ticket event export stuck at start_time={start}")
            start = page.end_time
            pages, idle = pages + 1, (0 if new else idle + 1)
            if self._cut_short(Stream.COMMENTS, pages, idle, start):
                resume = Cursor(watermark=watermark, token=resume_token(_until(start, sync_start), token))
                yield Page(stream=Stream.COMMENTS, records=[], cursor=resume)
                return

    def _cut_short(self, stream: Stream, pages: int, idle: int, position: int | str) -> bool:
        """True when an export read has followed enough pages for this pass (logged with where it stops)."""
        if pages >= self._max_pages:
            why = f"its {pages}-page limit for one pass"
        elif idle >= IDLE_PAGES:
            why = f"{idle} pages in a row with nothing new"
        else:
            return False
        logger.warning(
            "zendesk %s export stopped at %s after %s; the next pass continues from there",
            stream.value,
            position,
            why,
            extra={"vendor": self.vendor, "stream": stream.value, "pages": pages},
        )
        return True

    def _surveys(self, cursor: Cursor | None, sync_start: datetime) -> Iterator[Page]:
        start = time_start(cursor, sync_start, self._overlap)
        watermark = cursor.watermark if cursor else None
        held: list[Record] | None = None
        held_bad = 0
        for chunk in self._client.satisfaction_ratings(start, int(sync_start.timestamp())):
            mapped, unreadable = _mapped("satisfaction rating", mapping.rating, chunk)
            ratings = [r for r in mapped if r is not None]
            watermark = advance(_latest(r.updated_at for r in ratings), sync_start, watermark)
            if held is not None:
                # CBP order is not a time order we can rely on: only the last page moves the cursor
                yield Page(stream=Stream.SURVEYS, records=held, cursor=None, unreadable=held_bad)
            held, held_bad = list(ratings), unreadable
        yield Page(
            stream=Stream.SURVEYS, records=held or [], cursor=Cursor(watermark=watermark), unreadable=held_bad
        )

    # ------------------------------------------------------------------------------------------- fields
    def ensure_fields(self) -> list[FieldChange]:
        """Create our organization fields that are missing (idempotent).

        Raises:
            PermissionDeniedError: the token lacks the write scope / the user is not an admin.
        """
        existing = {str(f.get("key")) for f in self._client.organization_fields()}
        changes = []
        for spec in self._specs:
            created = spec.key not in existing and self._create_field(spec)
            action: Literal["created", "exists"] = "created" if created else "exists"
            changes.append(FieldChange(key=spec.logical, vendor_name=spec.key, action=action))
        return changes

    def _create_field(self, spec: mapping.FieldSpec) -> bool:
        """POST one field; False when another run created it first ("Key has already been taken")."""
        try:
            self._client.create_organization_field(spec.payload())
        except RecordRejectedError:
            if spec.key not in {str(f.get("key")) for f in self._client.organization_fields()}:
                raise
            return False
        return True

    def check(self) -> CheckReport:
        """Token valid, write scope granted, our organization fields present."""
        problems: list[Problem] = []
        try:
            scopes = self._client.token_scopes()
            keys = {str(f.get("key")) for f in self._client.organization_fields()}
        except IntegrationError as exc:
            return CheckReport(
                vendor=self.vendor, ok=False, problems=(Problem(message=exc.detail, hint=exc.hint),)
            )
        if "write" not in scopes:
            problems.append(
                Problem(message="the Zendesk token has no write scope", hint="Reconnect Zendesk as an admin.")
            )
        missing = tuple(s.key for s in self._specs if s.key not in keys)
        return CheckReport(
            vendor=self.vendor,
            ok=not problems and not missing,
            problems=tuple(problems),
            missing_fields=missing,
            granted_scopes=scopes,
        )

    # -------------------------------------------------------------------------------------------- write
    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteResult]:
        """update_many in jobs of ≤ 100 organizations, polled to completion; one result per write, in order."""
        specs = {s.logical: s for s in self._specs}
        rows: list[tuple[int, dict[str, Any], ScoreWrite]] = []
        results: dict[int, WriteResult] = {}
        for n, write in enumerate(writes):
            if not write.account_external_id.isdigit():
                results[n] = _failed(write, "InvalidId", "not a Zendesk organization id")
                continue
            values = {
                specs[k].key: mapping.field_value(specs[k], v) for k, v in write.values.items() if k in specs
            }
            rows.append((n, values, write))
        # Jobs are submitted JOBS_AT_ONCE at a time and then polled together: Zendesk runs them in the
        # background while we wait, so a write-back of N organizations waits ~1 s per JOBS_AT_ONCE jobs, not
        # ≥ 1 s per job (20 jobs at 2,000 organizations waited 20 s one after another). Zendesk keeps only
        # the last 100 jobs' statuses, so far fewer than that are left in flight.
        pending: list[tuple[Rows, str]] = []
        for chunk in chunks(rows, UPDATE_MANY_MAX):
            submitted = self._submit(chunk)
            if isinstance(submitted, dict):
                results.update(submitted)
            else:
                pending.append((chunk, submitted))
            if len(pending) >= JOBS_AT_ONCE:
                results.update(self._collect(pending))
                pending = []
        if pending:
            results.update(self._collect(pending))
        return [results[n] for n in range(len(writes))]

    def _submit(self, rows: Rows) -> str | dict[int, WriteResult]:
        """The update_many job id, or the results already known when Zendesk refused the request."""
        body = update_many_body([(int(w.account_external_id), values) for _, values, w in rows])
        try:
            return self._client.update_many(body)
        except RecordRejectedError as exc:
            if len(rows) == 1:
                n, _, write = rows[0]
                return {n: _failed(write, "RecordInvalid", exc.detail)}
            # the whole request was refused for one bad record: split and retry to isolate it
            mid = len(rows) // 2
            return {**self._write_chunk(rows[:mid]), **self._write_chunk(rows[mid:])}

    def _write_chunk(self, rows: Rows) -> dict[int, WriteResult]:
        submitted = self._submit(rows)
        return submitted if isinstance(submitted, dict) else self._collect([(rows, submitted)])

    def _collect(self, pending: Sequence[tuple[Rows, str]]) -> dict[int, WriteResult]:
        done = self._poll_many([job_id for _, job_id in pending])
        out: dict[int, WriteResult] = {}
        for rows, job_id in pending:
            out.update(_job_results(rows, *done[job_id]))
        return out

    def create_tickets(self, items: Sequence[TicketCreate]) -> list[TaskResult]:
        """Tickets for the support lead via create_many jobs of ≤ 100, polled to completion; one
        TaskResult per ticket, in order (job results name the request index)."""
        out: list[TaskResult] = []
        for chunk in chunks(list(items), UPDATE_MANY_MAX):
            out.extend(self._create_tickets(list(chunk)))
        return out

    def _create_tickets(self, chunk: list[TicketCreate]) -> list[TaskResult]:
        bad = {t.key for t in chunk if not t.organization_external_id.isdigit()}
        send = [t for t in chunk if t.key not in bad]
        results = {
            k: TaskResult(key=k, ok=False, error_code="InvalidId", message="not a Zendesk organization id")
            for k in bad
        }
        if send:
            job_id = self._client.create_tickets([zd_tasks.ticket_payload(t) for t in send])
            status, items = self._poll(job_id)
            by_index = {int(i["index"]): i for i in items if isinstance(i.get("index"), int)}
            for n, t in enumerate(send):
                item = by_index.get(n)
                if status != "completed" or item is None:
                    results[t.key] = TaskResult(
                        key=t.key, ok=False, error_code=f"job_{status}", message="no result", retryable=True
                    )
                elif item.get("id") and not item.get("error"):
                    results[t.key] = TaskResult(key=t.key, ok=True, external_id=str(item["id"]))
                else:
                    results[t.key] = TaskResult(
                        key=t.key,
                        ok=False,
                        error_code=str(item.get("error") or "Failed"),
                        message=str(item.get("details") or "")[:300],
                    )
        return [results[t.key] for t in chunk]

    def _poll(self, job_id: str) -> tuple[str, list[dict[str, Any]]]:
        return self._poll_many([job_id])[job_id]

    def _poll_many(self, job_ids: Sequence[str]) -> dict[str, tuple[str, list[dict[str, Any]]]]:
        """Each job's final (status, results): one sleep per round, then one Show Many Job Statuses call per
        100 unfinished jobs (a call per job cost 25 calls a round; Zendesk counts them against the minute's
        budget). A job Zendesk no longer lists is polled again until the polls run out."""
        done: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        left = list(job_ids)
        for delay in poll_delays(self._max_polls, first=FIRST_POLL_S):
            self._conn.sleep(delay)
            for chunk in chunks(list(left), SHOW_MANY_MAX):
                for job_id, (status, items) in self._client.job_statuses(chunk).items():
                    if status in _DONE and job_id in left:
                        done[job_id] = (status, items)
                        left.remove(job_id)
            if not left:
                return done
        for job_id in left:
            logger.warning("zendesk job %s still running after %d polls", job_id, self._max_polls)
            done[job_id] = ("timeout", [])
        return done

    def close(self) -> None:
        self._client.close()


def _job_results(rows: Rows, status: str, items: list[dict[str, Any]]) -> dict[int, WriteResult]:
    """One WriteResult per row from an update_many job's final status and per-item results."""
    if status != "completed":
        return {
            n: _failed(w, f"job_{status}", "update job did not complete", retryable=True) for n, _, w in rows
        }
    by_id = {str(i.get("id")): i for i in items}
    out = {}
    for n, _, write in rows:
        item = by_id.get(write.account_external_id)
        if item is None:
            out[n] = _failed(
                write, "NoResult", "the job reported nothing for this organization", retryable=True
            )
        elif item.get("success") or item.get("status") in ("Updated", "Created"):
            out[n] = WriteResult(account_external_id=write.account_external_id, ok=True)
        else:
            code = str(item.get("error") or item.get("status") or "Failed")
            out[n] = _failed(write, code, str(item.get("errors") or item.get("details") or code))
    return out


def _failed(write: ScoreWrite, code: str, message: str, *, retryable: bool = False) -> WriteResult:
    return WriteResult(
        account_external_id=write.account_external_id,
        ok=False,
        error_code=code,
        message=message[:300],
        retryable=retryable,
    )


def _unsent(records: list[AccountRecord], sent: dict[str, datetime]) -> list[AccountRecord]:
    """The records not already sent in this read with the same updated_at (page edges repeat); marks them."""
    out: list[AccountRecord] = []
    for r in records:
        if sent.get(r.external_id) != r.updated_at:
            sent[r.external_id] = r.updated_at
            out.append(r)
    return out


def _latest(stamps: Iterator[datetime] | Any) -> datetime | None:
    values = list(stamps)
    return max(values) if values else None


_NEVER = 2**62  # no end_time: only the sync start bounds the position


def _reached(seen: datetime | None, end_time: int | None) -> datetime | None:
    """The newest stamp a page brought, but never past where the export says the read stands (its
    `end_time`, or for the ticket export its last ticket's stamp): a future-dated record inside the page
    is stored, and must not move the cursor past the records still to come (advance() caps at the sync
    start as well)."""
    if seen is None or end_time is None:
        return seen
    try:
        return min(seen, datetime.fromtimestamp(end_time, UTC))
    except UNREADABLE:  # an end_time out of datetime's range bounds nothing
        return seen


def _until(start: int, sync_start: datetime) -> int:
    """A read cut short resumes at `start`, never past the sync start (a future end_time would make the
    next pass skip what changed until then)."""
    return min(start, int(sync_start.timestamp()))


def _ticket(
    t: Mapping[str, Any],
    *,
    metrics: Mapping[int, Mapping[str, Any]],
    users: Mapping[int, Mapping[str, Any]],
    settings: Mapping[str, Any],
) -> TicketRecord:
    return mapping.ticket(t, metrics.get(int(t["id"])), users, settings)


def _comment(
    c: Mapping[str, Any], *, ticket: Mapping[str, Any], users: Mapping[int, Mapping[str, Any]]
) -> CommentRecord:
    return mapping.comment(c, ticket, users)


def _users(page: ExportPage) -> dict[int, Mapping[str, Any]]:
    return _by_id(page.users, "id")


def _by_id(items: Sequence[Mapping[str, Any]], key: str) -> dict[int, Mapping[str, Any]]:
    """Sideloaded items by their integer `key`; one whose key cannot be read is left out (its ticket is
    then read without it) rather than failing the page."""
    out: dict[int, Mapping[str, Any]] = {}
    for item in items:
        with contextlib.suppress(*UNREADABLE):
            if item.get(key) is not None:
                out[int(item[key])] = item
    return out


def _epoch(raw: Any) -> datetime | None:
    """Epoch seconds as a datetime; None when missing or unreadable (a string, out of datetime's range)."""
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw is not None else None
    except UNREADABLE:
        return None


def _events(items: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[int, int, Mapping[str, Any]]], int]:
    """(id, timestamp, event) of each ticket event whose id and timestamp can be read; how many could not
    (each logged). A missing timestamp reads as 0, as before: it never moves the cursor."""
    out: list[tuple[int, int, Mapping[str, Any]]] = []
    bad = 0
    for event in items:
        try:
            ts = int(event.get("timestamp") or 0)
            datetime.fromtimestamp(ts, UTC)  # in range: it may become the watermark
            out.append((int(event["id"]), ts, event))
        except UNREADABLE as exc:
            skips.skipped("zendesk", "ticket event", event, exc)
            bad += 1
    return out, bad


def _mapped(what: str, fn: Callable[[Any], R], items: Sequence[Any]) -> tuple[list[R], int]:
    """Map vendor JSON record by record: one with a missing or unparsable required field (id, timestamp)
    is skipped and logged (integrations.skips), not the whole page: that failed the stream on every pass.
    Returns (mapped, how many were skipped)."""
    return skips.map_each("zendesk", what, fn, items)


ADAPTER = ZendeskAdapter
