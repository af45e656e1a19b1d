"""Salesforce adapter: incremental reads by SystemModstamp with queryAll, Tooling fields, Collections writes."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from integrations import skips
from integrations.adopt import rotated_elsewhere
from integrations.base import CheckReport, Page, Problem, Stream
from integrations.cursors import Cursor, advance, read_from
from integrations.errors import (
    IntegrationError,
    MalformedResponseError,
    PermissionDeniedError,
    ReauthRequiredError,
)
from integrations.oauth import ADOPT_ATTEMPTS, TokenSet
from integrations.records import SCORE_FIELDS, FieldChange, Record, ScoreWrite, WriteResult
from integrations.registry import Connection
from integrations.retry import Reach, call_with_retry
from integrations.salesforce import errors, mapping, queries, tasks
from integrations.salesforce.client import SalesforceClient
from integrations.skips import UNREADABLE
from integrations.tasks import TaskClose, TaskCreate, TaskResult

logger = logging.getLogger(__name__)

VENDOR = "salesforce"
COLLECTION_LIMIT = 200  # sObject Collections accept at most 200 records per call
MIN_BATCH = 200  # Sforce-Query-Options batchSize range is 200..2000
# How far back the first read of AccountHistory goes: a backtest scores dates up to a year back and needs
# the value in force before the first of them (a monthly field changes at least a month earlier). The API
# keeps history for up to 24 months, but every first pass of every tenant would pay for the rest.
HISTORY_LOOKBACK = timedelta(days=400)
HISTORY_HINT = (
    "Turn on field history tracking for {fields} in Setup (Object Manager → Account → Fields & "
    "Relationships → Set History Tracking) and give the integration user read access to Account history."
)
T = TypeVar("T")


class SalesforceAdapter:
    """Reads one Salesforce org and writes health scores back to its Accounts."""

    vendor: ClassVar[str] = VENDOR
    streams: ClassVar[frozenset[Stream]] = frozenset(Stream)

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._tokens = connection.tokens
        self._fmap = mapping.field_map(connection.settings)
        self._client = SalesforceClient(connection, self._tokens)
        # a refusal before any answer fails the pass at once
        self._reach = Reach(self._tokens.instance_url or connection.base_url)

    @property
    def api_calls(self) -> int:
        """HTTP calls made so far (API and token endpoint)."""
        return self._client.calls

    # ---- calls, retries, tokens ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        if self._tokens.needs_refresh(self._conn.clock()):
            self._refresh()
        refresh = self._refresh if self._tokens.refresh_token else None
        return call_with_retry(fn, vendor=VENDOR, refresh=refresh, sleep=self._conn.sleep, reach=self._reach)

    def _refresh(self) -> None:
        """Refresh grant; the new token set (rotated refresh token included) is saved before anything else.

        Raises:
            ReauthRequiredError: no refresh token, or Salesforce refused it (revoked/expired: invalid_grant).
        """
        # With refresh-token rotation on (an app setting), a grant revokes the token it used: another process
        # holding this installation's pair may have rotated it since this adapter read it (security audit 11).
        if self._adopt_stored() and not self._tokens.needs_refresh(self._conn.clock()):
            return
        token = self._tokens.refresh_token
        if not token:
            raise ReauthRequiredError(VENDOR, "access token refused and no refresh token stored")
        try:
            body = call_with_retry(
                lambda: self._client.refresh_grant(token),
                vendor=VENDOR,
                refresh=None,
                sleep=self._conn.sleep,
                reach=self._reach,
            )
        except ReauthRequiredError:
            # revoked, or spent a moment ago by another process that is storing the rotated pair
            if not self._adopt_stored(attempts=ADOPT_ATTEMPTS):
                raise
            return
        new = self._tokens.rotated(body, self._conn.clock())
        self._conn.save_tokens(new)
        self._tokens = new
        self._client.use_tokens(new)
        logger.info("salesforce access token refreshed", extra={"vendor": VENDOR})

    def _adopt_stored(self, attempts: int = 1) -> bool:
        """Take the installation's stored tokens when another process rotated the pair; True when taken."""
        stored = rotated_elsewhere(self._conn.load_tokens, self._tokens, self._conn.sleep, VENDOR, attempts)
        if stored is None:
            return False
        self._tokens = stored
        self._client.use_tokens(stored)
        return True

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    # ---- read ---------------------------------------------------------------------------------------------

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]:
        """Pages of `stream` changed since the cursor (minus the overlap), deletes included.

        Each Page.cursor is safe to save once that page is committed; it never passes the sync start.
        Streams over two objects (comments: CaseComment, then EmailMessage) only advance during the last
        one, so a crash in the first repeats it rather than skipping the second.

        Raises:
            QuotaExhaustedError: REQUEST_LIMIT_EXCEEDED; pages already yielded stay valid.
            MalformedResponseError: a page not shaped as documented; the cursor stays where it was.
        """
        sync_start = self._conn.clock()
        since = read_from(cursor)
        previous = cursor.watermark if cursor else None
        objects = mapping.objects_for(stream, self._fmap)
        for index, sobject in enumerate(objects):
            last = index == len(objects) - 1
            fields = mapping.select_fields(sobject, self._fmap)
            if sobject == mapping.HISTORY_OBJECT:
                yield from self._read_history(fields, since, sync_start, previous)
                continue
            soql = queries.incremental(sobject, fields, since, sync_start)
            yield from self._read_object(stream, sobject, soql, sync_start, previous, advance_cursor=last)

    def _read_history(
        self, fields: list[str], since: datetime | None, sync_start: datetime, previous: datetime | None
    ) -> Iterator[Page]:
        """AccountHistory rows of the mapped metric fields, by CreatedDate (a first read looks back
        HISTORY_LOOKBACK). An org whose integration user cannot query AccountHistory skips the stream with
        a hint instead of failing the pass: the rest of the sync does not need it.

        Rows stay as they were written, so a history row of an Account deleted later is not read again
        (the Account's own delete comes with the accounts stream)."""
        tracked = list(dict.fromkeys(self._fmap.metric_fields.values()))
        hint = HISTORY_HINT.format(fields=", ".join(tracked))
        start = since if since is not None else sync_start - HISTORY_LOOKBACK
        soql = queries.field_history(mapping.HISTORY_OBJECT, fields, tracked, start, sync_start)
        read = 0
        try:
            for page in self._read_object(
                Stream.ACCOUNT_HISTORY,
                mapping.HISTORY_OBJECT,
                soql,
                sync_start,
                previous,
                advance_cursor=True,
            ):
                read += len(page.records) + page.unreadable
                yield page
        except errors.UnknownObjectError as exc:
            raise PermissionDeniedError(
                VENDOR, f"{mapping.HISTORY_OBJECT} is not readable: {exc.detail}", hint=hint
            ) from exc
        if since is None and not read:
            # Not an error (an org may not have changed the fields yet), but the usual cause is tracking off.
            logger.info(
                "salesforce %s: no changes of %s in the last %d days. %s",
                mapping.HISTORY_OBJECT,
                ", ".join(tracked),
                HISTORY_LOOKBACK.days,
                hint,
                extra={"vendor": VENDOR},
            )

    def _batch_size(self) -> int | None:
        size = self._conn.page_size
        return None if size is None else max(MIN_BATCH, size)

    def _read_object(
        self,
        stream: Stream,
        sobject: str,
        soql: str,
        sync_start: datetime,
        previous: datetime | None,
        *,
        advance_cursor: bool,
    ) -> Iterator[Page]:
        batch = self._batch_size()
        result = self._call(lambda: self._client.query(soql, include_deleted=True, batch_size=batch))
        max_seen = previous
        asked: set[str] = set()
        while True:
            rows, done, next_url = _page_parts(result)
            records, stamps, unreadable = self._map_rows(sobject, rows)
            max_seen = max([s for s in (max_seen, *stamps) if s is not None], default=None)
            if not advance_cursor:
                watermark = previous
            elif done:
                # The query's upper bound was the sync start, so everything up to it has been read.
                watermark = advance(sync_start, sync_start, previous)
            else:
                watermark = advance(max_seen, sync_start, previous)
            yield Page(
                stream=stream,
                records=records,
                cursor=Cursor(watermark=watermark) if watermark else None,
                unreadable=unreadable,
            )
            if done or next_url is None:
                return
            if next_url in asked:  # a page pointing back at one read already would loop forever
                raise MalformedResponseError(VENDOR, f"{sobject}: nextRecordsUrl points back at a page read")
            asked.add(next_url)
            result = self._call(functools.partial(self._client.query_more, next_url))

    def _map_rows(self, sobject: str, rows: list[Any]) -> tuple[list[Record], list[datetime], int]:
        """(records, their cursor stamps (mapping.modstamp), rows skipped). A row without a readable Id or
        stamp (or another required value) is skipped on its own and logged: failing the page failed the
        stream on every pass. A skipped row's stamp is not known, so it never moves the cursor."""
        records: list[Record] = []
        stamps: list[datetime] = []
        unreadable = 0
        for row in rows:
            try:
                record = mapping.to_record(sobject, row, self._fmap)
                stamp = mapping.modstamp(sobject, row)
            except UNREADABLE as exc:
                skips.skipped(VENDOR, sobject, row, exc)
                unreadable += 1
                continue
            stamps.append(stamp)
            if record is not None:
                records.append(record)
        return records, stamps, unreadable

    # ---- check / fields -----------------------------------------------------------------------------------

    def _describe_fields(self, sobject: str) -> dict[str, Mapping[str, Any]]:
        desc = self._call(lambda: self._client.describe(sobject))
        fields = desc.get("fields") if isinstance(desc, dict) else None
        if not isinstance(fields, list):
            raise MalformedResponseError(VENDOR, f"describe {sobject} without a field list")
        return {str(f.get("name")): f for f in fields if isinstance(f, dict)}

    def check(self) -> CheckReport:
        """Credentials work, mapped Account fields exist, and our score fields exist and are writable."""
        scopes = tuple((self._tokens.scope or "").split())
        try:
            fields = self._describe_fields("Account")
        except IntegrationError as exc:
            problem = Problem(message=exc.detail, hint=exc.hint)
            return CheckReport(vendor=VENDOR, ok=False, problems=(problem,), granted_scopes=scopes)
        problems = self._survey_problems()
        for name in mapping.account_fields(self._fmap):
            if name not in fields:
                problems.append(
                    Problem(
                        message=f"Account.{name} (from the field mapping) does not exist",
                        hint="Fix the Salesforce field mapping or grant the integration user read access to it.",
                    )
                )
        missing = [api for api in self._fmap.score_fields.values() if api not in fields]
        for key in SCORE_FIELDS:
            api = self._fmap.score_fields[key]
            if api in fields and not fields[api].get("updateable"):
                problems.append(
                    Problem(
                        message=f"Account.{api} is not writable by the integration user",
                        hint=f"Grant Edit field-level security on Account.{api} to the integration user.",
                    )
                )
        if missing:
            problems.append(
                Problem(message=f"missing Account fields: {', '.join(missing)}", hint="Run the field setup.")
            )
        return CheckReport(
            vendor=VENDOR,
            ok=not problems,
            problems=tuple(problems),
            missing_fields=tuple(missing),
            granted_scopes=scopes,
        )

    def _survey_problems(self) -> list[Problem]:
        """The configured survey object and its mapped fields exist (none configured: nothing to check)."""
        sobject = self._fmap.survey_object
        if not sobject:
            return []
        hint = "Set survey_object (or null) and survey_fields in the Salesforce settings to match your org."
        try:
            fields = self._describe_fields(sobject)
        except IntegrationError as exc:
            return [Problem(message=f"survey object {sobject} is not readable: {exc.detail}", hint=hint)]
        missing = [f for f in self._fmap.survey_fields.values() if f not in fields]
        if missing:
            return [Problem(message=f"{sobject} lacks fields: {', '.join(missing)}", hint=hint)]
        return []

    def ensure_fields(self) -> list[FieldChange]:
        """Create our Account custom fields through the Tooling API; fields that exist are left alone.

        Raises:
            PermissionDeniedError: the user lacks "Customize Application" (named in `missing`).
        """
        existing = {name.lower() for name in self._describe_fields("Account")}
        changes: list[FieldChange] = []
        for key in SCORE_FIELDS:
            api = self._fmap.score_fields[key]
            if api.lower() in existing:
                changes.append(FieldChange(key=key, vendor_name=api, action="exists"))
                continue
            meta = mapping.FIELD_METADATA[key]
            try:
                created = self._call(
                    functools.partial(self._client.create_custom_field, f"Account.{api}", meta)
                )
            except PermissionDeniedError as exc:
                raise PermissionDeniedError(
                    VENDOR,
                    f"creating Account.{api} was refused: {exc.detail}",
                    missing="Customize Application",
                    hint="Give the integration user the 'Customize Application' permission, or have an admin "
                    f"create Account.{api} ({meta['type']}).",
                ) from exc
            changes.append(FieldChange(key=key, vendor_name=api, action="created" if created else "exists"))
        return changes

    # ---- write-back ---------------------------------------------------------------------------------------

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteResult]:
        """Update Accounts in sObject Collections of ≤200 (allOrNone=false): one WriteResult per write, in order.

        A collection refused as a whole for its content (e.g. JSON_PARSER_ERROR from one bad value) is split
        in halves and retried until the offending rows are isolated.
        """
        results: list[WriteResult] = []
        for start in range(0, len(writes), COLLECTION_LIMIT):
            results.extend(self._write_chunk(writes[start : start + COLLECTION_LIMIT]))
        return results

    def _write_chunk(self, chunk: Sequence[ScoreWrite]) -> list[WriteResult]:
        records = [mapping.score_record(w, self._fmap) for w in chunk]
        try:
            saved = self._call(lambda: self._client.update_collection(records, all_or_none=False))
        except errors.BatchRejectedError as exc:
            if len(chunk) == 1:
                return [
                    WriteResult(
                        account_external_id=chunk[0].account_external_id,
                        ok=False,
                        error_code=exc.code,
                        message=exc.detail,
                    )
                ]
            mid = len(chunk) // 2
            return self._write_chunk(chunk[:mid]) + self._write_chunk(chunk[mid:])
        if not isinstance(saved, list) or len(saved) != len(chunk):
            raise MalformedResponseError(
                VENDOR, "composite update returned a result list of the wrong length"
            )
        return [_write_result(w, r) for w, r in zip(chunk, saved, strict=True)]

    # ---- play tasks (tasks.py builds the records) ------------------------------------------------------

    def create_tasks(self, items: Sequence[TaskCreate]) -> list[TaskResult]:
        """Tasks on the Accounts, each assigned to its Account's current owner: per ≤200 tasks one owners
        query and one collection create (allOrNone=false); one TaskResult per task, in order."""
        results: list[TaskResult] = []
        for start in range(0, len(items), COLLECTION_LIMIT):
            results.extend(self._create_tasks(items[start : start + COLLECTION_LIMIT]))
        return results

    def _create_tasks(self, chunk: Sequence[TaskCreate]) -> list[TaskResult]:
        ids = sorted({t.account_external_id for t in chunk if tasks.valid_id(t.account_external_id)})
        owners: dict[str, str] = {}
        if ids:
            page = self._call(
                lambda: self._client.query(tasks.owners_query(ids), include_deleted=False, batch_size=None)
            )
            owners = tasks.owner_map(_page_parts(page)[0])
        out: dict[int, TaskResult] = {}
        send: list[tuple[int, dict[str, Any]]] = []
        for n, t in enumerate(chunk):
            owner = owners.get(t.account_external_id)
            if owner is None:  # deleted or unknown Account: a task there would land on the integration user
                out[n] = TaskResult(key=t.key, ok=False, error_code="NO_ACCOUNT", message="Account not found")
            else:
                send.append((n, tasks.task_record(t, owner)))
        out.update(self._save(send, [t.key for t in chunk], create=True))
        return [out[n] for n in range(len(chunk))]

    def close_tasks(self, items: Sequence[TaskClose]) -> list[TaskResult]:
        """Status=Completed on each Task through collection updates of ≤200; one TaskResult per task."""
        results: list[TaskResult] = []
        for start in range(0, len(items), COLLECTION_LIMIT):
            chunk = items[start : start + COLLECTION_LIMIT]
            send = [(n, tasks.close_record(t)) for n, t in enumerate(chunk)]
            done = self._save(send, [t.key for t in chunk], create=False)
            results.extend(done[n] for n in range(len(chunk)))
        return results

    def _save(
        self, rows: Sequence[tuple[int, dict[str, Any]]], keys: Sequence[str], *, create: bool
    ) -> dict[int, TaskResult]:
        """One collection call for `rows` (position, record); a collection refused whole is split."""
        if not rows:
            return {}
        records = [r for _, r in rows]
        call = self._client.create_collection if create else self._client.update_collection
        try:
            saved = self._call(lambda: call(records, all_or_none=False))
        except errors.BatchRejectedError as exc:
            if len(rows) == 1:
                n = rows[0][0]
                return {n: TaskResult(key=keys[n], ok=False, error_code=exc.code, message=exc.detail)}
            mid = len(rows) // 2
            return {
                **self._save(rows[:mid], keys, create=create),
                **self._save(rows[mid:], keys, create=create),
            }
        if not isinstance(saved, list) or len(saved) != len(rows):
            raise MalformedResponseError(VENDOR, "composite call returned a result list of the wrong length")
        out: dict[int, TaskResult] = {}
        for (n, _), r in zip(rows, saved, strict=True):
            res = _write_result(ScoreWrite(account_external_id=keys[n], values={}), r)
            rid = r.get("id") if isinstance(r, Mapping) else None
            out[n] = TaskResult(
                key=keys[n],
                ok=res.ok,
                external_id=str(rid) if res.ok and rid else None,
                error_code=res.error_code,
                message=res.message,
                retryable=res.retryable,
            )
        return out

    def close(self) -> None:
        self._client.close()


