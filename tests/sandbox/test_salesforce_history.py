"""The Salesforce sandbox serves AccountHistory (the field history of Active_Users__c) as Salesforce does, read
by the unmodified simple-salesforce: one row per change of the book's usage_path, OldValue/NewValue as JSON
numbers, CreatedDate/Id order, nextRecordsUrl paging, ids that survive a restart and a tick, no filtering on
the anyType values, and INVALID_TYPE for an org that does not offer the object to the integration user.

Fields and types: the object reference ("StandardObjectNameHistory", "AccountHistory"; DataType "Double" for
a number field; OldValue/NewValue anyType: Nillable, Sort, not Filter) and the field reference (Id, IsDeleted,
AccountId, CreatedById, CreatedDate, DataType, Field, NewValue, OldValue; no SystemModstamp).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from integrations.sandbox import salesforce as sfs
from integrations.sandbox.book import Book
from integrations.sandbox.context import Faults, SandboxContext
from integrations.sandbox.ids import salesforce_id
from integrations.sandbox.salesforce.render import render_account_history
from integrations.sandbox.seed import advance, generate_book

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")

FIELDS = "Id, AccountId, Field, DataType, OldValue, NewValue, CreatedDate, CreatedById, IsDeleted"
QUERY = f"SELECT {FIELDS} FROM AccountHistory WHERE Field IN ('Active_Users__c', 'Licensed_Seats__c')"


@pytest.fixture
def sf(sandbox: SandboxSet) -> Iterator[Salesforce]:
    creds = sandbox.credentials()["salesforce"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_file or True
    yield Salesforce(instance_url=creds["base_url"], session_id=creds["access_token"], session=session)
    session.close()


def _expected(book: Book, *, deleted: bool) -> Counter[tuple[str, str, float, float]]:
    """(AccountId, CreatedDate, OldValue, NewValue) of every change in the book's usage paths."""
    out: Counter[tuple[str, str, float, float]] = Counter()
    for c in book.customers.values():
        if not c.salesforce.present or (not deleted and (c.salesforce.deleted_at or c.deleted_at)):
            continue
        for (_, old), (when, new) in zip(c.usage_path, c.usage_path[1:], strict=False):
            if new != old:
                out[(salesforce_id("Account", c.key), sfs.sf_datetime(when), float(old), float(new))] += 1
    return out


def _got(rows: list[dict[str, Any]]) -> Counter[tuple[str, str, float, float]]:
    return Counter((r["AccountId"], r["CreatedDate"], r["OldValue"], r["NewValue"]) for r in rows)


def _all_pages(sf: Salesforce, soql: str, *, include_deleted: bool, batch: int) -> list[dict[str, Any]]:
    page = sf.query(
        soql, include_deleted=include_deleted, headers={"Sforce-Query-Options": f"batchSize={batch}"}
    )
    rows = list(page["records"])
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        rows.extend(page["records"])
    return rows


def test_sdk_reads_every_change_of_the_usage_path(sandbox: SandboxSet, sf: Salesforce) -> None:
    soql = f"{QUERY} ORDER BY CreatedDate, Id"
    rows = _all_pages(sf, soql, include_deleted=True, batch=500)
    assert len(rows) > 1000  # ~3.5 pages of 500: the locator paging is exercised
    assert _got(rows) == _expected(sandbox.ctx.book, deleted=True)
    live = sf.query_all(soql)["records"]
    assert _got(live) == _expected(sandbox.ctx.book, deleted=False)
    assert {r["IsDeleted"] for r in live} == {False}

    assert [(r["CreatedDate"], r["Id"]) for r in rows] == sorted((r["CreatedDate"], r["Id"]) for r in rows)
    assert len({r["Id"] for r in rows}) == len(rows)
    first = rows[0]
    assert first["attributes"] == {
        "type": "AccountHistory",
        "url": f"/services/data/v59.0/sobjects/AccountHistory/{first['Id']}",
    }
    assert list(first)[1:] == [f.strip() for f in FIELDS.split(",")]
    assert first["Id"].startswith("017")
    assert len(first["Id"]) == 18
    assert {(r["Field"], r["DataType"]) for r in rows} == {("Active_Users__c", "Double")}
    # anyType values of a number field are JSON numbers (the SDK hands over what json() parsed)
    assert all(type(r["OldValue"]) is float and type(r["NewValue"]) is float for r in rows)
    assert all(r["OldValue"] != r["NewValue"] for r in rows)  # an unchanged save writes no history
    # the usage export's integration user wrote them, and it is a User the relationship finds
    creators = sf.query_all("SELECT Id, CreatedBy.Name FROM AccountHistory LIMIT 1")["records"]
    assert creators[0]["CreatedBy"]["Name"] == "Usage Export"
    assert {r["CreatedById"] for r in rows} == {
        creators[0]["CreatedBy"]["attributes"]["url"].rsplit("/", 1)[1]
    }


