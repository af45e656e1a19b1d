"""hubspot-api-client 12, unmodified, against the HubSpot sandbox over TLS (host + ssl_ca_cert configuration).

Every operation the adapter uses, plus HubSpot's documented failure modes: paging to the end, search with
filters/sorts/after and the 10,000-result cap, batch read/update with 207 multi-status and the 100-input
limit, v4 associations, properties and groups (409 on re-create), OAuth, errors raised as the SDK's own
ApiException subclasses with HubSpot's body. Shapes are compared with example responses from HubSpot's
API reference, quoted below.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.objects.exceptions import ServiceException, UnauthorizedException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from hubspot.oauth.exceptions import ApiException as OAuthApiException

from integrations.sandbox import hubspot as hs
from integrations.sandbox.context import Fault
from tests.integrations.hubspot.book_factory import NOW, Served, make_book, reset, serve

# --- documented examples (developers.hubspot.com API reference), trimmed to their keys ------------------
DOC_LIST_COMPANIES = {
    "results": [
        {
            "id": "512",
            "properties": {
                "createdate": "2019-10-30T03:30:17.883Z",
                "domain": "biglytics.net",
                "hs_lastmodifieddate": "2019-12-07T16:50:06.678Z",
                "hs_object_id": "512",
                "name": "Biglytics",
            },
            "createdAt": "2019-10-30T03:30:17.883Z",
            "updatedAt": "2019-12-07T16:50:06.678Z",
            "archived": False,
        }
    ],
    "paging": {"next": {"after": "NTI1Cg%3D%3D", "link": "?after=NTI1Cg%3D%3D"}},
}
DOC_SEARCH = {
    "total": 2,
    "results": [
        {
            "id": "512",
            "properties": {"hs_object_id": "512"},
            "createdAt": "2019-10-30T03:30:17.883Z",
            "updatedAt": "2019-12-07T16:50:06.678Z",
            "archived": False,
        }
    ],
    "paging": {"next": {"after": "1"}},
}
DOC_BATCH_207 = {
    "status": "COMPLETE",
    "results": [],
    "numErrors": 1,
    "errors": [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some COMPANY objects, they may be deleted or not exist.",
            "context": {"ids": ["1"]},
        }
    ],
    "startedAt": "2024-01-01T00:00:00.000Z",
    "completedAt": "2024-01-01T00:00:00.100Z",
}
DOC_ERROR = {
    "status": "error",
    "message": "Invalid input JSON on line 1, column 15: Cannot build ObjectSchemaEgg, some of required attributes are not set [name, labels]",
    "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
    "category": "VALIDATION_ERROR",
}
DOC_429 = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
    "policyName": "SECONDLY",
}
DOC_TOKEN = {
    "token_type": "bearer",
    "refresh_token": "6f18f21e-a743-4509-b7fd-1a5e632fffa1",
    "access_token": "CN2zlYnmLBICAQIYgZXFLyCWp1Yoy_9GMhkAgddk-zDc-H_9fUxUHmFvg3IzPfGMwhAtUgRwYQ==",
    "expires_in": 1800,
}
DOC_TOKEN_INFO = {
    "token": "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4",
    "user": "test@hubspot.com",
    "hub_domain": "demo.hubapi.com",
    "scopes": ["automation", "contacts", "oauth"],
    "hub_id": 62515,
    "app_id": 456,
    "expires_in": 21588,
    "user_id": 123,
    "token_type": "access",
}
DOC_ASSOCIATIONS_V4 = {
    "results": [
        {
            "toObjectId": 3788,
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}],
        }
    ]
}
DOC_PROPERTY = {
    "updatedAt": "2019-10-14T20:45:42.629Z",
    "createdAt": "2019-08-06T02:41:08.029Z",
    "name": "favorite_food",
    "label": "Favorite Food",
    "type": "string",
    "fieldType": "text",
    "description": "",
    "groupName": "contactinformation",
    "options": [],
    "displayOrder": 2,
    "calculated": False,
    "externalOptions": False,
    "hasUniqueValue": False,
    "hidden": False,
    "hubspotDefined": False,
    "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
    "formField": True,
}
DOC_GROUP = {"name": "mygroupname", "label": "My Group Name", "displayOrder": -1, "archived": False}


def assert_shape(example: Any, actual: Any, path: str = "$") -> None:
    """Every key of the documented example exists in `actual` with the same JSON type (null matches any)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {type(actual).__name__}"
        for key, value in example.items():
            assert key in actual, f"{path}.{key} missing"
            assert_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{path}: expected an array"
        if example and actual:
            assert_shape(example[0], actual[0], f"{path}[0]")
    elif example is not None and actual is not None:
        kinds = (
            (int, float)
            if isinstance(example, int | float) and not isinstance(example, bool)
            else type(example)
        )
        assert isinstance(actual, kinds), f"{path}: {type(actual).__name__} is not {type(example).__name__}"


