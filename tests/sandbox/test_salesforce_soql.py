"""The sandbox's SOQL engine (tokenizer, parser, type checks) without HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from integrations.sandbox import salesforce as sfs


def test_tokenizer_kinds() -> None:
    tokens = sfs.tokenize(
        "SELECT Id FROM Account WHERE SystemModstamp >= 2026-01-02T03:04:05.000+0000 AND Name != 'O\\'Hara'"
    )
    kinds = [(t.kind, t.text) for t in tokens]
    assert ("kw", "SELECT") in kinds
    assert ("datetime", "2026-01-02T03:04:05.000+0000") in kinds
    assert ("string", "'O\\'Hara'") in kinds
    assert kinds[-1] == ("eof", "<EOF>")


def test_keywords_are_case_insensitive_and_literals_are_typed() -> None:
    q = sfs.Parser(
        "select Id from Account where CloseDate = 2026-05-01 and IsDeleted = false and AnnualRevenue > -1.5 limit 3"
    ).parse()
    assert (q.sobject, q.limit) == ("Account", 3)
    assert q.where is not None
    literals = [part.parts[2] for part in q.where.parts]
    assert [(lit.kind, lit.value) for lit in literals] == [
        ("date", date(2026, 5, 1)),
        ("bool", False),
        ("number", -1.5),
    ]


def test_datetime_literals_normalise_to_utc() -> None:
    assert sfs._parse_dt("2026-01-01T02:00:00+0200") == datetime(2026, 1, 1, tzinfo=UTC)
    assert sfs._parse_dt("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "soql",
    [
        "",
        "SELECT",
        "SELECT Id",
        "SELECT Id FROM",
        "SELECT Id FROM Account WHERE Name =",
        "SELECT Id FROM Account WHERE (Name = 'a'",
        "SELECT Id FROM Account WHERE Name IN ()",
        "SELECT Id FROM Account WHERE Name NOT = 'a'",
        "SELECT Id FROM Account ORDER Name",
        "SELECT Id FROM Account LIMIT 5 junk",
        "SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b' AND Id = 'c'",
        "SELECT Id FROM Account WHERE Name LIKE 5",
        "SELECT Id FROM Account WHERE Name = #",
    ],
)
def test_malformed_queries(soql: str) -> None:
    with pytest.raises(sfs.SalesforceApiError) as info:
        sfs.Parser(soql).parse()
    assert (info.value.status, info.value.code) == (400, "MALFORMED_QUERY")
    assert "ERROR at Row:1:Column:" in info.value.message


def test_error_message_points_at_the_column() -> None:
    with pytest.raises(sfs.SalesforceApiError) as info:
        sfs.Parser("SELECT Id FROM Account WHERE").parse()
    assert info.value.message.endswith("ERROR at Row:1:Column:29\nunexpected token: '<EOF>'")


@pytest.mark.parametrize(
    ("rows", "order", "expected"),
    [
        ([3, None, 1, 2], (False, True), [None, 1, 2, 3]),
        ([3, None, 1, 2], (True, False), [3, 2, 1, None]),
        ([3, None, 1, 2], (False, False), [1, 2, 3, None]),
    ],
    ids=["asc-nulls-first", "desc-nulls-last", "asc-nulls-last"],
)
def test_order_rows(rows: list[int | None], order: tuple[bool, bool], expected: list[int | None]) -> None:
    res = sfs.Resolved(None, "Score__c", "double")
    got = sfs.order_rows([{"Score__c": v} for v in rows], [(res, *order)])
    assert [r["Score__c"] for r in got] == expected


def test_like_patterns() -> None:
    assert sfs._like("Cust%r _").match("customer 1")
    assert not sfs._like("Cust%r _").match("customer 10")
    assert sfs._like("100%").match("100% sure")
