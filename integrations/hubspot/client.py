"""The one module that imports hubspot-api-client: builds the SDK client from a Connection and turns its
models and exceptions into plain values and our errors.

- `HubSpot(access_token=…, host=connection.base_url, ssl_ca_cert=connection.ca_file, retry=False)`: the
  host/CA configuration points every API (oauth included) at a sandbox or api.hubapi.com, no patching.
- `retry=False` switches urllib3's default `Retry(total=3)` off: it would sleep through `Retry-After` on GETs
  with a real clock (sdk-wire.md §2.3). integrations.retry decides instead, with the injected sleep.
- Every call passes `_request_timeout=connection.timeout` (the SDK has none by default).
- The refresh grant goes to `connection.token_url` with requests (HubSpot moves the token endpoint from
  `/oauth/v1/token` to `/oauth/v3/token`; the URL stays configuration).
- `api_calls` counts HTTP requests made (retries and refreshes included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import SimpleNamespace
from typing import Any, TypeVar

import requests
from dateutil import parser as dateutil_parser
from hubspot import HubSpot

from integrations import skips
from integrations.errors import IntegrationError, MalformedResponseError, ca_file_missing
from integrations.hubspot import errors
from integrations.hubspot.mapping import HistoryEntry, HubRecord
from integrations.hubspot.writeback import BatchOutcome, RowError
from integrations.registry import Connection, metered_session

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectPage:
    """A page of objects and where the next one starts (None: this was the last)."""

    records: list[HubRecord]
    next_after: str | None
    total: int | None = None
    unreadable: int = 0  # objects of the page without an id or properties, skipped (logged)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _record(obj: Any) -> HubRecord:
    """An SDK SimplePublicObject as a HubRecord; a missing id or properties means the body was not an object."""
    oid = getattr(obj, "id", None)
    props = getattr(obj, "properties", None)
    if not oid or not isinstance(props, dict):
        raise MalformedResponseError(errors.VENDOR, "an object without id/properties in a result page")
    archived_at = _utc(getattr(obj, "archived_at", None))
    if archived_at is None and getattr(obj, "archived", False):
        archived_at = _utc(getattr(obj, "updated_at", None))
    links: dict[str, tuple[str, ...]] = {}
    for to_type, collection in (getattr(obj, "associations", None) or {}).items():
        links[str(to_type)] = tuple(str(a.id) for a in getattr(collection, "results", None) or [])
    return HubRecord(
        id=str(oid),
        properties={str(k): (None if v is None else str(v)) for k, v in props.items()},
        updated_at=_utc(getattr(obj, "updated_at", None)),
        archived_at=archived_at,
        links=links,
        history=_history(getattr(obj, "properties_with_history", None)),
    )


def _history(raw: Any) -> dict[str, tuple[HistoryEntry, ...]]:
    """`propertiesWithHistory` as sent, entries kept as text: an entry whose timestamp cannot be read is
    skipped where the entries are mapped (history.py), not the whole object."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, tuple[HistoryEntry, ...]] = {}
    for name, entries in raw.items():
        if isinstance(entries, list):
            out[str(name)] = tuple(_history_entry(e) for e in entries)
    return out


def _history_entry(e: Any) -> HistoryEntry:
    value, when = getattr(e, "value", None), getattr(e, "timestamp", None)
    return HistoryEntry(
        value=None if value is None else str(value),
        timestamp=when.isoformat() if isinstance(when, datetime) else when if isinstance(when, str) else None,
    )


def _records(response: Any) -> tuple[list[HubRecord], int]:
    """The page's objects as HubRecords; one without an id or properties is skipped and logged, not the
    whole page (that failed the stream on every pass). Returns (records, how many were skipped)."""
    out: list[HubRecord] = []
    bad = 0
    for obj in _results(response):
        try:
            out.append(_record(obj))
        except MalformedResponseError as exc:
            skips.skipped(errors.VENDOR, "object", obj, exc)
            bad += 1
    return out, bad


def _results(response: Any) -> list[Any]:
    results = getattr(response, "results", None)
    if not isinstance(results, list):
        # hubspot-api-client deserialises a wrong-shaped or truncated 200 into a model full of None
        # (client_side_validation is off), so the shape has to be checked here.
        raise MalformedResponseError(errors.VENDOR, "a 200 response without a results list")
    return results


