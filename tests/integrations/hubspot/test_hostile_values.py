"""Values a customer's own users type into HubSpot (security audit 4): a property the tenant mapped as a
date may be a text property, so "soon" or a 20-digit number must not stop the tenant's sync."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from integrations.base import Stream
from integrations.errors import IntegrationError
from integrations.hubspot import mapping
from integrations.hubspot.mapping import HubRecord, Settings
from integrations.sandbox import hubspot as hs
from tests.integrations.hubspot.conftest import Harness

TYPED = ["soon", "31/12/2026", "99999999999999999999", "10000-01-01", "2026-13-01"]


@pytest.mark.parametrize("typed", TYPED)
def test_an_unreadable_mapped_date_is_no_date(typed: str) -> None:
    s = Settings(renewal_date_property="renewal_text", metric_properties={"go_live": "date"})
    rec = HubRecord(
        id="1",
        properties={"name": "Acme", "renewal_text": typed, "go_live": typed},
        updated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    account = mapping.to_account(rec, s)
    assert account.renewal_date is None
    assert account.metrics == {"go_live": None}
    ok = HubRecord(id="2", properties={"renewal_text": "2026-09-01"}, updated_at=rec.updated_at)
    assert mapping.to_account(ok, s).renewal_date == date(2026, 9, 1)


@pytest.mark.parametrize("typed", ["soon", "99999999999999999999"])
def test_a_typed_value_mapped_as_a_date_does_not_crash_the_read(harness: Harness, typed: str) -> None:
    """`plan` is a text property: mapped as the renewal date, a user's typing reached date.fromisoformat /
    datetime.fromtimestamp and a ValueError/OSError (not an IntegrationError) escaped adapter.read, which
    stopped the tenant's whole sync step on every pass."""
    cid = hs.company_id("C000001")
    harness.adapter()._client.batch_update("companies", [{"id": cid, "properties": {"plan": typed}}])
    adapter = harness.adapter(settings={"renewal_date_property": "plan"})
    try:
        pages = list(adapter.read(Stream.ACCOUNTS, None))
    except IntegrationError:  # at worst a failed stream, never a crash of the sync step
        pytest.fail("one typed value failed the whole stream")
    accounts = {r.external_id: r for p in pages for r in p.records}
    assert accounts[cid].renewal_date is None
    assert len(accounts) == 5


def test_any_other_unreadable_value_skips_that_record_not_the_sync_step(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever else a record carries that the mapping cannot read skips that record (logged and counted
    on its page, tests/integrations/*/test_unreadable_records.py), as for Zendesk and Salesforce: never an
    exception out of adapter.read that stopped the sync step (it failed the whole page before, audit 4)."""

    def unreadable(*_: object) -> None:
        raise ValueError("Invalid isoformat string")

    monkeypatch.setattr(mapping, "to_account", unreadable)
    pages = list(harness.adapter().read(Stream.ACCOUNTS, None))
    assert [r for p in pages for r in p.records] == []
    assert sum(p.unreadable for p in pages) == 5
