"""Security (audit 4): a Zendesk ticket export whose after_cursor, or a CBP list whose links.next, points
back at a page already read looped forever (same pages re-read and re-committed, a worker held)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from integrations.base import Stream
from integrations.errors import MalformedResponseError
from integrations.zendesk.client import ExportPage
from tests.integrations.zendesk.conftest import MakeAdapter

BOUND = 50


@pytest.mark.parametrize("cycle", [["c1"], ["c1", "c2"]])
def test_ticket_export_pointing_back_stops(
    make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch, cycle: list[str]
) -> None:
    adapter = make_adapter()
    cursors = itertools.cycle(cycle)

    def export(*_a: Any, **_k: Any) -> ExportPage:
        return ExportPage(
            tickets=[], metric_sets=[], users=[], after_cursor=next(cursors), end_of_stream=False
        )

    monkeypatch.setattr(adapter._client, "export_tickets", export)
    with pytest.raises(MalformedResponseError, match="points back"):
        list(itertools.islice(adapter.read(Stream.TICKETS, None), BOUND))


class Pages:
    """A zenpy generator stand-in whose every page says has_more with the same links.next."""

    def __init__(self, page: dict[str, Any]) -> None:
        self._response_json, self.followed = page, 0

    def handle_pagination(self) -> None:
        self.followed += 1
        if self.followed > BOUND:
            raise AssertionError("paged without end")


def test_cbp_links_next_pointing_back_stops(make_adapter: MakeAdapter) -> None:
    client = make_adapter()._client
    nxt = client._conn.base_url + "/api/v2/organizations.json?page%5Bafter%5D=x"
    gen = Pages({"organizations": [{"id": 1}], "meta": {"has_more": True}, "links": {"next": nxt}})
    with pytest.raises(MalformedResponseError, match="points back"):
        list(client._cbp(lambda: gen, "organizations"))
    assert gen.followed == 1