@pytest.fixture(scope="module")
def shared() -> Iterator[Served]:
    with serve(make_book(customers=5)) as s:
        yield s


@pytest.fixture
def served(shared: Served) -> Served:
    """The module's server with a fresh book, vendor state, faults and counters for each test."""
    return reset(shared, make_book(customers=5))


def sdk(s: Served, token: str | None = None) -> HubSpot:
    # retry=False: urllib3's default Retry would sleep through Retry-After with a real clock.
    return HubSpot(access_token=token or s.token, host=s.base_url, ssl_ca_cert=s.ca_file, retry=False)


def raw(
    s: Served,
    method: str,
    path: str,
    token: str | None = None,
    headers_extra: dict[str, str] | None = None,
    **kw: Any,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or s.token}", **(headers_extra or {})}
    return requests.request(method, s.base_url + path, headers=headers, verify=s.ca_file, timeout=10, **kw)


def calls(s: Served, pattern: str = "*") -> int:
    return s.ctx.counters.get(hs.VENDOR, pattern)


# --- lists -------------------------------------------------------------------------------------------------


def test_get_page_pages_to_the_end_with_after(served: Served) -> None:
    """GET /crm/v3/objects/companies: `paging.next.after` until the last page, which has no paging."""
    client = sdk(served)
    ids, after, pages = [], None, 0
    while True:
        page = client.crm.companies.basic_api.get_page(
            limit=2, after=after, properties=["name", "zendesk_org_id"]
        )
        pages += 1
        ids += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert ids == [hs.company_id(f"C{i:06d}") for i in range(1, 6)]
    assert pages == 3
    assert calls(served, "GET /crm/v3/objects/companies") == 3


def test_list_shape_matches_the_documented_example(served: Served) -> None:
    body = raw(served, "GET", "/crm/v3/objects/companies?limit=2").json()
    assert_shape(DOC_LIST_COMPANIES, body)
    assert set(body["results"][0]["properties"]) == set(DOC_LIST_COMPANIES["results"][0]["properties"])


def test_list_renders_the_book_and_repeated_properties_params(served: Served) -> None:
    page = sdk(served).crm.deals.basic_api.get_page(
        limit=100, properties=["dealstage", "dealtype", "pipeline", "amount"], associations=["companies"]
    )
    first = page.results[0]
    assert first.properties["pipeline"] == "default"
    assert first.properties["dealstage"] == "qualifiedtobuy"  # deal 1: neutral stage "qualification"
    assert first.properties["dealtype"] == "renewal"
    assert first.properties["amount"] == "12001.5"
    assert first.associations["companies"].results[0].id == hs.company_id("C000001")


def test_list_limit_over_100_is_a_validation_error(served: Served) -> None:
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.basic_api.get_page("companies", limit=101)
    assert info.value.status == 400
    assert_shape(DOC_ERROR, json.loads(info.value.body))


def test_archived_lists_only_archived_records(served: Served) -> None:
    served.ctx.book.customers["C000002"].hubspot.deleted_at = NOW - timedelta(hours=1)
    client = sdk(served)
    live = client.crm.companies.basic_api.get_page(limit=100)
    archived = client.crm.companies.basic_api.get_page(limit=100, archived=True)
    assert hs.company_id("C000002") not in {r.id for r in live.results}
    assert [r.id for r in archived.results] == [hs.company_id("C000002")]
    assert archived.results[0].archived is True
    assert archived.results[0].archived_at is not None


def test_feedback_submissions_are_nps_and_crm_csat_only(served: Served) -> None:
    page = sdk(served).crm.objects.feedback_submissions.basic_api.get_page(
        limit=100, properties=["hs_survey_type", "hs_response_value"]
    )
    kinds = sorted(r.properties["hs_survey_type"] for r in page.results)
    assert kinds.count("NPS") == 5
    assert kinds.count("CSAT") == 10  # the Zendesk ticket's CSAT is not rendered by HubSpot


