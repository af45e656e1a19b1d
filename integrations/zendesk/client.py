"""The one place that knows zenpy, URLs, the session, the CA file and timeouts for Zendesk.

How zenpy is configured, and why:
- `Zenpy(subdomain, domain, oauth_token, session=s)` with `split_host(base_url)`: zenpy always builds
  `https://{subdomain}.{domain}`, so `https://127.0.0.1:PORT` becomes subdomain "127", domain "0.0.1:PORT"
  and the response handlers' `api.base_url in response.request.url` check still matches (no URL rewriting).
- `session.verify = ca_file` with `session.trust_env = False` when a CA file is given: requests lets the
  REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE environment override a session's `verify`, which would ignore the sandbox CA.
- `ratelimit_budget=1`: on a 429 with Retry-After zenpy otherwise sleeps (real `time.sleep`) and retries in an
  unbounded loop. With a budget of 1 s it raises RatelimitBudgetExceeded before sleeping; a response hook on
  the session has already recorded the Retry-After, so OUR retry policy (integrations/retry.py) decides.
- No `proactive_ratelimit` (it also sleeps on its own) and our own session (zenpy then mounts no urllib3 retry
  adapter), so 5xx and timeouts also reach our policy. `disable_cache=True`: zenpy caches objects by id and would
  answer `organizations(id=…)` or `job_status(id=…)` without asking Zendesk.
- Page JSON: zenpy's object mapping has no `metric_set` type and drops sideloads from the generator's values,
  so CBP pages (the organization list among them) are read from the generator's page JSON
  (`_response_json`, the attribute its own pagination uses) in `_page_json`, and everything else stays in
  zenpy.
- The three bulk exports (tickets, ticket events, organizations: 1,000 records a page) go through zenpy's own
  request path, `api._get(api._build_url(api.endpoint.<export>(...)), raw_response=True)`: the same URL
  builder, session, 429 handling and status check as `tickets.incremental(...)` / `tickets.events(...)` /
  `organizations.incremental(...)`, minus the mapping of every record into zenpy objects, which we never
  used and which cost ~0.5 s per 1,000-record page (benchmarks/zendesk_sync.py; organizations ~0.25 s). Calling these (underscore) zenpy methods is configuration, not patching;
  tests/sandbox/test_zendesk_*.py pin that the public calls produce the same requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Organization, OrganizationField, Ticket

from integrations.adopt import rotated_elsewhere
from integrations.errors import IntegrationError, MalformedResponseError, ReauthRequiredError
from integrations.oauth import ADOPT_ATTEMPTS, TokenSet
from integrations.registry import Connection, metered_session
from integrations.retry import Reach, call_with_retry
from integrations.zendesk import errors as zerrors
from integrations.zendesk.params import TICKET_SIDELOADS, split_host

logger = logging.getLogger(__name__)
T = TypeVar("T")
VENDOR = "zendesk"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportPage:
    """One page of the cursor-based ticket export, as Zendesk sent it."""

    tickets: list[dict[str, Any]]
    metric_sets: list[dict[str, Any]]
    users: list[dict[str, Any]]
    after_cursor: str | None
    end_of_stream: bool
    groups: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimePage:
    """One page of a time-based incremental export (organizations)."""

    items: list[dict[str, Any]]
    end_time: int | None
    end_of_stream: bool


class ZendeskClient:
    """zenpy bound to one installation; every call goes through the retry policy and the error table."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self.tokens: TokenSet = connection.tokens
        self.api_calls = 0
        self.refreshes = 0
        self._retry_after: float | None = None
        self._reach = Reach(connection.base_url)  # a refusal before any answer fails the pass at once
        self._session = metered_session(
            connection.before_call, VENDOR, connection.ca_file
        )  # the budget, per request
        if connection.ca_file:
            self._session.verify = connection.ca_file
            self._session.trust_env = False
        self._session.hooks["response"].append(self._on_response)
        subdomain, domain = split_host(connection.base_url)
        self._zd = Zenpy(
            subdomain=subdomain,
            domain=domain,
            oauth_token=self.tokens.access_token,
            session=self._session,
            timeout=connection.timeout,
            ratelimit_budget=1,
            disable_cache=True,
        )

    # ------------------------------------------------------------------------------------------ plumbing
    def _on_response(self, response: requests.Response, *_args: Any, **_kw: Any) -> None:
        self.api_calls += 1
        if response.status_code == 429:
            raw = response.headers.get("Retry-After")
            try:
                self._retry_after = float(raw) if raw is not None else None
            except ValueError:
                self._retry_after = None

    def call(self, fn: Callable[[], T], *, scope: str = "read scope") -> T:
        """Run one zenpy call under the retry policy, refreshing ahead of expiry and once on a 401.

        Raises:
            IntegrationError: the classified error once the policy gives up.
        """
        if self.tokens.needs_refresh(self._conn.clock()):
            self.refresh()
        refresh = self.refresh if self.tokens.refresh_token else None
        return call_with_retry(
            lambda: self._translated(fn, scope),
            vendor=VENDOR,
            refresh=refresh,
            sleep=self._conn.sleep,
            reach=self._reach,
        )

    def _translated(self, fn: Callable[[], T], scope: str) -> T:
        self._retry_after = None
        try:
            return fn()
        except IntegrationError:
            raise
        except Exception as exc:  # every SDK failure goes through the pure table
            raise self._classify(exc, scope) from exc

    def _classify(self, exc: BaseException, scope: str) -> IntegrationError:
        names = [cls.__name__ for cls in type(exc).__mro__]
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        body: Mapping[str, Any] | None = None
        if response is not None:
            try:
                parsed = response.json()
                body = parsed if isinstance(parsed, Mapping) else None
            except ValueError:
                body = None
        return zerrors.classify(names, status, body, retry_after=self._retry_after, scope=scope)

    def refresh(self) -> None:
        """The refresh-token grant at `connection.token_url`; the rotated pair is saved at once.

        Raises:
            ReauthRequiredError: Zendesk refused the refresh token (revoked, expired, rotated away).
        """
        # Refresh tokens are single use: another process holding this installation's pair (a worker's pass
        # beside the web process's set-up run, the CLI) may have rotated it since this client read it. Its
        # pair is then the installation's, and spending our own spent token would only be refused.
        if self._adopt_stored() and not self.tokens.needs_refresh(self._conn.clock()):
            return
        if not self.tokens.refresh_token:
            raise zerrors.token_error(400, {"error": "invalid_grant"})
        # A 429/5xx/timeout at the token endpoint is as transient as anywhere else: retried under the same
        # policy (found by tests/reliability/test_vendor_faults.py; HubSpot and Salesforce already did).
        try:
            call_with_retry(
                self._refresh_once, vendor=VENDOR, refresh=None, sleep=self._conn.sleep, reach=self._reach
            )
        except ReauthRequiredError:
            # Refused: revoked, or another process spent the same token a moment before us and is storing
            # the rotated pair (security audit 11). Only a pair stored by then saves this from a reconnect.
            if not self._adopt_stored(attempts=ADOPT_ATTEMPTS):
                raise

    def _adopt_stored(self, attempts: int = 1) -> bool:
        """Take the installation's stored tokens when another process rotated the pair; True when taken."""
        stored = rotated_elsewhere(self._conn.load_tokens, self.tokens, self._conn.sleep, VENDOR, attempts)
        if stored is None:
            return False
        self.tokens = stored
        self._session.headers["Authorization"] = f"Bearer {stored.access_token}"
        return True

    def _refresh_once(self) -> None:
        self.refreshes += 1
        try:
            resp = self._session.post(
                self._conn.token_url,
                json={
                    "grant_type": "refresh_token",
                    "refresh_token": self.tokens.refresh_token,
                    "client_id": self._conn.client_id,
                    "client_secret": self._conn.client_secret,
                },
                headers={"Authorization": None},  # None drops the session's Bearer header
                timeout=self._conn.timeout,
            )
        except IntegrationError:
            raise  # a redirect to another origin (integrations.redirects): not retried, not followed
        except requests.RequestException as exc:
            # The whole class chain: a ReadTimeout is a Timeout (transient), not an unknown error.
            raise zerrors.classify([c.__name__ for c in type(exc).__mro__], None, None) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise zerrors.token_error(resp.status_code, body if isinstance(body, dict) else None)
        self.tokens = self.tokens.rotated(body, self._conn.clock())
        self._conn.save_tokens(self.tokens)
        self._session.headers["Authorization"] = f"Bearer {self.tokens.access_token}"
        logger.info("zendesk access token refreshed", extra={"vendor": VENDOR})

    # --------------------------------------------------------------------------------------------- reads
    def export_tickets(self, position: tuple[str, int | str], per_page: int) -> ExportPage:
        """One page of /incremental/tickets/cursor.json (start_time or cursor) with our sideloads."""
        kind, value = position
        api = self._zd.tickets
        include = list(TICKET_SIDELOADS)
        if kind == "cursor":
            endpoint = api.endpoint.incremental.cursor(cursor=value, include=include, per_page=None)
        else:
            endpoint = api.endpoint.incremental.cursor_start(
                start_time=value, include=include, per_page=per_page
            )
        url = api._build_url(endpoint)  # once: _build_url prefixes the endpoint's path in place
        page = self.call(lambda: _bulk_page(api, url))
        tickets = _list(page, "tickets")
        return ExportPage(
            tickets=tickets,
            metric_sets=_list(page, "metric_sets", required=False),
            users=_list(page, "users", required=False),
            groups=_list(page, "groups", required=False),
            after_cursor=page.get("after_cursor") or None,
            end_of_stream=bool(page.get("end_of_stream")),
        )

    def export_organizations(self, start_time: int, per_page: int) -> TimePage:
        """One page of /incremental/organizations.json from `start_time`, read raw like the ticket exports
        (module docstring): after a write-back every organization comes again (its updated_at moved), and
        zenpy's mapping of each into an object was ~0.25 ms of worker CPU per organization (issue 17)."""
        api = self._zd.organizations
        url = api._build_url(api.endpoint.incremental(start_time=start_time, per_page=per_page))
        page = self.call(lambda: _bulk_page(api, url))
        end = page.get("end_time")
        return TimePage(
            items=_list(page, "organizations"),
            end_time=int(end) if end is not None else None,
            end_of_stream=bool(page.get("end_of_stream")),
        )

    def ticket_events(self, start_time: int, per_page: int) -> TimePage:
        """One page of /incremental/ticket_events.json from `start_time`, comment bodies sideloaded
        (`include=comment_events`); zenpy's `tickets.events` builds the request."""
        api = self._zd.tickets
        url = api._build_url(
            api.endpoint.events(start_time=start_time, include="comment_events", per_page=per_page)
        )
        page = self.call(lambda: _bulk_page(api, url))
        end = page.get("end_time")
        return TimePage(
            items=_list(page, "ticket_events"),
            end_time=int(end) if end is not None else None,
            end_of_stream=bool(page.get("end_of_stream")),
        )

    def organizations(self) -> Iterator[list[dict[str, Any]]]:
        """Every page of the organization list: GET /organizations.json?page[size]=100 (CBP, no 10,000 cap;
        deleted organizations are not listed). ⌈organizations/100⌉ calls: only for a second the time-based
        export cannot page past (ZendeskAdapter._accounts)."""
        return self._cbp(lambda: self._zd.organizations(cursor_pagination=True), "organizations")

    def agent_ids(self) -> frozenset[int]:
        """Ids of every agent and admin: GET /users.json?role[]=agent&role[]=admin (CBP, 100 a page).

        Agents are few, so this is ~1 call where listing every user would cost ⌈users/100⌉."""
        ids: set[int] = set()
        pages = self._cbp(lambda: self._zd.users(role=["agent", "admin"], cursor_pagination=True), "users")
        for chunk in pages:
            ids.update(int(u["id"]) for u in chunk if u.get("id") is not None)
        return frozenset(ids)

    def comments(self, ticket_id: int) -> Iterator[list[dict[str, Any]]]:
        """Every page of one ticket's comments (CBP, 100 a page). Not used by `read` (the ticket event
        export carries every comment in bulk); kept for targeted reads of a single ticket."""
        return self._cbp(lambda: self._zd.tickets.comments(ticket=ticket_id), "comments")

    def satisfaction_ratings(self, start_time: int, end_time: int) -> Iterator[list[dict[str, Any]]]:
        """Every page of ratings updated in [start_time, end_time] (CBP; zenpy calls it without .json)."""
        return self._cbp(
            lambda: self._zd.satisfaction_ratings(start_time=start_time, end_time=end_time),
            "satisfaction_ratings",
        )

    def _cbp(self, first: Callable[[], Any], key: str) -> Iterator[list[dict[str, Any]]]:
        gen = self.call(first)
        page = _page_json(gen)
        yield _list(page, key)
        asked: set[str] = set()
        while (page.get("meta") or {}).get("has_more"):
            nxt = (page.get("links") or {}).get("next")
            if not nxt:
                raise MalformedResponseError(VENDOR, f"{key}: has_more without links.next")
            if str(nxt) in asked:  # a page pointing back at one read already would loop forever
                raise MalformedResponseError(VENDOR, f"{key}: links.next points back at a page read")
            asked.add(str(nxt))
            if not _same_origin(str(nxt), self._conn.base_url):
                # zenpy would GET it with our OAuth token: a page must not send the token to another host.
                raise MalformedResponseError(VENDOR, f"{key}: links.next leaves the account's URL")
            # zenpy's own pager follows links.next; one handle_pagination() is one request
            done = self.call(lambda: _advance(gen))
            if done:
                return
            page = _page_json(gen)
            yield _list(page, key)

    def organization_fields(self) -> list[dict[str, Any]]:
        """Every organization field (one page: accounts have few)."""
        gen = self.call(lambda: self._zd.organization_fields(), scope="read scope")
        return _list(_page_json(gen), "organization_fields")

    def create_organization_field(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /organization_fields.json; returns the created field."""
        scope = "write scope and an admin role (organization fields)"
        created = self.call(
            lambda: self._zd.organization_fields.create(OrganizationField(**payload)), scope=scope
        )
        return dict(created.to_dict())

    def update_many(self, items: Sequence[Mapping[str, Any]]) -> str:
        """PUT /organizations/update_many.json (≤ 100 items); returns the job id."""
        orgs = [Organization(id=i["id"], organization_fields=dict(i["organization_fields"])) for i in items]
        job = self.call(lambda: self._zd.organizations.update(orgs), scope="write scope")
        job_id = getattr(job, "id", None)
        if not job_id:
            raise MalformedResponseError(VENDOR, "update_many returned no job_status id")
        return str(job_id)

    def create_tickets(self, items: Sequence[Mapping[str, Any]]) -> str:
        """POST /tickets/create_many.json (≤ 100 tickets, zenpy's list create); returns the job id."""
        tickets = [Ticket(**{**dict(i), "comment": Comment(**dict(i["comment"]))}) for i in items]
        job = self.call(lambda: self._zd.tickets.create(tickets), scope="write scope")
        job_id = getattr(job, "id", None)
        if not job_id:
            raise MalformedResponseError(VENDOR, "create_many returned no job_status id")
        return str(job_id)

    def job_statuses(self, job_ids: Sequence[str]) -> dict[str, tuple[str, list[dict[str, Any]]]]:
        """GET /job_statuses/show_many.json?ids=… (at most 100) → job id → (status, per-item results as dicts).
        Jobs Zendesk no longer keeps are left out."""
        # zenpy's JobStatusesResponseHandler answers {"job_statuses": [JobStatus, ...]}
        got = self.call(lambda: self._zd.job_status(ids=list(job_ids)))
        jobs = got.get("job_statuses") or [] if isinstance(got, dict) else list(got or [])
        out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        for job in jobs:
            results = [
                r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in getattr(job, "results", None) or []
            ]
            out[str(getattr(job, "id", ""))] = (str(getattr(job, "status", "")), results)
        return out

    def token_scopes(self) -> tuple[str, ...]:
        """Scopes of the current token (GET /api/v2/oauth/tokens/current.json; zenpy has no call for it)."""
        url = f"{self._conn.base_url.rstrip('/')}/api/v2/oauth/tokens/current.json"

        def fetch() -> Any:
            resp = self._session.get(url, timeout=self._conn.timeout)
            if resp.status_code != 200:
                raise _HTTPFailureError(resp)
            return resp.json()

        body = self.call(fetch)
        scopes = (body.get("token") or {}).get("scopes") if isinstance(body, dict) else None
        return tuple(str(s) for s in scopes or ())

    def close(self) -> None:
        self._session.close()


class _HTTPFailureError(Exception):
    """A non-2xx answer to a call made without zenpy; carries `response` like zenpy's APIException."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _same_origin(url: str, base_url: str) -> bool:
    """Same scheme, host and port (zenpy always calls https)."""
    try:
        a, b = urlsplit(url), urlsplit(base_url)
        return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)
    except ValueError:  # an unparseable port or bracket
        return False


def _advance(gen: Any) -> bool:
    """Fetch the generator's next page; True when zenpy says there is none (its StopIteration)."""
    try:
        gen.handle_pagination()
    except StopIteration:
        return True
    return False


def _bulk_page(api: Any, url: str) -> dict[str, Any]:
    """GET one bulk export page the way zenpy's `_query_zendesk` does (its URL builder, session, 429 handling
    and status check, so errors are zenpy's own exceptions), but ask its `_get` for the raw response
    instead of mapping 1,000 records into zenpy objects we would only throw away (module docstring)."""
    response = api._get(url, raw_response=True)
    try:
        body = response.json()
    except ValueError as exc:
        raise MalformedResponseError(VENDOR, "unreadable page (not JSON)") from exc
    if not isinstance(body, dict):
        raise MalformedResponseError(VENDOR, f"unreadable page ({type(body).__name__})")
    return body


def _page_json(result: Any) -> dict[str, Any]:
    """The JSON of the page a zenpy generator holds (see module docstring); a raw Response means zenpy could
    not parse the body as JSON (it falls back to returning the requests.Response)."""
    page = getattr(result, "_response_json", None)
    if not isinstance(page, dict):
        raise MalformedResponseError(VENDOR, f"unreadable page ({type(result).__name__})")
    return page


def _list(page: Mapping[str, Any], key: str, *, required: bool = True) -> list[dict[str, Any]]:
    value = page.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MalformedResponseError(VENDOR, f"page without a `{key}` list")
    return value
