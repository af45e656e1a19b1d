"""The only module that imports simple_salesforce: sessions, URLs, CA file, timeouts, error translation.

simple-salesforce has no refresh grant (sdk-wire.md §1.3), so `refresh_grant` POSTs to the token URL
itself and the caller rebuilds the SDK client with `use_tokens`. Every HTTP call (API and token) is
counted in `calls`; a response hook keeps the last response headers because the SDK's exceptions do
not carry them (Retry-After).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from integrations.errors import FatalIntegrationError, TransientError
from integrations.oauth import TokenSet
from integrations.registry import Connection, metered_session
from integrations.salesforce import errors

logger = logging.getLogger(__name__)

API_VERSION = "59.0"
T = TypeVar("T")


class SalesforceClient:
    """simple-salesforce bound to one installation; every method raises only IntegrationError subclasses."""

    def __init__(self, connection: Connection, tokens: TokenSet) -> None:
        self._conn = connection
        self.calls = 0
        self._last_headers: Mapping[str, str] = {}
        # the shared budget, per request; redirects within the origin only
        self._session = metered_session(connection.before_call, errors.VENDOR, connection.ca_file)
        if connection.ca_file:
            self._session.verify = connection.ca_file
            # Else REQUESTS_CA_BUNDLE from the environment silently replaces the sandbox CA.
            self._session.trust_env = False
        self._session.hooks["response"].append(self._remember)
        self._sf = self._build(tokens)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        self._last_headers = response.headers

    def _build(self, tokens: TokenSet) -> Salesforce:
        return Salesforce(
            instance_url=tokens.instance_url or self._conn.base_url,
            session_id=tokens.access_token,
            session=self._session,
            version=API_VERSION,
        )

    def use_tokens(self, tokens: TokenSet) -> None:
        """Point the SDK at a new access token (after a refresh)."""
        self._sf = self._build(tokens)

    def _run(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except SalesforceError as exc:
            status = int(getattr(exc, "status", 0) or 0)
            raise errors.classify(
                status, getattr(exc, "content", None), retry_after=self._last_headers.get("Retry-After")
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise FatalIntegrationError(
                errors.VENDOR, f"{what}: TLS verification failed", hint="Check the Salesforce instance URL."
            ) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(errors.VENDOR, f"{what}: {type(exc).__name__}") from exc
        except ValueError as exc:  # the SDK's json() on a body that is not JSON
            raise errors.malformed(f"{what}: response is not JSON") from exc

    def query(self, soql: str, *, include_deleted: bool, batch_size: int | None) -> Any:
        """First page of a SOQL query (`queryAll` when include_deleted)."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        return self._run(
            "query",
            lambda: self._sf.query(
                soql, include_deleted=include_deleted, headers=headers, timeout=self._conn.timeout
            ),
        )

    def query_more(self, next_records_url: str) -> Any:
        """The page behind a `nextRecordsUrl`."""
        return self._run(
            "query_more",
            lambda: self._sf.query_more(next_records_url, identifier_is_url=True, timeout=self._conn.timeout),
        )

    def describe(self, sobject: str) -> Any:
        return self._run(
            "describe", lambda: self._sf.restful(f"sobjects/{sobject}/describe", timeout=self._conn.timeout)
        )

    def update_collection(self, records: Sequence[Mapping[str, Any]], *, all_or_none: bool) -> Any:
        """sObject Collections update (≤200 records): the per-record SaveResult list."""
        body = {"allOrNone": all_or_none, "records": list(records)}
        return self._run(
            "composite update",
            lambda: self._sf.restful(
                "composite/sobjects", method="PATCH", json=body, timeout=self._conn.timeout
            ),
        )

    def create_collection(self, records: Sequence[Mapping[str, Any]], *, all_or_none: bool) -> Any:
        """sObject Collections create (≤200 records, e.g. Tasks): the per-record SaveResult list, in order."""
        body = {"allOrNone": all_or_none, "records": list(records)}
        return self._run(
            "composite create",
            lambda: self._sf.restful(
                "composite/sobjects", method="POST", json=body, timeout=self._conn.timeout
            ),
        )

    def create_custom_field(self, full_name: str, metadata: Mapping[str, Any]) -> bool:
        """Create a field through the Tooling API; False when it already exists (DUPLICATE_DEVELOPER_NAME)."""
        data = {"FullName": full_name, "Metadata": dict(metadata)}

        def create() -> bool:
            try:
                self._sf.toolingexecute(
                    "sobjects/CustomField", method="POST", data=data, timeout=self._conn.timeout
                )
            except SalesforceError as exc:
                if errors.is_duplicate_field(
                    int(getattr(exc, "status", 0) or 0), getattr(exc, "content", None)
                ):
                    return False
                raise
            return True

        return self._run("create field", create)

    def refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        """POST grant_type=refresh_token to the token URL; the token response as a dict."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self._conn.client_id,
            "client_secret": self._conn.client_secret,
            "refresh_token": refresh_token,
        }
        try:
            resp = self._session.post(self._conn.token_url, data=form, timeout=self._conn.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(errors.VENDOR, f"token endpoint: {type(exc).__name__}") from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200:
            raise errors.classify_token_error(resp.status_code, body)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise errors.malformed("token endpoint answered without an access_token")
        return body

    def close(self) -> None:
        self._session.close()
