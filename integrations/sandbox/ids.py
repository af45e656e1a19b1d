"""Deterministic vendor ids for book keys, shared so every vendor sandbox names cross-references alike.

Book keys end in a number ("C000042", "T0001234"); each vendor turns (kind, number) into its own id style:
Salesforce 18-character ids with the object's key prefix, HubSpot and Zendesk numeric ids.
"""

from __future__ import annotations

import re

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

SF_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Case": "500",
    "CaseComment": "00a",
    "EmailMessage": "02s",
    "SurveyResponse": "0Mr",
}
# Distinct numeric ranges per kind so ids never collide across object types in one vendor.
_NUMERIC_BASE = {
    "company": 5_000_000,
    "contact": 7_000_000,
    "deal": 9_000_000,
    "ticket": 3_000_000,
    "comment": 40_000_000,
    "survey": 60_000_000,
    "organization": 360_000_000,
    "user": 380_000_000,
    "ticket_zd": 0,
    "rating": 90_000_000,
}


def number(key: str) -> int:
    """The trailing number of a book key ("C000042" → 42; "C000042-dup" → 42 + 10**7)."""
    m = re.search(r"(\d+)(-dup)?$", key)
    if not m:
        raise ValueError(f"book key without a number: {key!r}")
    return int(m.group(1)) + (10**7 if m.group(2) else 0)


def salesforce_id(sobject: str, key: str) -> str:
    """An 18-character Salesforce-style id: 3-char prefix, pod '5g', then the base-62 number, padded."""
    n = number(key)
    digits = ""
    while True:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
        if n == 0:
            break
    return (SF_PREFIX[sobject] + "5g" + digits.rjust(10, "0") + "AAA")[:18]


def numeric_id(kind: str, key: str) -> str:
    """A HubSpot/Zendesk-style numeric id (as a string) for a book key of `kind`."""
    return str(_NUMERIC_BASE[kind] + number(key) + 1)


def key_from_salesforce_id(sobject: str, sf_id: str) -> int:
    """Inverse of salesforce_id: the number behind an id (ValueError if it is not one of ours)."""
    if not sf_id.startswith(SF_PREFIX[sobject] + "5g"):
        raise ValueError(sf_id)
    n = 0
    for ch in sf_id[5:15]:
        n = n * 62 + _B62.index(ch)
    return n
