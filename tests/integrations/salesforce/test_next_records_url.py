"""Security (audit 3): simple_salesforce's query_more requests https://{instance}{nextRecordsUrl} with our
bearer token, so a nextRecordsUrl that is not a path of the data API could name another host."""

from __future__ import annotations

import pytest

from integrations.errors import MalformedResponseError
from integrations.salesforce.adapter import _page_parts


@pytest.mark.parametrize(
    "next_url",
    [
        "@collector.example/services/data/v62.0/query/01g-2000",  # https://instance@collector.example/…
        ".collector.example/services/data/v62.0/query/01g-2000",  # https://instance.collector.example/…
        ":443@collector.example/x",
        "https://collector.example/services/data/v62.0/query/01g-2000",
        "/services/data/v62.0/query/01g-2000?x=@a",
        "",
    ],
)
def test_a_next_records_url_that_is_not_a_data_api_path_is_refused(next_url: str) -> None:
    with pytest.raises(MalformedResponseError, match="nextRecordsUrl"):
        _page_parts({"records": [], "done": False, "nextRecordsUrl": next_url})


def test_a_real_next_records_url_is_kept() -> None:
    page = {
        "records": [{"Id": "001"}],
        "done": False,
        "nextRecordsUrl": "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
    }
    assert _page_parts(page)[2] == "/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
    assert _page_parts({"records": [], "done": True})[1] is True
