"""Security (audit 4): values a customer's own Salesforce users type. ARR and the renewal date come from
fields the tenant maps; when such a field is a Text field, "next year" or "about 10k" made the whole
Account page a MappingError (a malformed page): the stream failed on every pass and scoring stayed skipped
for the workspace. Such a value is now unknown; the rest of the account is read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from integrations.records import AccountRecord
from integrations.salesforce import mapping

FMAP = mapping.field_map({"renewal_date_field": "Renewal_Text__c", "arr_field": "ARR_Text__c"})
STAMP = "2026-03-01T10:00:00.000+0000"


@pytest.mark.parametrize("typed", ["next year", "31/12/2026", "about 10k", "2026-13-45"])
def test_a_typed_mapped_value_is_unknown_not_a_malformed_page(typed: str) -> None:
    row = {
        "Id": "001A",
        "Name": "Acme",
        "SystemModstamp": STAMP,
        "Renewal_Text__c": typed,
        "ARR_Text__c": typed,
    }
    rec = mapping.to_record("Account", row, FMAP)
    assert isinstance(rec, AccountRecord)
    assert (rec.name, rec.renewal_date, rec.arr) == ("Acme", None, None)


def test_readable_mapped_values_are_kept() -> None:
    row = {
        "Id": "001A",
        "Name": "Acme",
        "SystemModstamp": STAMP,
        "Renewal_Text__c": "2026-09-01",
        "ARR_Text__c": 12000,
    }
    rec = mapping.to_record("Account", row, FMAP)
    assert isinstance(rec, AccountRecord)
    assert (rec.renewal_date, rec.arr) == (date(2026, 9, 1), Decimal("12000"))


def test_a_row_without_its_modstamp_is_still_malformed() -> None:
    with pytest.raises(mapping.MappingError):
        mapping.to_record("Account", {"Id": "001A", "Name": "Acme"}, FMAP)