# --- the read path's own JSON reading ------------------------------------------------------------------------
#
# The object reads (search, list pages, v4 association batches) ask the SDK for the raw response
# (`_preload_content=False`: the SDK still sends the request, and still raises its ApiException on a non-2xx)
# and read the JSON here into plain namespaces with the attribute names of the SDK models that `_record`,
# `_results` and `_next_after` read. The SDK's model deserialisation (a model per object, per association,
# every timestamp through dateutil) was ~7 % of the freshness benchmark's process (issue 17 profile).


def _body(response: Any) -> Any:
    """The JSON of an SDK call made with `_preload_content=False` (its urllib3 response); the connection goes
    back to the pool. A body that is not JSON (a cut-off page) raises ValueError: malformed, via _call."""
    try:
        raw = response.data
    finally:
        release = getattr(response, "release_conn", None)
        if callable(release):
            release()
    return json.loads(raw)


def _time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as the SDK reads it (HubSpot's `2024-01-31T09:30:00.123Z` on the fast path,
    dateutil for any other form it accepts); ValueError for one it cannot read, as the SDK raises."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        parsed: datetime = dateutil_parser.parse(value)
        return parsed


def _object(data: Any) -> Any:
    """One SimplePublicObject(WithAssociations) as the SDK model's attributes; a non-object stays as it is
    (`_record` skips it as unreadable)."""
    if not isinstance(data, dict):
        return data
    assoc = data.get("associations")
    history = data.get("propertiesWithHistory")
    return SimpleNamespace(
        id=data.get("id"),
        properties=data.get("properties"),
        properties_with_history={
            k: [
                SimpleNamespace(value=e.get("value"), timestamp=e.get("timestamp"))
                for e in v
                if isinstance(e, dict)
            ]
            for k, v in history.items()
            if isinstance(v, list)
        }
        if isinstance(history, dict)
        else None,
        updated_at=_time(data.get("updatedAt")),
        archived=data.get("archived"),
        archived_at=_time(data.get("archivedAt")),
        associations={
            str(k): SimpleNamespace(
                results=[
                    SimpleNamespace(id=a.get("id")) if isinstance(a, dict) else a
                    for a in (v.get("results") or [] if isinstance(v, dict) else [])
                ]
            )
            for k, v in assoc.items()
        }
        if isinstance(assoc, dict)
        else None,
    )


def _page_of(data: Any, item: Callable[[Any], Any] = _object) -> Any:
    """A collection response (`results`, `total`, `paging.next.after`) as the SDK model's attributes; a body
    without a results list keeps `results` None (`_results` refuses it)."""
    if not isinstance(data, dict):
        return SimpleNamespace(results=None, total=None, paging=None)
    results = data.get("results")
    paging = data.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    return SimpleNamespace(
        results=[item(o) for o in results] if isinstance(results, list) else None,
        total=data.get("total"),
        paging=SimpleNamespace(
            next=SimpleNamespace(after=nxt.get("after")) if isinstance(nxt, dict) else None
        ),
    )


def _association_row(data: Any) -> Any:
    """One v4 batch association row (`from.id`, `to[].toObjectId`) as the SDK model's attributes."""
    if not isinstance(data, dict):
        return data
    source = data.get("from")
    return SimpleNamespace(
        _from=SimpleNamespace(id=source.get("id")) if isinstance(source, dict) else None,
        to=[
            SimpleNamespace(to_object_id=t.get("toObjectId")) if isinstance(t, dict) else t
            for t in data.get("to") or []
        ],
    )


def _next_after(response: Any) -> str | None:
    paging = getattr(response, "paging", None)
    nxt = getattr(paging, "next", None) if paging is not None else None
    after = getattr(nxt, "after", None) if nxt is not None else None
    return str(after) if after else None


