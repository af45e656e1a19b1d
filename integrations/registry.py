"""How the connector builds an adapter for an installation: one Connection shape, a lazy vendor registry."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from integrations.base import Adapter
from integrations.errors import ca_file_missing
from integrations.oauth import TokenSaver, TokenSet

VENDORS: tuple[str, ...] = ("salesforce", "hubspot", "zendesk")
CRM_VENDORS: frozenset[str] = frozenset({"salesforce", "hubspot"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """Everything an adapter needs to talk to one installation; `client.py` alone turns it into an SDK client.

    `base_url` is the vendor API root: the Salesforce instance URL, the HubSpot API host, or the Zendesk
    account URL (`https://acme.zendesk.com`); for the sandboxes, `https://127.0.0.1:PORT`. `token_url` is
    where refresh grants go. `ca_file` is the sandbox CA (None: the system trust store). `settings` is the
    tenant's field mapping for this vendor (see each adapter's mapping.py for keys and defaults).
    `before_call`, when set, runs right before every HTTP request to the vendor (API calls, token grants,
    retries): the caller's shared budget charges one request there and raises
    `errors.BudgetExhaustedError(retry_after=…)` when it is spent, so nothing is sent.
    `load_tokens`, when set, returns the installation's tokens as stored now: a client whose refresh token
    is single use (Zendesk rotates the pair on every refresh) reads it before spending its own, and again
    when its grant is refused, so a pair another process rotated meanwhile is adopted, not a reconnect.
    """

    vendor: str
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    tokens: TokenSet
    save_tokens: TokenSaver
    ca_file: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    page_size: int | None = None  # None: the vendor's maximum
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = _utcnow
    before_call: Callable[[], None] | None = None
    load_tokens: Callable[[], TokenSet | None] | None = None


def metered_session(
    before_call: Callable[[], None] | None, vendor: str, ca_file: str | None = None
) -> requests.Session:
    """A requests session that calls `before_call` before each request it sends (zenpy and
    simple-salesforce send every request through the session they are given), refuses to send when the
    installation's CA file has gone (integrations.errors.ca_file_missing) and follows redirects within
    the requested origin only (integrations.redirects: a 307 re-sends a refresh grant's secrets)."""
    from integrations.redirects import same_origin_redirects

    return same_origin_redirects(_VendorSession(vendor, before_call, ca_file), vendor)


class _VendorSession(requests.Session):
    def __init__(self, vendor: str, before_call: Callable[[], None] | None, ca_file: str | None) -> None:
        super().__init__()
        self._vendor, self._before_call, self._ca_file = vendor, before_call, ca_file

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        missing = ca_file_missing(self._vendor, self._ca_file)
        if missing is not None:
            raise missing
        if self._before_call is not None:
            self._before_call()
        return super().request(*args, **kwargs)


def adapter_class(vendor: str) -> type[Adapter]:
    """The adapter class for `vendor`, imported on first use so one vendor's SDK never loads another's.

    Raises:
        ValueError: the vendor is unknown (the message lists the known ones).
    """
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; expected one of {', '.join(VENDORS)}")
    module = importlib.import_module(f"integrations.{vendor}.adapter")
    cls: type[Adapter] = module.ADAPTER
    return cls


def create_adapter(connection: Connection) -> Adapter:
    """An adapter bound to one installation."""
    return adapter_class(connection.vendor)(connection)  # type: ignore[call-arg]