# --- search ------------------------------------------------------------------------------------------------


def _search_all(client: HubSpot, object_type: str, body: dict[str, Any]) -> list[Any]:
    out, after = [], None
    while True:
        req = dict(body, after=after) if after else dict(body)
        page = client.crm.objects.search_api.do_search(object_type, public_object_search_request=req)
        out += page.results
        if page.paging is None:
            return out
        after = page.paging.next.after


def test_search_filters_sorts_and_pages_to_the_end(served: Served) -> None:
    client = sdk(served)
    since = int((NOW - timedelta(days=6, hours=22, minutes=5)).timestamp() * 1000)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)}]}
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        "properties": ["subject", "hs_ticket_priority"],
        "limit": 3,
    }
    results = _search_all(client, "tickets", body)
    stamps = [r.properties["hs_lastmodifieddate"] for r in results]
    assert len(results) == 5  # ticket i was modified at NOW - 6d22h - i min
    assert stamps == sorted(stamps, reverse=True)
    assert calls(served, "POST /crm/v3/objects/tickets/search") == 2


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "URGENT"}, 2),
        ({"propertyName": "hs_ticket_priority", "operator": "NEQ", "value": "URGENT"}, 8),
        ({"propertyName": "hs_ticket_priority", "operator": "IN", "values": ["LOW", "HIGH"]}, 5),
        ({"propertyName": "closed_date", "operator": "HAS_PROPERTY"}, 4),
        ({"propertyName": "closed_date", "operator": "NOT_HAS_PROPERTY"}, 6),
        ({"propertyName": "time_to_first_agent_reply", "operator": "LT", "value": str(33 * 60_000)}, 2),
        ({"propertyName": "time_to_first_agent_reply", "operator": "LTE", "value": str(33 * 60_000)}, 3),
        ({"propertyName": "time_to_first_agent_reply", "operator": "GT", "value": str(38 * 60_000)}, 2),
        ({"propertyName": "time_to_first_agent_reply", "operator": "GTE", "value": str(38 * 60_000)}, 3),
        (
            {
                "propertyName": "time_to_first_agent_reply",
                "operator": "BETWEEN",
                "value": str(32 * 60_000),
                "highValue": str(34 * 60_000),
            },
            3,
        ),
    ],
    ids=["EQ", "NEQ", "IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "LT", "LTE", "GT", "GTE", "BETWEEN"],
)
def test_search_operators(served: Served, flt: dict[str, Any], expected: int) -> None:
    page = sdk(served).crm.tickets.search_api.do_search(
        public_object_search_request={"filterGroups": [{"filters": [flt]}], "limit": 100}
    )
    assert page.total == expected
    assert len(page.results) == expected


