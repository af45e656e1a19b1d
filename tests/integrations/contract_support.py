"""What differs per vendor in the adapter contract tests, and a harness that builds adapters on the sandboxes.

The contract (tests/integrations/test_contract.py) is written once; this table holds the vendor-specific
facts it needs: the url rules faults and call counts are keyed on (`"<METHOD> <url rule>"`, see
integrations/sandbox/context.py), page sizes that make a stream span several pages on the seeded book, how
book keys become vendor ids, the write batch limit, and how to take away the permission field setup needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrations.base import Adapter, Page, Stream
from integrations.cursors import Cursor
from integrations.oauth import TokenSet
from integrations.records import Record, ScoreWrite
from integrations.registry import create_adapter
from integrations.sandbox import hubspot as hs_sandbox
from integrations.sandbox import salesforce as sf_sandbox
from integrations.sandbox import zendesk as zd_sandbox
from integrations.sandbox.context import SandboxContext
from integrations.sandbox.ids import salesforce_id
from tests.sandbox_connection import sandbox_connection, sandbox_tokens

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

VENDORS = ("salesforce", "hubspot", "zendesk")


@dataclass(frozen=True, slots=True)
class Denial:
    """Take away what creating our fields needs; `tokens` replaces the installation's tokens if set."""

    tokens: TokenSet | None
    missing: str  # what PermissionDeniedError.missing must name


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorSpec:
    vendor: str
    token_path: str  # refresh grants: the vendor's token endpoint
    token_url: str  # path appended to the sandbox base URL
    accounts_read: str  # the first (and, on the seeded book, only) call of a full ACCOUNTS read
    tickets_next: str  # the calls that fetch the second and later pages of a TICKETS read
    tickets_page_size: int | None  # a page size that spreads TICKETS over several pages
    field_create: str  # one custom field/property created
    write_batch: str  # one score write-back batch
    write_limit: int  # rows a batch carries at most (sObject Collections 200, HubSpot/Zendesk 100)
    deletes_stream: Stream  # the stream whose deletes the contract checks
    export_lag: timedelta  # how long before "now" the vendor's incremental read stops
    account_id: Callable[[str], str]
    ticket_id: Callable[[str], str]
    written_fields: Callable[[SandboxContext], dict[str, dict[str, object]]]
    truth: Callable[[SandboxContext], dict[str, dict[str, str]]]
    deny_field_setup: Callable[[SandboxContext], Denial]
    instance_url: bool = False  # Salesforce token sets carry the instance URL
    # Per-page lookups besides the page itself (HubSpot search results resolve their companies in one v4
    # association batch read per page); "" matches no call.
    page_lookups: str = ""


def _deny_salesforce(ctx: SandboxContext) -> Denial:
    # The sandbox refuses Tooling API field creation for a user without "Customize Application".
    ctx.vendors["salesforce"].extra["missing_permissions"] = {"CustomizeApplication"}
    return Denial(tokens=None, missing="Customize Application")


def _deny_hubspot(ctx: SandboxContext) -> Denial:
    # An installation authorised without the schema write scope.
    scopes = [s for s in hs_sandbox.DEFAULT_SCOPES if s != "crm.schemas.companies.write"]
    with ctx.lock:
        body = hs_sandbox.issue_tokens(ctx.vendors["hubspot"], ctx.now, scopes)
    tokens = TokenSet(access_token=body["access_token"], refresh_token=body["refresh_token"])
    return Denial(tokens=tokens, missing="crm.schemas.companies.write")


def _deny_zendesk(ctx: SandboxContext) -> Denial:
    # A token granted the read scope only (an agent's, or an app installed without write).
    state = ctx.vendors["zendesk"]
    with ctx.lock:
        state.access_tokens["contract-readonly"] = ctx.now + timedelta(hours=1)
        state.extra["scopes"]["contract-readonly"] = "read"
    return Denial(tokens=TokenSet(access_token="contract-readonly"), missing="write scope")


