"""The read path reads HubSpot's JSON itself (issue 17: the SDK's model deserialisation, every timestamp
through dateutil, was ~7 % of the freshness benchmark's process) while the SDK still sends the requests:
search pages, list pages with inline associations and v4 association batches give exactly the records the
SDK's own models gave, against the sandbox's wire format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot import HubSpot

from integrations.errors import MalformedResponseError
from integrations.hubspot import client as hclient
from integrations.hubspot import mapping, search
from integrations.hubspot.client import HubSpotClient
from integrations.sandbox import hubspot as hs
from integrations.sandbox.context import Fault
from tests.integrations.hubspot.conftest import Harness

TYPES = ("companies", "tickets", "emails", "notes", "feedback_submissions")
PROPS = {
    "companies": ["name", "domain"],
    "tickets": mapping.TICKET_PROPERTIES,
    "emails": mapping.EMAIL_PROPERTIES,
    "notes": mapping.NOTE_PROPERTIES,
    "feedback_submissions": mapping.FEEDBACK_PROPERTIES,
}


def _sdk(h: Harness) -> Any:
    conn = h.connection()
    return HubSpot(
        access_token=conn.tokens.access_token,
        host=conn.base_url.rstrip("/"),
        ssl_ca_cert=conn.ca_file,
        retry=False,
    )


def _window(object_type: str) -> dict[str, Any]:
    return search.window_search(
        modified_property="hs_lastmodifieddate",
        since=None,
        upper=datetime(2100, 1, 1, tzinfo=UTC),
        after_id=None,
        properties=PROPS[object_type],
        limit=7,
    )


@pytest.mark.parametrize("object_type", TYPES)
def test_search_and_list_pages_equal_what_the_sdk_models_give(harness: Harness, object_type: str) -> None:
    client, sdk = HubSpotClient(harness.connection()), _sdk(harness)
    body = _window(object_type)
    page = client.search(object_type, body)
    model = sdk.crm.objects.search_api.do_search(object_type, public_object_search_request=body)
    assert page.records == [hclient._record(o) for o in model.results]
    assert page.records
    assert page.records[0].updated_at is not None
    assert page.records[0].updated_at.tzinfo is not None
    assert (page.next_after, page.total) == (hclient._next_after(model), model.total)

    links = ("companies",) if object_type != "companies" else ()
    listed = client.list_page(object_type, after=None, properties=PROPS[object_type], archived=False,
                              associations=links, limit=5)  # fmt: skip
    model = sdk.crm.objects.basic_api.get_page(
        object_type, limit=5, properties=PROPS[object_type], archived=False, associations=list(links)
    )
    assert listed.records == [hclient._record(o) for o in model.results]
    assert listed.next_after == hclient._next_after(model)


def test_archived_list_and_association_batches_equal_the_sdk(harness: Harness) -> None:
    client, sdk = HubSpotClient(harness.connection()), _sdk(harness)
    archived = client.list_page("companies", after=None, properties=[], archived=True, limit=100)
    model = sdk.crm.objects.basic_api.get_page("companies", limit=100, archived=True)
    assert archived.records == [hclient._record(o) for o in model.results]
    assert all(r.archived_at is not None for r in archived.records)

    tickets = [r.id for r in client.search("tickets", _window("tickets")).records]
    tickets.append("999999999")  # unknown: HubSpot answers 207 with an error row, left out
    got = client.associations("tickets", "companies", tickets)
    rows = sdk.crm.associations.v4.batch_api.get_page(
        "tickets",
        "companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": i} for i in tickets]},
    )
    assert got == {str(r._from.id): [str(t.to_object_id) for t in r.to] for r in rows.results}
    assert got


def test_reads_do_not_build_sdk_models(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails on the SDK-model read path: every object read is deserialised by us, not the SDK."""
    from hubspot.crm.associations.v4 import ApiClient as AssocClient
    from hubspot.crm.objects import ApiClient as ObjectsClient

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the SDK deserialised a read")

    monkeypatch.setattr(ObjectsClient, "deserialize", refuse)
    monkeypatch.setattr(AssocClient, "deserialize", refuse)
    client = HubSpotClient(harness.connection())
    page = client.search("tickets", _window("tickets"))
    assert page.records
    assert client.list_page("tickets", after=None, properties=["subject"], archived=False, limit=3).records
    assert client.associations("tickets", "companies", [r.id for r in page.records])


def test_a_cut_off_body_and_an_unreadable_timestamp_are_malformed(harness: Harness) -> None:
    client = HubSpotClient(harness.connection())
    harness.ctx.faults.script(hs.VENDOR, "POST /crm/v3/objects/tickets/search", Fault(kind="malformed_page"))
    with pytest.raises(MalformedResponseError):
        client.search("tickets", _window("tickets"))
    assert hclient._time("2026-01-31T09:30:00Z") == hclient._time("2026-01-31T09:30:00.000+00:00")
    assert hclient._time("31 Jan 2026 09:30 UTC") == hclient._time(
        "2026-01-31T09:30:00Z"
    )  # dateutil's forms, as the SDK read them
    with pytest.raises(ValueError, match="around noon"):
        hclient._time("around noon")
