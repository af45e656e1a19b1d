"""Security (audit 3): zenpy follows a page's `links.next` with our OAuth token, so the next page must stay on
the installation's own URL; a page pointing elsewhere is a malformed answer, not a request we send."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.errors import MalformedResponseError
from tests.integrations.zendesk.conftest import MakeAdapter


class Pages:
    """A zenpy generator stand-in: the page JSON it holds and what `handle_pagination` was asked to do."""

    def __init__(self, first: dict[str, Any], then: dict[str, Any]) -> None:
        self._response_json, self._then, self.followed = first, then, 0

    def handle_pagination(self) -> None:
        self.followed += 1
        self._response_json = self._then


def _first(nxt: str) -> dict[str, Any]:
    return {"organizations": [{"id": 1}], "meta": {"has_more": True}, "links": {"next": nxt}}


@pytest.mark.parametrize(
    "nxt",
    [
        "https://collector.example/api/v2/organizations.json?page%5Bafter%5D=x",
        "http://{host}/api/v2/organizations.json",  # same host, plain http
        "https://{host}:1/api/v2/organizations.json",  # same host, another port
        "https://{host}.evil.example/api/v2/organizations.json",
    ],
)
def test_links_next_to_another_origin_is_refused(make_adapter: MakeAdapter, nxt: str) -> None:
    client = make_adapter()._client
    host = client._conn.base_url.split("://", 1)[1].split(":", 1)[0]
    gen = Pages(_first(nxt.format(host=host)), {"organizations": [{"id": 2}], "meta": {"has_more": False}})
    pages = client._cbp(lambda: gen, "organizations")
    assert next(pages) == [{"id": 1}]
    with pytest.raises(MalformedResponseError, match="leaves the account"):
        next(pages)
    assert gen.followed == 0


def test_links_next_on_the_account_is_followed(make_adapter: MakeAdapter) -> None:
    client = make_adapter()._client
    nxt = client._conn.base_url + "/api/v2/organizations.json?page%5Bafter%5D=x"
    gen = Pages(_first(nxt), {"organizations": [{"id": 2}], "meta": {"has_more": False}})
    assert list(client._cbp(lambda: gen, "organizations")) == [[{"id": 1}], [{"id": 2}]]
    assert gen.followed == 1
