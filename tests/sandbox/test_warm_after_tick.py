"""A served sandbox (`cache_reads`) rebuilds its read indexes when the book changes by a tick, not in the
first vendor request after it (issue 17). A vendor keeps its indexes as data changes; the emulator built
them over the whole book in the first Zendesk ticket-event export and the first SOQL query of each object
after a tick, under the one lock every vendor request takes: at 2,000 accounts ~0.7 s for the events and
~0.1 s per Salesforce object, inside the incremental pass the benchmark measures. The answers are the
same (tests/sandbox/test_read_cache.py compares cached and uncached reads after a tick)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from integrations.sandbox.runner import SandboxSet
from integrations.sandbox.salesforce import render as sf_render
from integrations.sandbox.seed import generate_book
from integrations.sandbox.zendesk.cache import _Cache


def _session(sset: SandboxSet) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = sset.ca_file or True
    return s


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"Case": 0, "zendesk index": 0}
    render_cases, index = sf_render.RENDERERS["Case"], _Cache._index

    def cases(ctx: Any) -> Any:
        counts["Case"] += 1
        return render_cases(ctx)

    def counted_index(self: _Cache, view: Any) -> None:
        counts["zendesk index"] += 1
        index(self, view)

    monkeypatch.setitem(sf_render.RENDERERS, "Case", cases)
    monkeypatch.setattr(_Cache, "_index", counted_index)
    return counts


def test_a_tick_rebuilds_the_served_indexes_so_the_first_reads_after_it_do_not(
    counted: dict[str, int],
) -> None:
    book = generate_book(seed=1, accounts=12)
    with SandboxSet.start(seed=1, book=book, cache_reads=True) as sset:
        creds = sset.credentials()
        sset.tick(1)
        built = dict(counted)
        assert built["Case"] >= 1
        assert built["zendesk index"] >= 1
        s = _session(sset)
        sf, zd = creds["salesforce"], creds["zendesk"]
        r = s.get(
            f"{sf['base_url']}/services/data/v59.0/query",
            params={"q": "SELECT Id FROM Case"},
            headers={"Authorization": f"Bearer {sf['access_token']}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        r = s.get(
            f"{zd['base_url']}/api/v2/incremental/ticket_events.json",
            params={"start_time": 1},
            headers={"Authorization": f"Bearer {zd['access_token']}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["ticket_events"]
        assert counted == built  # both reads were served from what the tick built


def test_a_sandbox_tests_edit_in_place_builds_nothing_at_a_tick(counted: dict[str, int]) -> None:
    book = generate_book(seed=1, accounts=12)
    with SandboxSet.start(seed=1, tls=False, book=book) as sset:
        sset.tick(1)
        assert counted == {"Case": 0, "zendesk index": 0}