SPECS: dict[str, VendorSpec] = {
    "salesforce": VendorSpec(
        vendor="salesforce",
        token_path="POST /services/oauth2/token",
        token_url="/services/oauth2/token",
        accounts_read="GET /services/data/v*/queryAll/",
        tickets_next="GET /services/data/v*/queryAll/<locator>",
        tickets_page_size=200,  # Sforce-Query-Options batchSize minimum
        field_create="POST /services/data/v*/tooling/sobjects/CustomField",
        write_batch="PATCH /services/data/v*/composite/sobjects",
        write_limit=200,
        deletes_stream=Stream.TICKETS,  # Case rows with IsDeleted=true from queryAll
        export_lag=timedelta(0),
        account_id=lambda key: salesforce_id("Account", key),
        ticket_id=lambda key: salesforce_id("Case", key),
        written_fields=sf_sandbox.written_fields,
        truth=sf_sandbox.truth,
        deny_field_setup=_deny_salesforce,
        instance_url=True,
    ),
    "hubspot": VendorSpec(
        vendor="hubspot",
        token_path="POST /oauth/v1/token",
        token_url="/oauth/v1/token",
        accounts_read="POST /crm/v3/objects/companies/search",
        tickets_next="GET /crm/v3/objects/tickets",  # list pages (associations inline) on a full read
        tickets_page_size=None,  # list pages are 100; 700+ CRM tickets span several
        field_create="POST /crm/v3/properties/companies",
        write_batch="POST /crm/v3/objects/companies/batch/update",
        write_limit=100,
        deletes_stream=Stream.TICKETS,  # archived=true list pages
        export_lag=timedelta(0),
        account_id=hs_sandbox.company_id,
        ticket_id=lambda key: hs_sandbox.numeric_id("ticket", key),
        written_fields=hs_sandbox.written_fields,
        truth=hs_sandbox.truth,
        deny_field_setup=_deny_hubspot,
        page_lookups="POST /crm/v4/associations/*",
    ),
    "zendesk": VendorSpec(
        vendor="zendesk",
        token_path="POST /oauth/tokens",
        token_url="/oauth/tokens",
        accounts_read="GET /api/v2/incremental/organizations.json",
        tickets_next="GET /api/v2/incremental/tickets/cursor.json",
        tickets_page_size=500,
        field_create="POST /api/v2/organization_fields.json",
        write_batch="PUT /api/v2/organizations/update_many.json",
        write_limit=100,
        deletes_stream=Stream.TICKETS,  # status "deleted" rows of the incremental export
        # The incremental exports refuse the last minute (start/end within 60 s of now).
        export_lag=timedelta(seconds=60),
        account_id=lambda key: str(zd_sandbox.org_id(key)),
        ticket_id=lambda key: str(zd_sandbox.ticket_id(key)),
        written_fields=zd_sandbox.written_fields,
        truth=zd_sandbox.truth,
        deny_field_setup=_deny_zendesk,
    ),
}


@dataclass
class Harness:
    """One vendor on the shared sandbox set: adapters built from `credentials()`, a sleep and token saver that
    record instead of acting, and the call counters."""

    spec: VendorSpec
    sandbox: SandboxSet
    sleeps: list[float] = field(default_factory=list)
    saved: list[TokenSet] = field(default_factory=list)
    made: list[Adapter] = field(default_factory=list)

    @property
    def ctx(self) -> SandboxContext:
        return self.sandbox.ctx

    @property
    def vendor(self) -> str:
        return self.spec.vendor

    def calls(self, pattern: str = "*") -> int:
        return self.ctx.counters.get(self.vendor, pattern)

    def token_calls(self) -> int:
        return self.calls(self.spec.token_path)

    def tokens(self) -> TokenSet:
        return sandbox_tokens(self.sandbox, self.vendor)

    def adapter(
        self, *, tokens: TokenSet | None = None, page_size: int | None = None, timeout: float = 10.0
    ) -> Adapter:
        creds = self.sandbox.credentials()[self.vendor]
        base = creds["base_url"]
        tokens = tokens or self.tokens()
        if self.spec.instance_url and tokens.instance_url is None:
            tokens = TokenSet(
                access_token=tokens.access_token, refresh_token=tokens.refresh_token, instance_url=base
            )
        conn = sandbox_connection(
            self.sandbox,
            self.vendor,
            tokens=tokens,
            save_tokens=self.saved.append,
            timeout=timeout,
            page_size=page_size,
            sleep=self.sleeps.append,
        )
        adapter = create_adapter(conn)
        self.made.append(adapter)
        return adapter

    def close(self) -> None:
        for adapter in self.made:
            adapter.close()


def records(pages: Sequence[Page]) -> list[Record]:
    return [r for p in pages for r in p.records]


def ids(pages: Sequence[Page]) -> set[str]:
    return {r.external_id for r in records(pages)}


def last_cursor(pages: Sequence[Page]) -> Cursor | None:
    """The cursor a sync would have saved after committing these pages (None pages keep the old one)."""
    saved: Cursor | None = None
    for page in pages:
        if page.cursor is not None:
            saved = page.cursor
    return saved


def stamp(record: Record) -> datetime:
    """The modification time a record carries (comments: their creation)."""
    value: Any = getattr(record, "updated_at", None) or getattr(record, "created_at", None)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def score_writes(external_ids: Sequence[str]) -> list[ScoreWrite]:
    values: dict[str, str | float | datetime | None] = {
        "health_score": 64.5,
        "health_band": "yellow",
        "health_drivers": "Ticket volume up; NPS down",
        "health_scored_at": datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    }
    return [ScoreWrite(account_external_id=i, values=values) for i in external_ids]
