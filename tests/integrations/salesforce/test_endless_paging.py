"""Security (audit 4): a Salesforce query whose nextRecordsUrl points back at a page already read looped
forever (the same pages re-read and re-committed, a worker held); it is a malformed answer."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from integrations.base import Stream
from integrations.errors import MalformedResponseError

BOUND = 50


@pytest.mark.parametrize(
    "cycle",
    [
        ["/services/data/v62.0/query/01g-1"],
        ["/services/data/v62.0/query/01g-1", "/services/data/v62.0/query/01g-2"],
    ],
)
def test_next_records_url_pointing_back_stops(
    make_adapter: Any, monkeypatch: pytest.MonkeyPatch, cycle: list[str]
) -> None:
    adapter = make_adapter()
    urls = itertools.cycle(cycle)

    def page(*_a: Any, **_k: Any) -> dict[str, Any]:
        return {"records": [], "done": False, "totalSize": 10**9, "nextRecordsUrl": next(urls)}

    monkeypatch.setattr(adapter._client, "query", page)
    monkeypatch.setattr(adapter._client, "query_more", page)
    with pytest.raises(MalformedResponseError, match="points back"):
        list(itertools.islice(adapter.read(Stream.ACCOUNTS, None), BOUND))


def test_real_paging_still_reads_everything(make_adapter: Any) -> None:
    pages = list(make_adapter(page_size=200).read(Stream.ACCOUNTS, None))
    assert sum(len(p.records) for p in pages) >= 6
