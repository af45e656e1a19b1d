"""Salesforce REST API v59.0 sandbox: renders the Book as Salesforce sObjects for the unmodified simple-salesforce.

What it serves (docs: developer.salesforce.com REST API guide, OAuth web-server flow):
- OAuth 2.0: `/services/oauth2/authorize` (consent page, PKCE S256), `/services/oauth2/token`
  (authorization_code, refresh_token; `invalid_grant` as Salesforce sends it), `/services/oauth2/revoke`.
- `query/` and `queryAll/` with `nextRecordsUrl` paging (2,000 rows a page, `Sforce-Query-Options:
  batchSize=N` honoured for 200..2000) over a real SOQL subset (tokenizer + recursive-descent parser below).
- sObject describe (incl. our custom fields), single-record GET/PATCH, sObject Collections update
  (`PATCH composite/sobjects`, ≤200 records, allOrNone), Tooling API `POST tooling/sobjects/CustomField`,
  `limits/`, error bodies `[{"message","errorCode","fields"}]`, and `Sforce-Limit-Info` on every API call.
- Outbound Messages (SOAP `notifications`) for changed Accounts, Cases and Opportunities.

The Book is rendered on every request under `ctx.lock`; vendor-side state (tokens, our custom fields, the
values our product wrote, open query locators) lives in `ctx.vendors["salesforce"]`. Knobs tests may set in
`VendorState.extra`: `rotate_refresh` (refresh grants issue a new refresh token and revoke the old one),
`missing_permissions` ({"CustomizeApplication"}: Tooling field creation is refused with INSUFFICIENT_ACCESS),
`readonly_fields` (Account fields describe reports as not updateable; writes to them fail per record),
`hidden_objects` (sObjects the integration user cannot see: INVALID_TYPE in SOQL, NOT_FOUND on describe).
`org_id`/`user_id` are the identity behind every token (the Outbound Message `OrganizationId`).

How the Book maps (see the render_* functions): every Salesforce-present customer is an Account (custom fields
Segment__c, Plan__c, Renewal_Date__c, ARR_Prior_Year__c, Active_Users__c, Licensed_Seats__c and
Zendesk_Organization_Id__c when `cross_ref`); CRM-channel tickets are Cases; two in three Cases came in by
e-mail, so their public thread is EmailMessages (internal notes stay CaseComments) and the rest keep the whole
thread as CaseComments (customers as portal users); NPS and CRM-ticket CSAT are `Survey_Response__c` rows.
Active_Users__c is history-tracked: each change in a customer's `usage_path` is an `AccountHistory` row
(OldValue/NewValue numbers, CreatedDate the write, by the "Usage Export" user).
Deletes cascade (an Account's Contacts, Opportunities, Cases and their comments) and show in queryAll only.

Modules (the public names below are re-exported here, so `integrations.sandbox.salesforce.<name>` keeps working):
`schema` (constants, errors, field types), `soql_parser` + `soql_eval` (the SOQL engine), `render` (the Book as
sObject rows), `query` (paging and locators), `writes` (describe, PATCH, collections, tooling), `oauth`,
`routes` (`create_app`), `outbound` (truth, written fields, Outbound Messages) and `soap` (the SOAP envelope
the sandbox sends, written from Salesforce's Outbound Messaging WSDL).
"""

from __future__ import annotations

from integrations.sandbox.context import SandboxContext, VendorState
from integrations.sandbox.salesforce.oauth import make_state, org_id
from integrations.sandbox.salesforce.outbound import outbound_webhooks, truth, written_fields
from integrations.sandbox.salesforce.query import run_query, sf_datetime
from integrations.sandbox.salesforce.render import RENDERERS
from integrations.sandbox.salesforce.routes import create_app
from integrations.sandbox.salesforce.schema import ACCESS_TTL, API_VERSION, DATA, VENDOR, SalesforceApiError
from integrations.sandbox.salesforce.soql_eval import Resolved, _like, order_rows
from integrations.sandbox.salesforce.soql_parser import Parser, _parse_dt, tokenize

__all__ = [
    "ACCESS_TTL",
    "API_VERSION",
    "DATA",
    "RENDERERS",
    "VENDOR",
    "Parser",
    "Resolved",
    "SalesforceApiError",
    "SandboxContext",
    "VendorState",
    "_like",
    "_parse_dt",
    "create_app",
    "make_state",
    "order_rows",
    "org_id",
    "outbound_webhooks",
    "run_query",
    "sf_datetime",
    "tokenize",
    "truth",
    "written_fields",
]