class HubSpotClient:
    """Thin typed calls over the SDK; each raises IntegrationError subclasses only."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._access_token = connection.tokens.access_token
        self._sdk: HubSpot | None = None
        self._apis: dict[str, Any] = {}
        # Same-origin redirects only (refresh grants); refuses to send when the CA file has gone.
        self._session = metered_session(None, errors.VENDOR, connection.ca_file)
        self._verify: str | bool = connection.ca_file or True
        self.api_calls = 0

    # --- plumbing --------------------------------------------------------------------------------------

    def set_access_token(self, token: str) -> None:
        """Use a new access token; SDK API objects copy the token, so they are rebuilt lazily."""
        self._access_token = token
        self._sdk = None
        self._apis.clear()

    def _api(self, name: str, build: Callable[[HubSpot], Any]) -> Any:
        if self._sdk is None:
            self._sdk = HubSpot(
                access_token=self._access_token,
                host=self._conn.base_url.rstrip("/"),
                ssl_ca_cert=self._conn.ca_file,
                retry=False,
            )
        if name not in self._apis:
            self._apis[name] = build(self._sdk)
        return self._apis[name]

    def _call(self, fn: Callable[[], T], *, writing: bool = False) -> T:
        self._before_call()
        self.api_calls += 1
        try:
            return fn()
        except IntegrationError:
            raise
        except Exception as exc:
            raise errors.from_exception(exc, writing=writing) from exc

    def _before_call(self) -> None:
        """The caller's shared budget (Connection.before_call): the SDK sends through urllib3, not a
        requests session, so each call charges here, once per HTTP request."""
        missing = ca_file_missing(errors.VENDOR, self._conn.ca_file)  # urllib3 would say a bare OSError
        if missing is not None:
            raise missing
        if self._conn.before_call is not None:
            self._conn.before_call()

    @property
    def _timeout(self) -> float:
        return self._conn.timeout

    # --- objects ---------------------------------------------------------------------------------------

    def search(self, object_type: str, body: Mapping[str, Any]) -> ObjectPage:
        """POST /crm/v3/objects/{type}/search with a plain dict body (sent as-is by the SDK)."""
        api = self._api("search", lambda h: h.crm.objects.search_api)
        response = self._call(
            lambda: _page_of(
                _body(
                    api.do_search(
                        object_type,
                        public_object_search_request=dict(body),
                        _request_timeout=self._timeout,
                        _preload_content=False,
                    )
                )
            )
        )
        records, unreadable = _records(response)
        total = getattr(response, "total", None)
        return ObjectPage(
            records=records,
            next_after=_next_after(response),
            total=total if isinstance(total, int) else None,
            unreadable=unreadable,
        )

    def list_page(
        self,
        object_type: str,
        *,
        after: str | None,
        properties: Sequence[str],
        archived: bool,
        associations: Sequence[str] = (),
        history: Sequence[str] = (),
        limit: int = 100,
    ) -> ObjectPage:
        """GET /crm/v3/objects/{type}?limit&after&properties&propertiesWithHistory&associations&archived
        (associations inline; with history, at most search.HISTORY_PAGE objects a page)."""
        api = self._api("basic", lambda h: h.crm.objects.basic_api)
        kwargs: dict[str, Any] = {"limit": limit, "properties": list(properties), "archived": archived}
        if associations:
            kwargs["associations"] = list(associations)
        if history:
            kwargs["properties_with_history"] = list(history)
        if after:
            kwargs["after"] = after
        response = self._call(
            lambda: _page_of(
                _body(
                    api.get_page(
                        object_type, _request_timeout=self._timeout, _preload_content=False, **kwargs
                    )
                )
            )
        )
        records, unreadable = _records(response)
        return ObjectPage(records=records, next_after=_next_after(response), unreadable=unreadable)

    def batch_update(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        """POST /crm/v3/objects/{type}/batch/update (≤ 100 inputs); a whole-batch 400 raises RecordRejectedError."""
        api = self._api("batch", lambda h: h.crm.objects.batch_api)
        body = {"inputs": [dict(i) for i in inputs]}
        response = self._call(
            lambda: api.update(
                object_type, batch_input_simple_public_object_batch_input=body, _request_timeout=self._timeout
            ),
            writing=True,
        )
        updated = frozenset(str(getattr(o, "id", "")) for o in _results(response))
        row_errors = []
        for err in getattr(response, "errors", None) or []:
            context = getattr(err, "context", None) or {}
            row_errors.append(
                RowError(
                    ids=tuple(str(i) for i in context.get("ids") or ()),
                    category=str(getattr(err, "category", "") or "VALIDATION_ERROR"),
                    message=str(getattr(err, "message", "") or "")[:300],
                )
            )
        return BatchOutcome(updated=updated, errors=tuple(row_errors))

    def batch_read(self, object_type: str, ids: Sequence[str], properties: Sequence[str]) -> list[HubRecord]:
        """POST /crm/v3/objects/{type}/batch/read (≤ 100 ids); ids HubSpot does not know are left out."""
        api = self._api("batch", lambda h: h.crm.objects.batch_api)
        body = {"inputs": [{"id": i} for i in ids], "properties": list(properties)}
        response = self._call(
            lambda: api.read(
                object_type,
                batch_read_input_simple_public_object_id=body,
                archived=False,
                _request_timeout=self._timeout,
            )
        )
        return [_record(o) for o in _results(response)]

    def batch_read_history(
        self, object_type: str, ids: Sequence[str], properties: Sequence[str], history: Sequence[str]
    ) -> ObjectPage:
        """POST /crm/v3/objects/{type}/batch/read with `propertiesWithHistory` (≤ search.HISTORY_PAGE ids;
        HubSpot refuses more with a 400): the objects with their history; unknown ids are left out (207)."""
        api = self._api("batch", lambda h: h.crm.objects.batch_api)
        body = {
            "inputs": [{"id": i} for i in ids],
            "properties": list(properties),
            "propertiesWithHistory": list(history),
        }
        response = self._call(
            lambda: _page_of(
                _body(
                    api.read(
                        object_type,
                        batch_read_input_simple_public_object_id=body,
                        archived=False,
                        _request_timeout=self._timeout,
                        _preload_content=False,
                    )
                )
            )
        )
        records, unreadable = _records(response)
        return ObjectPage(records=records, next_after=None, unreadable=unreadable)

    def batch_create(
        self, object_type: str, inputs: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str | None]]:
        """POST /crm/v3/objects/{type}/batch/create (≤ 100 inputs, sent as-is): (new id, objectWriteTraceId)
        per created object; a whole-batch 400 raises RecordRejectedError."""
        api = self._api("batch", lambda h: h.crm.objects.batch_api)
        body = {"inputs": [dict(i) for i in inputs]}
        response = self._call(
            lambda: api.create(
                object_type,
                batch_input_simple_public_object_batch_input_for_create=body,
                _request_timeout=self._timeout,
            ),
            writing=True,
        )
        out = []
        for o in _results(response):
            oid = getattr(o, "id", None)
            if not oid:
                raise MalformedResponseError(errors.VENDOR, "a created object without an id")
            trace = getattr(o, "object_write_trace_id", None)
            out.append((str(oid), str(trace) if trace else None))
        return out

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """POST /crm/v4/associations/{from}/{to}/batch/read: from id → associated ids (207 rows are skipped)."""
        if not ids:
            return {}
        api = self._api("assoc", lambda h: h.crm.associations.v4.batch_api)
        body = {"inputs": [{"id": i} for i in ids]}
        response = self._call(
            lambda: _page_of(
                _body(
                    api.get_page(
                        from_type,
                        to_type,
                        batch_input_public_fetch_associations_batch_request=body,
                        _request_timeout=self._timeout,
                        _preload_content=False,
                    )
                ),
                _association_row,
            )
        )
        out: dict[str, list[str]] = {}
        for row in _results(response):
            source = getattr(getattr(row, "_from", None), "id", None)
            if source is None:
                raise MalformedResponseError(errors.VENDOR, "an association row without from.id")
            out[str(source)] = [str(t.to_object_id) for t in getattr(row, "to", None) or []]
        return out

    # --- names people read ----------------------------------------------------------------------------

    def owners(self) -> dict[str, tuple[str, str | None]]:
        """Owner id → (display name, e-mail): GET /crm/v3/owners (100 a page; a portal has few owners)."""
        api = self._api("owners", lambda h: h.crm.owners.owners_api)
        out: dict[str, tuple[str, str | None]] = {}
        after: str | None = None
        asked: set[str] = set()
        while True:
            kwargs: dict[str, Any] = {"limit": 100, "archived": False}
            if after:
                kwargs["after"] = after
            page_args = dict(kwargs)
            response = self._call(partial(api.get_page, _request_timeout=self._timeout, **page_args))
            for o in _results(response):
                name = " ".join(
                    x for x in (getattr(o, "first_name", None), getattr(o, "last_name", None)) if x
                )
                email = getattr(o, "email", None)
                out[str(o.id)] = (name or str(email or o.id), str(email).lower() if email else None)
            after = _next_after(response)
            if not after:
                return out
            if after in asked:  # paging that points back would loop forever
                raise MalformedResponseError(errors.VENDOR, "owners: paging points back")
            asked.add(after)

    def stage_labels(self, object_type: str = "deals") -> dict[str, str]:
        """Stage id → label over every pipeline of `object_type`: GET /crm/v3/pipelines/{objectType}."""
        api = self._api("pipelines", lambda h: h.crm.pipelines.pipelines_api)
        response = self._call(lambda: api.get_all(object_type, _request_timeout=self._timeout))
        return {
            str(stage.id): str(stage.label)
            for pipeline in _results(response)
            for stage in getattr(pipeline, "stages", None) or []
        }

    # --- properties ------------------------------------------------------------------------------------

    def property_names(self, object_type: str) -> set[str]:
        api = self._api("props", lambda h: h.crm.properties.core_api)
        response = self._call(lambda: api.get_all(object_type, _request_timeout=self._timeout))
        return {str(p.name) for p in _results(response)}

    def group_names(self, object_type: str) -> set[str]:
        api = self._api("groups", lambda h: h.crm.properties.groups_api)
        response = self._call(lambda: api.get_all(object_type, _request_timeout=self._timeout))
        return {str(g.name) for g in _results(response)}

    def create_group(self, object_type: str, name: str, label: str) -> None:
        api = self._api("groups", lambda h: h.crm.properties.groups_api)
        body = {"name": name, "label": label, "displayOrder": -1}
        self._call(
            lambda: api.create(object_type, property_group_create=body, _request_timeout=self._timeout)
        )

    def create_property(self, object_type: str, definition: Mapping[str, Any]) -> None:
        api = self._api("props", lambda h: h.crm.properties.core_api)
        self._call(
            lambda: api.create(object_type, property_create=dict(definition), _request_timeout=self._timeout)
        )

    # --- OAuth -----------------------------------------------------------------------------------------

    def token_scopes(self) -> list[str]:
        """GET /oauth/v1/access-tokens/{token}: the scopes granted to the current access token."""
        api = self._api("token_info", lambda h: h.oauth.access_tokens_api)
        info = self._call(lambda: api.get(self._access_token, _request_timeout=self._timeout))
        return [str(s) for s in getattr(info, "scopes", None) or []]

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """The refresh grant (form-encoded POST to connection.token_url).

        Raises:
            ReauthRequiredError: the refresh token (or the app) is no longer accepted.
            TransientError / RateLimitError: retry later.
        """
        self._before_call()
        self.api_calls += 1
        form = {
            "grant_type": "refresh_token",
            "client_id": self._conn.client_id,
            "client_secret": self._conn.client_secret,
            "refresh_token": refresh_token,
        }
        try:
            # verify= per request: requests lets REQUESTS_CA_BUNDLE override a session-level `verify`.
            resp = self._session.post(
                self._conn.token_url, data=form, timeout=self._timeout, verify=self._verify
            )
        except IntegrationError:
            raise  # a redirect to another origin (integrations.redirects): not followed
        except requests.RequestException as exc:
            raise errors.from_exception(ConnectionError(type(exc).__name__)) from exc
        if resp.status_code != 200:
            raise errors.classify_token_error(resp.status_code, resp.text, dict(resp.headers))
        try:
            data = resp.json()
        except ValueError as exc:
            raise MalformedResponseError(errors.VENDOR, "token response is not JSON") from exc
        if not isinstance(data, dict) or not data.get("access_token"):
            raise MalformedResponseError(errors.VENDOR, "token response without access_token")
        return data

    def close(self) -> None:
        self._session.close()
        self._apis.clear()
        self._sdk = None