def test_filter_groups_are_ored(served: Served) -> None:
    groups = [
        {"filters": [{"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "URGENT"}]},
        {"filters": [{"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "LOW"}]},
    ]
    page = sdk(served).crm.tickets.search_api.do_search(public_object_search_request={"filterGroups": groups})
    assert page.total == 4  # tickets 3, 7 (URGENT) and 4, 8 (LOW)


def test_search_shape_matches_the_documented_example(served: Served) -> None:
    body = raw(served, "POST", "/crm/v3/objects/companies/search", json={"limit": 2}).json()
    assert_shape(DOC_SEARCH, body)
    assert (
        "X-HubSpot-RateLimit-Daily"
        not in raw(served, "POST", "/crm/v3/objects/companies/search", json={}).headers
    )


def test_search_past_10000_results_is_hubspots_400(served: Served) -> None:
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.search_api.do_search(
            "contacts", public_object_search_request={"limit": 200, "after": "10000"}
        )
    assert info.value.status == 400
    body = json.loads(info.value.body)
    assert_shape(DOC_ERROR, body)
    assert body["category"] == "VALIDATION_ERROR"


def test_search_limit_over_200_and_unknown_operator_are_validation_errors(served: Served) -> None:
    client = sdk(served)
    for request in (
        {"limit": 201},
        {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "LIKE", "value": "x"}]}]},
    ):
        with pytest.raises(ObjectsApiException) as info:
            client.crm.objects.search_api.do_search("companies", public_object_search_request=request)
        assert info.value.status == 400


# --- batch -------------------------------------------------------------------------------------------------


def test_batch_read_with_a_missing_id_is_207_with_errors(served: Served) -> None:
    ids = [hs.company_id("C000001"), "999"]
    body = {"inputs": [{"id": i} for i in ids], "properties": ["name"]}
    resp = raw(served, "POST", "/crm/v3/objects/companies/batch/read", json=body)
    assert resp.status_code == 207
    assert_shape(DOC_BATCH_207, resp.json())
    result = sdk(served).crm.companies.batch_api.read(batch_read_input_simple_public_object_id=body)
    assert [r.id for r in result.results] == [ids[0]]
    assert result.errors[0].context["ids"] == ["999"]


def _create_score_property(client: HubSpot) -> None:
    client.crm.properties.groups_api.create(
        "companies", property_group_create={"name": "healthscore", "label": "H"}
    )
    client.crm.properties.core_api.create(
        "companies",
        property_create={
            "name": "healthscore_score",
            "label": "Health score",
            "type": "number",
            "fieldType": "number",
            "groupName": "healthscore",
        },
    )


def test_batch_update_writes_values_bumps_modified_and_counts(served: Served) -> None:
    client = sdk(served)
    _create_score_property(client)
    cid = hs.company_id("C000003")
    before = client.crm.companies.basic_api.get_by_id(cid).properties["hs_lastmodifieddate"]
    served.ctx.book.now += timedelta(minutes=1)
    result = client.crm.companies.batch_api.update(
        batch_input_simple_public_object_batch_input={
            "inputs": [{"id": cid, "properties": {"healthscore_score": "71.5"}}]
        }
    )
    assert result.status == "COMPLETE"
    after = client.crm.companies.basic_api.get_by_id(cid, properties=["healthscore_score"]).properties
    assert after["healthscore_score"] == "71.5"
    assert after["hs_lastmodifieddate"] > before
    assert hs.written_fields(served.ctx) == {cid: {"healthscore_score": "71.5"}}
    assert calls(served, "POST /crm/v3/objects/companies/batch/update") == 1


def test_batch_update_rejected_rows_come_back_as_207(served: Served) -> None:
    client = sdk(served)
    _create_score_property(client)
    ids = [hs.company_id(f"C{i:06d}") for i in range(1, 4)]
    served.ctx.faults.script(
        hs.VENDOR, "POST /crm/v3/objects/companies/batch/update", Fault(kind="reject_rows", ids=(ids[1],))
    )
    body = {"inputs": [{"id": i, "properties": {"healthscore_score": "50"}} for i in [*ids, "123"]]}
    result = client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=body)
    assert sorted(r.id for r in result.results) == [ids[0], ids[2]]
    failed = sorted(i for e in result.errors for i in e.context["ids"])
    assert failed == sorted([ids[1], "123"])
    assert {e.category for e in result.errors} == {"VALIDATION_ERROR", "OBJECT_NOT_FOUND"}
    assert set(hs.written_fields(served.ctx)) == {ids[0], ids[2]}


def test_batch_update_over_100_inputs_is_400(served: Served) -> None:
    body = {"inputs": [{"id": str(i), "properties": {"name": "x"}} for i in range(101)]}
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.batch_api.update(
            "companies", batch_input_simple_public_object_batch_input=body
        )
    assert info.value.status == 400
    assert hs.written_fields(served.ctx) == {}


def test_batch_update_unknown_property_is_property_doesnt_exist(served: Served) -> None:
    body = {"inputs": [{"id": hs.company_id("C000001"), "properties": {"no_such_prop": "1"}}]}
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.batch_api.update(
            "companies", batch_input_simple_public_object_batch_input=body
        )
    error = json.loads(info.value.body)
    assert info.value.status == 400
    assert error["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in error["message"]


def test_batch_update_invalid_enumeration_option_is_rejected(served: Served) -> None:
    body = {"inputs": [{"id": hs.company_id("C000001"), "properties": {"customer_segment": "galactic"}}]}
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.batch_api.update(
            "companies", batch_input_simple_public_object_batch_input=body
        )
    assert "INVALID_OPTION" in json.loads(info.value.body)["message"]


# --- associations ------------------------------------------------------------------------------------------


def test_v4_association_page_and_batch_read(served: Served) -> None:
    client = sdk(served)
    cid = hs.company_id("C000002")
    page = client.crm.associations.v4.basic_api.get_page("companies", cid, "tickets", limit=500)
    assert sorted(r.to_object_id for r in page.results) == ["3000004", "3000005"]
    assert_shape(
        DOC_ASSOCIATIONS_V4,
        raw(served, "GET", f"/crm/v4/objects/companies/{cid}/associations/contacts").json(),
    )
    batch = client.crm.associations.v4.batch_api.get_page(
        "tickets",
        "companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": "3000004"}]},
    )
    assert batch.results[0].to[0].to_object_id == cid
    notes = client.crm.associations.v4.batch_api.get_page(
        "notes",
        "tickets",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": "100004003"}]},
    )
    assert notes.results[0].to[0].to_object_id == "3000005"  # note 3 of ticket T0000004