def _page_parts(result: Any) -> tuple[list[Any], bool, str | None]:
    """(records, done, nextRecordsUrl) of a query page, or MalformedResponseError."""
    if not isinstance(result, Mapping):
        raise MalformedResponseError(VENDOR, "query page is not an object")
    records, done, next_url = result.get("records"), result.get("done"), result.get("nextRecordsUrl")
    if not isinstance(records, list) or not isinstance(done, bool):
        raise MalformedResponseError(VENDOR, "query page without records/done")
    if not done and not isinstance(next_url, str):
        raise MalformedResponseError(VENDOR, "query page not done but without nextRecordsUrl")
    if not done and not _NEXT_RECORDS.fullmatch(str(next_url)):
        # simple_salesforce requests https://{instance}{nextRecordsUrl} with our token: "@host/…" or
        # ".host/…" would name another host.
        raise MalformedResponseError(VENDOR, "nextRecordsUrl is not a path of this org's data API")
    return records, done, next_url if isinstance(next_url, str) else None


_NEXT_RECORDS = re.compile(r"/services/data/[A-Za-z0-9._~/-]+")


def _write_result(write: ScoreWrite, saved: Any) -> WriteResult:
    if not isinstance(saved, Mapping):
        raise MalformedResponseError(VENDOR, "composite update result is not an object")
    if saved.get("success"):
        return WriteResult(account_external_id=write.account_external_id, ok=True)
    code, message = errors.first_error(saved.get("errors"))
    return WriteResult(
        account_external_id=write.account_external_id,
        ok=False,
        error_code=code,
        message=message,
        retryable=code in errors.RETRYABLE_ROW_CODES,
    )


ADAPTER = SalesforceAdapter
