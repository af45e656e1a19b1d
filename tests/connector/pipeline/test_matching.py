"""Identity matching rules (pure): explicit id → domain → unique normalised name → unmatched with a reason."""

from __future__ import annotations

import pytest

from connector.pipeline.matching import (
    Candidate,
    Index,
    Org,
    match_email,
    match_org,
    normalise_domain,
    normalise_name,
    usable_domain,
)

BOOK = (
    Candidate(1, "001A", "Acme Corporation", ("acme.com",), None),
    Candidate(2, "001B", "Globex GmbH", ("https://www.globex.de/",), "zd-77"),
    Candidate(3, "001C", "Initech Ltd.", ("initech.io",), None),
    Candidate(4, "001D", "Umbrella", ("shared-host.net",), None),
    Candidate(5, "001E", "Umbrella Pharma", ("shared-host.net",), None),
    Candidate(6, "001F", "Crème Brûlée S.A.", (), None),
    Candidate(7, "001G", "Hooli", ("gmail.com",), None),  # a rep typed a free-mail domain into the CRM
)


def org(
    name: str = "", domains: tuple[str, ...] = (), cross_ref: str | None = None, ext: str = "zd-1"
) -> Org:
    return Org(100, ext, name, domains, cross_ref)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("ACME.com ", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("http://www.acme.com/pricing", "acme.com"),
        ("https://acme.com", "acme.com"),
        ("jane@acme.com", "acme.com"),
        ("acme.com.", "acme.com"),
    ],
    ids=["plain", "case-space", "www", "http-path", "https", "email", "trailing-dot"],
)
def test_normalise_domain(raw: str, expected: str) -> None:
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Inc.", "acme"),
        ("ACME, Incorporated", "acme"),
        ("Globex GmbH", "globex"),
        ("Initech Ltd", "initech"),
        ("Crème Brûlée S.A.", "creme brulee"),
        ("Smith & Sons", "smith sons"),
        ("Foo-Bar Co.", "foo bar"),
        ("McDonald's", "mcdonalds"),
        ("Umbrella Holdings", "umbrella"),
    ],
    ids=[
        "inc",
        "incorporated-comma",
        "gmbh",
        "ltd",
        "accents-sa",
        "ampersand",
        "hyphen-co",
        "apostrophe",
        "holdings",
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("domain", "usable"),
    [("acme.com", True), ("gmail.com", False), ("localhost", False), ("", False)],
    ids=["company", "free-mail", "no-dot", "empty"],
)
def test_usable_domain(domain: str, usable: bool) -> None:
    assert usable_domain(domain) is usable


CASES = [
    # (org, expected account id, method, reason fragment)
    (org("Whatever", cross_ref="001C"), 3, "external_id", "organization external_id"),
    (org("Whatever", ext="zd-77"), 2, "external_id", "CRM record names"),
    (org("Someone", ("acme.com",)), 1, "domain", "unique e-mail domain"),
    (org("Someone", ("http://www.acme.com/about",)), 1, "domain", "unique e-mail domain"),
    (org("Someone", ("support@acme.com",)), 1, "domain", "unique e-mail domain"),
    (org("Someone", ("globex.de",)), 2, "domain", "unique e-mail domain"),
    (org("Initech Limited"), 3, "name", "unique normalised name"),
    (org("initech, ltd"), 3, "name", "unique normalised name"),
    (org("Creme Brulee SA"), 6, "name", "unique normalised name"),
    (org("Someone", ("gmail.com",)), None, "unmatched", "free-mail domain gmail.com never auto-links"),
    (org("Someone", ("shared-host.net",)), None, "unmatched", "shared by several CRM accounts"),
    (org("Nobody at all"), None, "unmatched", "no rule matched"),
    (org("Hooli", ("gmail.com",)), 7, "name", "unique normalised name"),
    (org("Acme", cross_ref="does-not-exist"), 1, "name", "unique normalised name"),
]


@pytest.mark.parametrize(
    ("the_org", "account_id", "method", "reason"),
    CASES,
    ids=[
        "org-names-crm-id",
        "crm-names-org-id",
        "domain",
        "domain-url-form",
        "domain-email-form",
        "domain-www-on-crm-side",
        "name-suffix",
        "name-punctuation",
        "name-accents",
        "free-mail-never",
        "shared-domain-never",
        "nothing",
        "free-mail-crm-domain-ignored-name-wins",
        "unknown-cross-ref-falls-through",
    ],
)
def test_match_org_rules(the_org: Org, account_id: int | None, method: str, reason: str) -> None:
    found = match_org(the_org, Index(BOOK))
    assert (found.crm_account_id, found.method) == (account_id, method)
    assert reason in found.reason
    assert found.confidence == (0.0 if account_id is None else found.confidence)


def test_ambiguous_name_is_unmatched_with_reason() -> None:
    """Two CRM accounts normalise to the same name: never guess, say why."""
    book = (*BOOK, Candidate(8, "001H", "Initech Inc", (), None))
    found = match_org(org("Initech"), Index(book))
    assert found.crm_account_id is None
    assert found.method == "unmatched"
    assert found.reason == "several CRM accounts have this name"


def test_shared_domain_falls_back_to_a_unique_name() -> None:
    """A shared domain links nothing by itself, but the unique name still may (rules are in order)."""
    found = match_org(org("Umbrella Pharma", ("shared-host.net",)), Index(BOOK))
    assert (found.crm_account_id, found.method) == (5, "name")


def test_explicit_id_beats_domain_and_name() -> None:
    found = match_org(org("Acme Corporation", ("acme.com",), cross_ref="001C"), Index(BOOK))
    assert (found.crm_account_id, found.method, found.confidence) == (3, "external_id", 1.0)


def test_two_crm_records_naming_the_same_org_is_not_an_explicit_match() -> None:
    book = (*BOOK, Candidate(9, "001I", "Globex Twin", (), "zd-77"))
    found = match_org(org("Nobody", ext="zd-77"), Index(book))
    assert found.method != "external_id"


def test_org_domains_pointing_at_two_accounts_do_not_link() -> None:
    found = match_org(org("Someone", ("acme.com", "initech.io")), Index(BOOK))
    assert found.crm_account_id is None


@pytest.mark.parametrize(
    ("email", "account_id"),
    [
        ("jane@acme.com", 1),
        ("JANE@WWW.ACME.COM", 1),
        ("jane@gmail.com", None),
        ("ops@shared-host.net", None),
        ("jane@unknown.org", None),
        ("not-an-email", None),
        (None, None),
    ],
    ids=["owner", "case-www", "free-mail", "shared", "unknown", "malformed", "none"],
)
def test_match_email(email: str | None, account_id: int | None) -> None:
    assert match_email(email, Index(BOOK)) == account_id