# --- properties and groups ---------------------------------------------------------------------------------


def test_property_and_group_create_then_409(served: Served) -> None:
    client = sdk(served)
    group = raw(
        served, "POST", "/crm/v3/properties/companies/groups", json={"name": "healthscore", "label": "H"}
    )
    assert group.status_code == 201
    assert_shape(DOC_GROUP, group.json())
    definition = {
        "name": "healthscore_band",
        "label": "Band",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "healthscore",
        "options": [{"label": "Green", "value": "green"}],
    }
    created = client.crm.properties.core_api.create("companies", property_create=definition)
    assert created is not None  # the SDK returns None silently unless the status is exactly 201
    assert created.name == "healthscore_band"
    assert_shape(DOC_PROPERTY, raw(served, "GET", "/crm/v3/properties/companies/healthscore_band").json())
    with pytest.raises(PropertiesApiException) as info:
        client.crm.properties.core_api.create("companies", property_create=definition)
    assert info.value.status == 409
    assert json.loads(info.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    with pytest.raises(PropertiesApiException) as ginfo:
        client.crm.properties.groups_api.create(
            "companies", property_group_create={"name": "healthscore", "label": "H"}
        )
    assert ginfo.value.status == 409
    names = {p.name for p in client.crm.properties.core_api.get_all("companies").results}
    assert {"healthscore_band", "name", "zendesk_org_id"} <= names
    groups = {g.name for g in client.crm.properties.groups_api.get_all("companies").results}
    assert groups == {"companyinformation", "healthscore"}


def test_creating_a_property_without_the_schema_scope_is_403_naming_it(served: Served) -> None:
    body = hs.issue_tokens(served.state, served.ctx.now, ["oauth", "crm.schemas.companies.read"])
    resp = raw(
        served,
        "POST",
        "/crm/v3/properties/companies/groups",
        token=body["access_token"],
        json={"name": "healthscore", "label": "H"},
    )
    assert resp.status_code == 403
    error = resp.json()
    assert error["category"] == "MISSING_SCOPES"
    assert error["errors"][0]["context"]["requiredGranularScopes"] == ["crm.schemas.companies.write"]


# --- OAuth -------------------------------------------------------------------------------------------------


def test_refresh_grant_through_the_sdk_tokens_api(served: Served) -> None:
    state = served.state
    token = sdk(served).oauth.tokens_api.create(
        grant_type="refresh_token",
        client_id=state.oauth.client_id,
        client_secret=state.oauth.client_secret,
        refresh_token=served.refresh_token,
    )
    assert token.expires_in == 1800
    assert token.refresh_token == served.refresh_token  # HubSpot does not rotate refresh tokens
    info = sdk(served).oauth.access_tokens_api.get(token.access_token)
    assert info.expires_in == 1800
    assert "crm.objects.companies.read" in info.scopes
    raw_info = raw(served, "GET", f"/oauth/v1/access-tokens/{token.access_token}").json()
    assert_shape(DOC_TOKEN_INFO, raw_info)
    served.ctx.book.now += timedelta(minutes=31)  # 30-minute access tokens, on the sandbox clock
    with pytest.raises(UnauthorizedException) as info_exc:
        sdk(served, token.access_token).crm.objects.basic_api.get_page("companies")
    assert json.loads(info_exc.value.body)["category"] == "EXPIRED_AUTHENTICATION"


def test_authorization_code_with_pkce_via_the_consent_page(served: Served) -> None:
    state = served.state
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {
        "client_id": state.oauth.client_id,
        "redirect_uri": "https://app.example/cb",
        "scope": "oauth crm.objects.companies.read",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = requests.get(
        f"{served.base_url}/oauth/authorize", params=params, verify=served.ca_file, timeout=10
    )
    assert page.status_code == 200
    assert "Allow" in page.text
    assert "Deny" in page.text
    answer = requests.post(
        f"{served.base_url}/oauth/authorize",
        data={**params, "decision": "allow"},
        verify=served.ca_file,
        timeout=10,
        allow_redirects=False,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "client_id": state.oauth.client_id,
        "client_secret": state.oauth.client_secret,
        "redirect_uri": "https://app.example/cb",
        "code": query["code"][0],
    }
    bad = requests.post(
        f"{served.base_url}/oauth/v1/token",
        data={**form, "code_verifier": "wrong"},
        verify=served.ca_file,
        timeout=10,
    )
    assert bad.status_code == 400
    assert bad.json()["status"] == "BAD_AUTH_CODE"
    answer = requests.post(
        f"{served.base_url}/oauth/authorize",
        data={**params, "decision": "allow"},
        verify=served.ca_file,
        timeout=10,
        allow_redirects=False,
    )
    form["code"] = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    good = requests.post(
        f"{served.base_url}/oauth/v1/token",
        data={**form, "code_verifier": verifier},
        verify=served.ca_file,
        timeout=10,
    )
    assert good.status_code == 200
    assert_shape(DOC_TOKEN, good.json())
    info = raw(served, "GET", f"/oauth/v1/access-tokens/{good.json()['access_token']}").json()
    assert info["scopes"] == ["oauth", "crm.objects.companies.read"]


def test_deny_redirects_with_access_denied(served: Served) -> None:
    params = {
        "client_id": served.state.oauth.client_id,
        "redirect_uri": "https://app.example/cb",
        "state": "s1",
    }
    answer = requests.post(
        f"{served.base_url}/oauth/authorize",
        data={**params, "decision": "deny"},
        verify=served.ca_file,
        timeout=10,
        allow_redirects=False,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s1"]


def test_revoked_refresh_token_is_bad_refresh_token(served: Served) -> None:
    state = served.state
    client = sdk(served)
    client.oauth.refresh_tokens_api.archive(served.refresh_token)
    with pytest.raises(OAuthApiException) as info:
        client.oauth.tokens_api.create(
            grant_type="refresh_token",
            client_id=state.oauth.client_id,
            client_secret=state.oauth.client_secret,
            refresh_token=served.refresh_token,
        )
    assert info.value.status == 400
    assert json.loads(info.value.body)["status"] == "BAD_REFRESH_TOKEN"


# --- errors, faults, counters ------------------------------------------------------------------------------


def test_unknown_token_is_401_invalid_authentication(served: Served) -> None:
    with pytest.raises(UnauthorizedException) as info:
        sdk(served, "nope").crm.objects.basic_api.get_page("companies")
    assert json.loads(info.value.body)["category"] == "INVALID_AUTHENTICATION"


def test_rate_limit_fault_is_429_with_hubspot_headers(served: Served) -> None:
    served.ctx.faults.script(
        hs.VENDOR, "GET /crm/v3/objects/companies", Fault(kind="rate_limit", retry_after=3)
    )
    with pytest.raises(ObjectsApiException) as info:
        sdk(served).crm.objects.basic_api.get_page("companies")
    exc = info.value
    assert exc.status == 429
    body = json.loads(exc.body)
    assert_shape(DOC_429, body)
    assert body["category"] == "RATE_LIMITS"
    for header in (
        "X-HubSpot-RateLimit-Daily",
        "X-HubSpot-RateLimit-Daily-Remaining",
        "X-HubSpot-RateLimit-Interval-Milliseconds",
        "X-HubSpot-RateLimit-Max",
        "X-HubSpot-RateLimit-Remaining",
        "X-HubSpot-RateLimit-Secondly",
        "X-HubSpot-RateLimit-Secondly-Remaining",
    ):
        assert header in exc.headers
    assert exc.headers["Retry-After"] == "3"
    assert calls(served, "GET /crm/v3/objects/companies") == 1
    assert sdk(served).crm.objects.basic_api.get_page("companies").results  # one-shot: the next call succeeds


def test_server_error_fault_raises_service_exception_then_clears(served: Served) -> None:
    served.ctx.faults.script(
        hs.VENDOR, "POST /crm/v3/objects/*/search", Fault(kind="server_error", status=502), times=2
    )
    client = sdk(served)
    for _ in range(2):
        with pytest.raises(ServiceException):
            client.crm.objects.search_api.do_search("deals", public_object_search_request={})
    assert client.crm.objects.search_api.do_search("deals", public_object_search_request={}).total == 5
    assert calls(served, "POST /crm/v3/objects/deals/search") == 3


def test_expired_token_fault_is_401(served: Served) -> None:
    served.ctx.faults.script(hs.VENDOR, "*", Fault(kind="expired_token"))
    with pytest.raises(UnauthorizedException) as info:
        sdk(served).crm.objects.basic_api.get_page("tickets")
    assert json.loads(info.value.body)["category"] == "EXPIRED_AUTHENTICATION"


def test_malformed_page_fault_is_a_truncated_200(served: Served) -> None:
    served.ctx.faults.script(hs.VENDOR, "GET /crm/v3/objects/companies", Fault(kind="malformed_page"))
    resp = raw(served, "GET", "/crm/v3/objects/companies")
    assert resp.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
        resp.json()


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/crm/v3/objects/companies/search", b"{not json"),
        (
            "POST",
            "/crm/v3/objects/companies/search",
            b'{"filterGroups":[{"filters":[{"propertyName":"nope","operator":"EQ","value":"1"}]}]}',
        ),
        ("POST", "/crm/v3/objects/companies/batch/update", b'{"inputs": []}'),
        ("POST", "/crm/v3/objects/companies/batch/read", b'{"no_inputs": true}'),
        ("POST", "/crm/v4/associations/widgets/companies/batch/read", b'{"inputs": []}'),
        ("POST", "/crm/v3/properties/companies", b'{"name": "x"}'),
        ("GET", "/crm/v3/objects/companies?limit=abc", b""),
    ],
    ids=[
        "bad-json",
        "unknown-filter-property",
        "empty-batch",
        "no-inputs",
        "unknown-type",
        "incomplete-property",
        "bad-limit",
    ],
)
def test_bad_input_gets_hubspots_400_not_a_crash(
    served: Served, method: str, path: str, payload: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    resp = raw(served, method, path, data=payload, headers_extra=headers)
    assert resp.status_code == 400
    error = resp.json()
    assert_shape(DOC_ERROR, error)
    assert error["category"] == "VALIDATION_ERROR"


def test_unmatched_paths_get_a_hubspot_404_and_are_counted(served: Served) -> None:
    resp = raw(served, "GET", "/crm/v3/objects/widgets")
    assert resp.status_code == 404
    assert resp.json()["category"] == "OBJECT_NOT_FOUND"
    assert calls(served, "GET <unmatched>") == 1


def test_counters_are_exact_per_endpoint(served: Served) -> None:
    client = sdk(served)
    client.crm.companies.basic_api.get_page(limit=2)
    client.crm.companies.basic_api.get_page(limit=2, after=hs.company_id("C000003"))
    client.crm.objects.search_api.do_search("companies", public_object_search_request={})
    assert served.ctx.counters.snapshot() == {
        "hubspot": {"GET /crm/v3/objects/companies": 2, "POST /crm/v3/objects/companies/search": 1}
    }


def test_authorization_code_through_the_sdk_and_the_v3_token_path(served: Served) -> None:
    """Without PKCE the SDK's tokens_api exchanges the code; the dated/v3 token path serves the same grant."""
    state = served.state
    params = {"client_id": state.oauth.client_id, "redirect_uri": "https://app.example/cb", "scope": "oauth"}

    def code() -> str:
        answer = requests.post(
            f"{served.base_url}/oauth/authorize",
            data={**params, "decision": "allow"},
            verify=served.ca_file,
            timeout=10,
            allow_redirects=False,
        )
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    token = sdk(served).oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code(),
        redirect_uri="https://app.example/cb",
        client_id=state.oauth.client_id,
        client_secret=state.oauth.client_secret,
    )
    assert token.token_type == "bearer"
    assert token.expires_in == 1800
    v3 = requests.post(
        f"{served.base_url}/oauth/v3/token",
        data={
            "grant_type": "refresh_token",
            "client_id": state.oauth.client_id,
            "client_secret": state.oauth.client_secret,
            "refresh_token": token.refresh_token,
        },
        verify=served.ca_file,
        timeout=10,
    )
    assert v3.status_code == 200
    assert_shape(DOC_TOKEN, v3.json())
    assert calls(served, "POST /oauth/v1/token") == 1
    assert calls(served, "POST /oauth/v3/token") == 1
