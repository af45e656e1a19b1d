"""Conformance: the unmodified simple-salesforce against the Salesforce sandbox over TLS.

Shapes are checked against examples written from the public REST API reference (developer.salesforce.com:
"Execute a SOQL Query", "Update Records Using sObject Collections", "sObject Describe", Tooling "CustomField",
"Status Codes and Error Responses"); counters are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from integrations.sandbox import salesforce as sfs
from integrations.sandbox.context import Fault
from integrations.sandbox.ids import salesforce_id
from tests.integrations.salesforce.factory import SalesforceSandbox, make_book, served

QUERY = "GET /services/data/v59.0/query/"
QUERY_MORE = "GET /services/data/v59.0/query/<locator>"
COMPOSITE = "PATCH /services/data/v59.0/composite/sobjects"

# "Execute a SOQL Query" — example response body (developer.salesforce.com, REST API guide).
DOC_QUERY_PAGE = {
    "totalSize": 3222,
    "done": False,
    "nextRecordsUrl": "/services/data/v59.0/query/01gRO0000016PIAYA2-500",
    "records": [
        {
            "attributes": {
                "type": "Contact",
                "url": "/services/data/v59.0/sobjects/Contact/003RO0000035WQgYAM",
            },
            "Id": "003RO0000035WQgYAM",
            "Name": "John Smith",
        }
    ],
}
# "Update Records Using sObject Collections" — example response body.
DOC_COLLECTION_RESULT = [
    {"id": "001RM000003oLrHYAU", "success": True, "errors": []},
    {
        "success": False,
        "errors": [
            {
                "statusCode": "MALFORMED_ID",
                "message": "Contact ID: id value of incorrect type: 001xx000003DGb2999",
                "fields": ["Id"],
            }
        ],
    },
]
# "Status Codes and Error Responses" — error body.
DOC_ERROR = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
# sObject Describe — the keys of one entry of "fields" our adapter and the SDK rely on.
DOC_DESCRIBE_FIELD_KEYS = {
    "name",
    "label",
    "type",
    "custom",
    "updateable",
    "createable",
    "nillable",
    "length",
}


def client(sb: SalesforceSandbox, token: str | None = None) -> Salesforce:
    return Salesforce(instance_url=sb.base_url, session_id=token or sb.access_token, session=sb.session())


@pytest.fixture(scope="module")
def _server() -> Iterator[SalesforceSandbox]:
    with served(make_book(6)) as sandbox:
        yield sandbox


@pytest.fixture
def sb(_server: SalesforceSandbox) -> SalesforceSandbox:
    return _server.reset(make_book(6))


@pytest.fixture
def sf(sb: SalesforceSandbox) -> Salesforce:
    return client(sb)


@pytest.fixture(scope="module")
def big() -> Iterator[SalesforceSandbox]:
    with served(make_book(105, contacts_per=20, deals_per=0, tickets_per=0)) as sandbox:
        yield sandbox


# ---- query paging ----------------------------------------------------------------------------------------


def test_query_pages_at_2000_and_query_more_reaches_the_end(big: SalesforceSandbox) -> None:
    sf = client(big)
    before = big.ctx.counters.get("salesforce", QUERY_MORE)
    first = sf.query("SELECT Id, Name, Account.Name FROM Contact")
    assert set(first) == set(DOC_QUERY_PAGE)
    assert (first["totalSize"], first["done"], len(first["records"])) == (2100, False, 2000)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    record = first["records"][0]
    assert next(iter(record)) == "attributes"
    assert set(record["attributes"]) == set(DOC_QUERY_PAGE["records"][0]["attributes"])  # type: ignore[index]
    assert record["Account"]["Name"].startswith("Customer ")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["done"], len(second["records"]), "nextRecordsUrl" in second) == (True, 100, False)
    assert big.ctx.counters.get("salesforce", QUERY_MORE) - before == 1
    again = sf.query_more(
        first["nextRecordsUrl"], identifier_is_url=True
    )  # locators can be re-read (retries)
    assert again["records"] == second["records"]


def test_query_all_follows_every_page(big: SalesforceSandbox) -> None:
    sf = client(big)
    q0, m0 = big.ctx.counters.get("salesforce", QUERY), big.ctx.counters.get("salesforce", QUERY_MORE)
    result = sf.query_all("SELECT Id FROM Contact ORDER BY Id")
    ids = [r["Id"] for r in result["records"]]
    assert len(ids) == len(set(ids)) == 2100
    assert ids == sorted(ids)
    assert big.ctx.counters.get("salesforce", QUERY) - q0 == 1
    assert big.ctx.counters.get("salesforce", QUERY_MORE) - m0 == 1


def test_batch_size_header_sets_the_page_size(big: SalesforceSandbox) -> None:
    sf = client(big)
    page = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    assert page["nextRecordsUrl"].endswith("-500")
    tiny = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=5"})
    assert len(tiny["records"]) == 200  # Salesforce's minimum batch size


def test_query_all_returns_deleted_rows_and_query_does_not(sb: SalesforceSandbox, sf: Salesforce) -> None:
    sb.ctx.book.contacts["K0001000"].deleted_at = sb.ctx.book.now
    soql = "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true"
    assert sf.query_all(soql)["totalSize"] == 0
    deleted = sf.query_all(soql, include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(salesforce_id("Contact", "K0001000"), True)]
    assert sb.ctx.counters.get("salesforce", "GET /services/data/v59.0/queryAll/") == 1


def test_next_records_url_of_query_all_stays_under_query_all(big: SalesforceSandbox) -> None:
    page = client(big).query("SELECT Id FROM Contact", include_deleted=True)
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/queryAll/")


def test_unknown_locator_is_invalid_query_locator(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("/services/data/v59.0/query/01g5gNOPE-2000", identifier_is_url=True)
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# ---- SOQL subset -----------------------------------------------------------------------------------------


def names(sf: Salesforce, where: str, obj: str = "Account", field: str = "Name") -> list[str]:
    return [
        r[field] for r in sf.query_all(f"SELECT {field} FROM {obj} WHERE {where} ORDER BY {field}")["records"]
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'customer 2'", ["Customer 2"]),  # text comparisons are case-insensitive
        (
            "Name != 'Customer 2' AND Name != 'Customer 3'",
            ["Customer 1", "Customer 4", "Customer 5", "Customer 6"],
        ),
        ("AnnualRevenue >= 40000", ["Customer 4", "Customer 5", "Customer 6"]),
        ("AnnualRevenue < 20000", ["Customer 1"]),
        ("AnnualRevenue <= 20000 OR AnnualRevenue > 50000", ["Customer 1", "Customer 2", "Customer 6"]),
        ("Name IN ('Customer 1', 'Customer 5', 'Nobody')", ["Customer 1", "Customer 5"]),
        (
            "Name NOT IN ('Customer 1', 'Customer 5')",
            ["Customer 2", "Customer 3", "Customer 4", "Customer 6"],
        ),
        ("Name LIKE 'Customer _'", [f"Customer {i}" for i in range(1, 7)]),
        ("Website LIKE '%customer3%'", ["Customer 3"]),
        ("(Name = 'Customer 1' OR Name = 'Customer 2') AND AnnualRevenue > 15000", ["Customer 2"]),
        ("NOT Name = 'Customer 1' AND Segment__c = 'SMB'", ["Customer 3", "Customer 6"]),
        ("Zendesk_Organization_Id__c = null", ["Customer 1", "Customer 3", "Customer 5"]),
        ("SystemModstamp > 2026-05-02T11:56:30Z", ["Customer 1", "Customer 2", "Customer 3"]),
        ("SystemModstamp < 2026-05-02T13:55:00+02:00", ["Customer 6"]),
        ("SystemModstamp <= 2026-05-02T11:55:00.000Z", ["Customer 5", "Customer 6"]),
        ("Renewal_Date__c <= 2026-09-02", ["Customer 1"]),
        ("Owner.Name = 'Rep 1'", ["Customer 1", "Customer 5"]),
    ],
)
def test_soql_where(sf: Salesforce, where: str, expected: list[str]) -> None:
    assert names(sf, where) == expected


def test_order_by_desc_nulls_last_limit_offset(sf: Salesforce) -> None:
    soql = "SELECT Name FROM Account ORDER BY Zendesk_Organization_Id__c DESC NULLS LAST, Name ASC LIMIT 4 OFFSET 1"
    assert [r["Name"] for r in sf.query(soql)["records"]] == [
        "Customer 4",
        "Customer 2",
        "Customer 1",
        "Customer 3",
    ]


def test_relationship_fields_on_children(sf: Salesforce) -> None:
    rows = sf.query_all("SELECT Id, Parent.Subject, CreatedBy.UserType FROM CaseComment")["records"]
    assert rows
    assert {r["CreatedBy"]["UserType"] for r in rows} == {"Standard", "CspLitePortal"}
    assert all(r["Parent"]["Subject"].startswith("Problem ") for r in rows)


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Id = 'b' OR Id = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id, FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
        ("DELETE FROM Account", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Account.Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE AnnualRevenue > 'lots'", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
    ],
)
def test_bad_soql_gets_salesforce_errors(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    assert info.value.status == 400
    assert set(info.value.content[0]) >= set(DOC_ERROR[0])
    assert info.value.content[0]["errorCode"] == code


# ---- describe, records, limits ---------------------------------------------------------------------------


def test_describe_lists_fields_and_our_custom_fields(sf: Salesforce) -> None:
    before = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {
        "Id",
        "Name",
        "SystemModstamp",
        "IsDeleted",
        "AnnualRevenue",
        "Zendesk_Organization_Id__c",
    } <= before
    created = sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Account.Health_Score__c",
            "Metadata": {"label": "Health Score", "type": "Number", "precision": 5, "scale": 1},
        },
    )
    assert set(created) == {"id", "success", "errors", "warnings", "infos"}
    assert created["success"] is True
    desc = sf.Account.describe()
    field = next(f for f in desc["fields"] if f["name"] == "Health_Score__c")
    assert set(field) >= DOC_DESCRIBE_FIELD_KEYS
    assert (field["type"], field["custom"], field["updateable"], field["precision"], field["scale"]) == (
        "double",
        True,
        True,
        5,
        1,
    )
    assert desc["name"] == "Account"
    assert desc["keyPrefix"] == "001"


def test_duplicate_custom_field_is_refused(sf: Salesforce) -> None:
    data = {
        "FullName": "Account.Health_Band__c",
        "Metadata": {"label": "Health Band", "type": "Text", "length": 20},
    }
    sf.toolingexecute("sobjects/CustomField", method="POST", data=data)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.toolingexecute("sobjects/CustomField", method="POST", data=data)
    assert info.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_describe_of_an_unknown_object_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Widget__c.describe()
    assert info.value.content[0]["errorCode"] == "NOT_FOUND"


def test_get_and_update_one_record(sb: SalesforceSandbox, sf: Salesforce) -> None:
    rid = salesforce_id("Account", "C000001")
    assert sf.Account.get(rid)["Name"] == "Customer 1"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("0015gNOPE000000AAA")
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={"FullName": "Account.Note__c", "Metadata": {"label": "Note", "type": "Text", "length": 20}},
    )
    assert sf.Account.update(rid, {"Note__c": "hi"}) == 204
    assert sfs.written_fields(sb.ctx) == {rid: {"Note__c": "hi"}}
    assert sfs.written_fields(sb.ctx, ids=[rid, "0015gNOPE000000AAA"]) == {rid: {"Note__c": "hi"}}


def test_limits_and_api_usage_header(sb: SalesforceSandbox, sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Account")
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 2}
    assert sf.api_usage["api-usage"].used == 2
    assert sf.api_usage["api-usage"].total == 15000


# ---- sObject Collections ---------------------------------------------------------------------------------


def _field(sf: Salesforce, name: str = "Health_Score__c", meta: dict[str, Any] | None = None) -> None:
    sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": f"Account.{name}",
            "Metadata": meta or {"label": name, "type": "Number", "precision": 5, "scale": 1},
        },
    )


def _rec(rid: str, **values: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "id": rid, **values}


def test_collection_update_partial_failure_is_http_200(sb: SalesforceSandbox, sf: Salesforce) -> None:
    _field(sf)
    good = salesforce_id("Account", "C000001")
    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [_rec(good, Health_Score__c=50), _rec("003xx000003DGb2999", Health_Score__c=1)],
        },
    )
    assert [set(r) for r in result] == [set(r) for r in DOC_COLLECTION_RESULT]
    assert result[0] == {"id": good, "success": True, "errors": []}
    assert result[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert sfs.written_fields(sb.ctx) == {good: {"Health_Score__c": 50.0}}


def test_collection_update_all_or_none_rolls_back(sb: SalesforceSandbox, sf: Salesforce) -> None:
    _field(sf)
    good = salesforce_id("Account", "C000001")
    bad = salesforce_id("Account", "C000002")
    sb.ctx.faults.script("salesforce", COMPOSITE, Fault("reject_rows", ids=(bad,)))
    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"allOrNone": True, "records": [_rec(good, Health_Score__c=1), _rec(bad, Health_Score__c=2)]},
    )
    assert [r["success"] for r in result] == [False, False]
    assert result[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert result[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert sfs.written_fields(sb.ctx) == {}


def test_collection_update_over_200_records_is_refused(sb: SalesforceSandbox, sf: Salesforce) -> None:
    _field(sf)
    rid = salesforce_id("Account", "C000001")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"allOrNone": False, "records": [_rec(rid, Health_Score__c=1)] * 201},
        )
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sfs.written_fields(sb.ctx) == {}


@pytest.mark.parametrize(
    ("values", "code"),
    [({"Nope__c": 1}, "INVALID_FIELD"), ({"Health_Score__c": "high"}, "JSON_PARSER_ERROR")],
    ids=["unknown-field", "wrong-type"],
)
def test_collection_update_bad_content_rejects_the_request(
    sf: Salesforce, values: dict[str, Any], code: str
) -> None:
    _field(sf)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [_rec(salesforce_id("Account", "C000001"), **values)]},
        )
    assert info.value.content[0]["errorCode"] == code


def test_write_bumps_system_modstamp(sb: SalesforceSandbox, sf: Salesforce) -> None:
    _field(sf)
    sb.ctx.book.now += timedelta(hours=2)
    rid = salesforce_id("Account", "C000003")
    sf.restful("composite/sobjects", method="PATCH", json={"records": [_rec(rid, Health_Score__c=3)]})
    row = sf.query(f"SELECT SystemModstamp, Health_Score__c FROM Account WHERE Id = '{rid}'")["records"][0]
    assert row["SystemModstamp"] == sfs.sf_datetime(sb.ctx.book.now)
    assert row["Health_Score__c"] == 3.0


# ---- errors and faults -----------------------------------------------------------------------------------


def test_bad_token_is_expired_session(sb: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceExpiredSession) as info:
        client(sb, token="00Dnope!nope").query("SELECT Id FROM Account")
    assert info.value.content == DOC_ERROR


@pytest.mark.parametrize(
    ("fault", "exc", "status", "code"),
    [
        (Fault("expired_token"), SalesforceExpiredSession, 401, "INVALID_SESSION_ID"),
        (Fault("quota"), SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
        (Fault("server_error", status=503), SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
        (Fault("server_error", status=500), SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"),
        (Fault("rate_limit", retry_after=3), SalesforceGeneralError, 429, "TOO_MANY_REQUESTS"),
    ],
    ids=["expired", "quota", "503", "500", "429"],
)
def test_faults_map_to_the_sdk_exceptions(
    sb: SalesforceSandbox, sf: Salesforce, fault: Fault, exc: type[Exception], status: int, code: str
) -> None:
    sb.ctx.faults.script("salesforce", QUERY, fault)
    with pytest.raises(exc) as info:
        sf.query("SELECT Id FROM Account")
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.content[0]["errorCode"] == code  # type: ignore[attr-defined]
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 6  # a scripted fault fires once
    assert sb.ctx.counters.get("salesforce", QUERY) == 2


def test_rate_limit_carries_retry_after(sb: SalesforceSandbox) -> None:
    sb.ctx.faults.script("salesforce", QUERY, Fault("rate_limit", retry_after=7))
    resp = sb.session().get(
        f"{sb.base_url}/services/data/v59.0/query/",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {sb.access_token}"},
    )
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "7")
    assert resp.headers["Sforce-Limit-Info"] == "api-usage=1/15000"


def test_malformed_page_fault_is_not_json(sb: SalesforceSandbox, sf: Salesforce) -> None:
    sb.ctx.faults.script("salesforce", QUERY, Fault("malformed_page"))
    with pytest.raises(requests.exceptions.JSONDecodeError):  # the SDK's json() on a cut-off body
        sf.query("SELECT Id FROM Account")


def test_scripted_sequence_and_rate_faults(sb: SalesforceSandbox, sf: Salesforce) -> None:
    sb.ctx.faults.script("salesforce", QUERY, Fault("server_error", status=503), times=2)
    outcomes = []
    for _ in range(3):
        try:
            sf.query("SELECT Id FROM Account")
            outcomes.append("ok")
        except SalesforceGeneralError:
            outcomes.append("503")
    assert outcomes == ["503", "503", "ok"]
    sb.ctx.faults.rate("salesforce", "GET *", Fault("quota"), rate=1.0)
    for _ in range(3):
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM Account")
    sb.ctx.faults.clear("salesforce")
    assert sf.query("SELECT Id FROM Account")["done"] is True
    assert sb.ctx.counters.snapshot()["salesforce"] == {QUERY: 7}


def test_unknown_path_is_not_found_and_counted(sb: SalesforceSandbox, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("nope/nothing")
    assert sb.ctx.counters.get("salesforce", "GET <unmatched>") == 1
