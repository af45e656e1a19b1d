"""HubSpot sandbox: the Book rendered as HubSpot CRM v3/v4 objects, OAuth v1, properties and signed webhooks.

What it serves (hubspot-api-client 12 talks to it unmodified; sdk-wire.md §2):
- OAuth: `/oauth/authorize` (HTML consent, Allow/Deny), `POST /oauth/v1/token` (also `/oauth/v3/token` and
  `/oauth/2026-03/token`): `authorization_code` (PKCE S256/plain when a challenge was sent) and
  `refresh_token`; 30-minute access tokens; HubSpot does not rotate refresh tokens. Token info
  `GET /oauth/v1/access-tokens/<t>`, refresh-token info and revocation `GET|DELETE /oauth/v1/refresh-tokens/<t>`.
- `crm/v3/objects/{companies,contacts,deals,tickets,feedback_submissions,notes,emails}`: list (`after`,
  `limit` ≤ 100, `properties`, `associations`, `archived`), get by id, search (filterGroups/filters, sorts,
  `after`, `limit` ≤ 200, the 10,000-result cap), batch read / batch update (≤ 100 inputs, 207 multi-status);
  `propertiesWithHistory` on list, get and batch read (≤ 50 objects a request then; `history`).
- v4 associations: `GET /crm/v4/objects/<from>/<id>/associations/<to>`,
  `POST /crm/v4/associations/<from>/<to>/batch/read`.
- Properties and property groups: `GET|POST /crm/v3/properties/<type>`, `.../<type>/<name>`, `.../groups`.

Rendering (SANDBOX.md "Book conventions"): every request renders the Book under `ctx.lock`; vendor-side
state (tokens, created properties, values our product wrote, write times) lives in `ctx.vendors["hubspot"]`.
Book → HubSpot: customers → companies (custom tenant properties `arr`, `arr_previous`, `renewal_date`,
`customer_segment`, `plan`, `active_users`, `licensed_seats`, and the cross-ref `zendesk_org_id`); contacts;
deals (pipeline `default`, stages appointmentscheduled…closedwon/closedlost, `dealtype`
newbusiness/renewal/upsell); crm-channel tickets (support pipeline `0`, stages 1 New, 2 Waiting on contact,
3 Waiting on us, 4 Closed); their comments as e-mails (customer → `INCOMING_EMAIL`, public agent reply →
`EMAIL`) and notes (private agent comments); NPS and crm-ticket CSAT surveys → feedback_submissions.
A sandbox choice, documented here: feedback submissions are associated with their company as well as their
contact and ticket, so a reader can resolve the account with one association call.

Modules (the names other code uses are re-exported here, so `integrations.sandbox.hubspot.<name>` keeps
working): `schema` (object types, scopes, built-in properties), `formats` (HubSpot's value formats),
`oauth` (`make_state`, tokens, the OAuth routes), `index` (ids and the per-type object index), `render`
(the Book as HubSpot objects), `history` (propertiesWithHistory), `api` (errors, faults, per-request
checks), `search` (the search engine and batch-update validation), `routes` (`create_app`, v4
associations), `objects_api`, `properties_api`, `outbound` (truth, written fields, webhook events) and
`signing` (the v3 request signature, written from HubSpot's "Validating requests" page).
"""

from __future__ import annotations

from integrations.sandbox.context import SandboxContext, VendorState
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import HubObject, comment_id, company_id
from integrations.sandbox.hubspot.oauth import credentials, issue_tokens, make_state
from integrations.sandbox.hubspot.outbound import outbound_webhooks, truth, written_fields
from integrations.sandbox.hubspot.render import list_page, render
from integrations.sandbox.hubspot.routes import create_app
from integrations.sandbox.hubspot.schema import (
    ACCESS_TTL,
    DEFAULT_SCOPES,
    MOD_PROPERTY,
    OBJECT_TYPES,
    VENDOR,
    numeric_id,
)
from integrations.sandbox.hubspot.search import _raw_predicates, run_search

__all__ = [
    "ACCESS_TTL",
    "DEFAULT_SCOPES",
    "MOD_PROPERTY",
    "OBJECT_TYPES",
    "VENDOR",
    "HubObject",
    "SandboxContext",
    "VendorState",
    "_raw_predicates",
    "comment_id",
    "company_id",
    "create_app",
    "credentials",
    "hs_time",
    "issue_tokens",
    "list_page",
    "make_state",
    "numeric_id",
    "outbound_webhooks",
    "render",
    "run_search",
    "truth",
    "written_fields",
]
