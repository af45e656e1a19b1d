"""Security (audit 4): HubSpot paging that points back at a page already read (a tampered or broken answer)
looped forever, re-reading and re-committing the same pages and holding a worker; it is a malformed answer."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from integrations.base import Stream
from integrations.errors import MalformedResponseError
from integrations.hubspot.client import ObjectPage
from integrations.hubspot.mapping import HubRecord
from integrations.sandbox import hubspot as hs
from tests.integrations.hubspot.conftest import Harness

BOUND = 50  # pages read before the test gives up (the loop was endless)


def _company(i: int) -> HubRecord:
    return HubRecord(
        id=str(i), properties={"name": f"Acme {i}", "hs_lastmodifieddate": "2026-03-01T00:00:00Z"}
    )


def test_a_search_that_repeats_its_page_stops(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = harness.adapter()
    page = ObjectPage(records=[_company(1), _company(2)], next_after="2")  # ignores hs_object_id > 2
    monkeypatch.setattr(adapter._client, "search", lambda *_a, **_k: page)
    with pytest.raises(MalformedResponseError, match="points back"):
        list(itertools.islice(adapter.read(Stream.ACCOUNTS, None), BOUND))


@pytest.mark.parametrize("cycle", [["A"], ["A", "B"]])
def test_a_list_whose_after_points_back_stops(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cycle: list[str]
) -> None:
    adapter = harness.adapter()
    afters = itertools.cycle(cycle)

    def list_page(*_a: Any, **_k: Any) -> ObjectPage:
        return ObjectPage(records=[], next_after=next(afters))

    monkeypatch.setattr(adapter._client, "list_page", list_page)
    with pytest.raises(MalformedResponseError, match="points back"):
        list(itertools.islice(adapter.read(Stream.DEALS, None), BOUND))  # full read: list pages


def test_owner_paging_that_points_back_stops(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    client = harness.adapter()._client
    api = client._api("owners", lambda h: h.crm.owners.owners_api)
    calls = []

    class Paging:
        class next:  # noqa: N801
            after = "same"

    class Response:
        results: list[Any] = []
        paging = Paging

    def get_page(**kwargs: Any) -> Response:
        calls.append(kwargs)
        if len(calls) > BOUND:
            raise AssertionError("owners paged without end")
        return Response()

    monkeypatch.setattr(api, "get_page", get_page)
    with pytest.raises(MalformedResponseError, match="points back"):
        client.owners()
    assert len(calls) == 2


def test_real_paging_still_reads_everything(harness: Harness) -> None:
    pages = list(harness.adapter(page_size=2).read(Stream.ACCOUNTS, None))
    assert len({r.external_id for p in pages for r in p.records}) == 5
    assert hs.company_id("C000005") in {r.external_id for p in pages for r in p.records}
