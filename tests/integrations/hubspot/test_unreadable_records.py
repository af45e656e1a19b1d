"""Security (audit 4): one HubSpot object without an id, or whose modification time cannot be read, made its
whole page a MalformedResponseError, on every pass, so the stream stopped for the tenant for good. Now that
object is skipped with a warning and counted on its page (Page.unreadable), the rest of the page is read,
and the skipped object's time never moves the cursor. Real SDK pages from the sandbox, objects spoiled as
the SDK hands them over."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from integrations.base import Page, Stream
from integrations.hubspot import client as hclient
from integrations.sandbox import hubspot as hs
from tests.integrations.hubspot.conftest import Harness


def _ids(pages: list[Page]) -> set[str]:
    return {r.external_id for p in pages for r in p.records}


def _spoil_objects(mp: pytest.MonkeyPatch, spoil: dict[str, Any]) -> None:
    """Objects whose id is in `spoil` get changed by its function each time a page carries them."""
    real = hclient._results

    def spoiled(response: Any) -> list[Any]:
        results = real(response)
        for obj in results:
            fn = spoil.get(str(getattr(obj, "id", "")))
            if fn is not None:
                fn(obj)
        return results

    mp.setattr(hclient, "_results", spoiled)


def test_companies_without_an_id_or_a_readable_modified_time_are_skipped_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    full = list(harness.adapter().read(Stream.ACCOUNTS, None))
    no_id, bad_time = hs.company_id("C000001"), hs.company_id("C000004")

    def drop_id(obj: Any) -> None:
        obj.id = None

    def bad_modified(obj: Any) -> None:
        obj.properties["hs_lastmodifieddate"] = "around noon"

    _spoil_objects(monkeypatch, {no_id: drop_id, bad_time: bad_modified})
    with caplog.at_level(logging.WARNING, logger="integrations.skips"):
        pages = list(harness.adapter().read(Stream.ACCOUNTS, None))
    assert _ids(pages) == _ids(full) - {no_id, bad_time}
    assert sum(p.unreadable for p in pages) == 2
    assert f"hubspot companies {bad_time!r} skipped: unreadable (ValueError" in caplog.text
    readable = [r.updated_at for p in full for r in p.records if r.external_id not in {no_id, bad_time}]
    final = pages[-1].cursor
    assert final is not None
    assert final.watermark == max(readable)  # neither skipped object's time counted


def test_a_ticket_without_an_id_on_a_list_page_is_skipped(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full ticket read pages the list endpoint (associations inline): the id-less one is skipped, the
    read goes on to the end."""
    full = list(harness.adapter().read(Stream.TICKETS, None))
    victim = sorted(_ids(full))[0]

    def drop_id(obj: Any) -> None:
        obj.id = None

    _spoil_objects(monkeypatch, {victim: drop_id})
    pages = list(harness.adapter().read(Stream.TICKETS, None))
    assert _ids(pages) == _ids(full) - {victim}
    assert sum(p.unreadable for p in pages) == 1