def test_created_date_window_and_order(sandbox: SandboxSet, sf: Salesforce) -> None:
    since = datetime(2026, 6, 1, 6, tzinfo=UTC)  # a change instant: > excludes it, >= keeps it
    soql = (
        f"{QUERY} AND CreatedDate > 2026-06-01T06:00:00Z AND CreatedDate <= 2026-09-15T00:00:00Z "
        "ORDER BY CreatedDate ASC, Id ASC"
    )
    rows = sf.query_all(soql, include_deleted=True)["records"]
    want = Counter(
        {
            k: n
            for k, n in _expected(sandbox.ctx.book, deleted=True).items()
            if sfs.sf_datetime(since) < k[1] <= "2026-09-15T00:00:00.000+0000"
        }
    )
    assert want
    assert _got(rows) == want
    monthly = {r["CreatedDate"][:10] for r in rows if r["NewValue"]}  # a churn writes 0 on its own date
    assert monthly == {"2026-07-01", "2026-08-01", "2026-09-01"}


def test_ids_survive_a_restart_and_a_tick() -> None:
    def ctx(book: Book) -> SandboxContext:
        return SandboxContext(book=book, vendors={"salesforce": sfs.make_state(3)}, faults=Faults())

    book = generate_book(seed=3, accounts=40)
    before = {r["Id"]: r for r in render_account_history(ctx(book))}
    again = {r["Id"]: r for r in render_account_history(ctx(generate_book(seed=3, accounts=40)))}
    assert before == again
    then = book.now
    assert then == datetime(2026, 11, 1, tzinfo=UTC)
    advance(book, 40)  # crosses 1 November and 1 December at 06:00, when the usage export writes
    after = {r["Id"]: r for r in render_account_history(ctx(book))}
    assert before.items() <= after.items()
    new = [r for r in after.values() if r["Id"] not in before]
    assert all(then < r["CreatedDate"] <= book.now for r in new)
    assert {r["CreatedDate"] for r in new if r["NewValue"]} == {
        datetime(2026, 11, 1, 6, tzinfo=UTC),
        datetime(2026, 12, 1, 6, tzinfo=UTC),
    }


def test_values_cannot_be_filtered_on(sf: Salesforce) -> None:
    for where in ("NewValue > 10", "OldValue = null"):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query(f"SELECT Id FROM AccountHistory WHERE {where}")
        body = info.value.content[0]
        assert body["errorCode"] == "INVALID_FIELD"
        assert f"field '{where.split()[0]}' can not be filtered in a query call" in body["message"]
    ordered = sf.query("SELECT Id, NewValue FROM AccountHistory ORDER BY NewValue DESC LIMIT 3")["records"]
    values = [r["NewValue"] for r in ordered]
    assert values == sorted(values, reverse=True)  # sorting on them is allowed


def test_describe_is_read_only_with_any_type_values(sf: Salesforce) -> None:
    desc = sf.restful("sobjects/AccountHistory/describe")
    assert (desc["name"], desc["keyPrefix"], desc["createable"], desc["updateable"]) == (
        "AccountHistory",
        "017",
        False,
        False,
    )
    fields = {f["name"]: f for f in desc["fields"]}
    assert set(fields) == {f.strip() for f in FIELDS.split(",")}
    assert "SystemModstamp" not in fields
    assert (fields["NewValue"]["type"], fields["NewValue"]["filterable"]) == ("anyType", False)
    assert (fields["Field"]["type"], fields["Field"]["filterable"]) == ("picklist", True)
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert not any(f["updateable"] or f["createable"] for f in desc["fields"])


def test_an_org_without_the_object_answers_invalid_type(sandbox: SandboxSet, sf: Salesforce) -> None:
    sandbox.ctx.vendors["salesforce"].extra["hidden_objects"] = {"AccountHistory"}
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(f"{QUERY} ORDER BY CreatedDate")
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'AccountHistory' is not supported" in info.value.content[0]["message"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/AccountHistory/describe")
    assert sf.query("SELECT Id FROM Account LIMIT 1")["records"]  # the rest of the org is as it was
