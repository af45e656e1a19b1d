"""HubSpot sandbox search internals: the fast keyset path answers exactly like the general path."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from integrations.sandbox import hubspot as hs
from integrations.sandbox.hubspot import formats, index, search
from tests.integrations.hubspot.book_factory import NOW, contact, make_book, make_context


def _ids(out: dict[str, Any]) -> list[str]:
    return [r["id"] for r in out["results"]]


def _window(
    mod: str, low: int, high: int, after_id: str | None, extra: list[dict[str, Any]]
) -> dict[str, Any]:
    filters = [{"propertyName": mod, "operator": "BETWEEN", "value": str(low), "highValue": str(high)}]
    if after_id:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": after_id})
    return {
        "filterGroups": [{"filters": filters + extra}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "limit": 7,
    }


@pytest.mark.parametrize(
    "object_type", ["companies", "contacts", "deals", "tickets", "emails", "notes", "feedback_submissions"]
)
def test_fast_keyset_path_matches_the_general_path(object_type: str) -> None:
    book = make_book(customers=6)
    ctx = make_context(book)
    # Our write-back touched one company: its modification time moves, on both paths.
    ctx.vendors[hs.VENDOR].extra["touched"][hs.company_id("C000004")] = NOW - timedelta(minutes=1)
    book.contacts["P0000003"].deleted_at = NOW - timedelta(days=1)
    mod = hs.MOD_PROPERTY[object_type]
    low = int((NOW - timedelta(days=9, hours=12)).timestamp() * 1000)
    high = int(NOW.timestamp() * 1000)
    # HAS_PROPERTY on hs_object_id is always true but is not a keyset filter: it forces the general path.
    general = [{"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]
    fast_groups = _window(mod, low, high, "1", [])["filterGroups"][0]["filters"]
    assert hs._raw_predicates(object_type, [fast_groups], [("hs_object_id", False)]) is not None
    assert hs._raw_predicates(object_type, [fast_groups + general], [("hs_object_id", False)]) is None
    after: str | None = None
    for _ in range(10):
        fast_out = hs.run_search(ctx, object_type, _window(mod, low, high, after, []))
        slow_out = hs.run_search(ctx, object_type, _window(mod, low, high, after, general))
        assert fast_out == {**slow_out, "results": fast_out["results"]}
        assert _ids(fast_out) == _ids(slow_out)
        if not fast_out["results"]:
            break
        after = fast_out["results"][-1]["id"]


def test_new_members_enter_the_index() -> None:
    book = make_book(customers=2)
    ctx = make_context(book)
    before = hs.run_search(ctx, "contacts", {"limit": 100})["total"]
    new = contact(99, "C000001", updated=NOW)
    book.contacts[new.key] = new
    after = hs.run_search(ctx, "contacts", {"limit": 100})
    assert after["total"] == before + 1
    page, nxt = hs.list_page(
        ctx, "contacts", after=int(hs.numeric_id("contact", new.key)), limit=10, archived=False
    )
    assert [o.id for o in page] == [hs.numeric_id("contact", new.key)]
    assert nxt is None


def test_list_page_splits_live_and_archived() -> None:
    book = make_book(customers=3)
    book.customers["C000002"].hubspot.deleted_at = NOW
    ctx = make_context(book)
    live, nxt = hs.list_page(ctx, "companies", after=0, limit=1, archived=False)
    assert [o.key for o in live] == ["C000001"]
    assert nxt == int(hs.company_id("C000003"))  # the archived C000002 is skipped
    archived, _ = hs.list_page(ctx, "companies", after=0, limit=10, archived=True)
    assert [o.key for o in archived] == ["C000002"]


def test_objects_swapped_in_place_are_seen() -> None:
    """The runner restores a book in place (new objects, same counts): the index must not serve stale ones."""
    book = make_book(customers=2)
    ctx = make_context(book)
    assert hs.run_search(ctx, "tickets", {"limit": 100})["total"] == 4
    swapped = copy.deepcopy(book.tickets)
    for t in swapped.values():
        t.subject = "restored"
    book.tickets = swapped
    subjects = {o.properties["subject"] for o in hs.render(ctx, "tickets")}
    assert subjects == {"restored"}
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]}]}
    [first, *_] = hs.run_search(ctx, "tickets", {**body, "properties": ["subject"]})["results"]
    assert first["properties"]["subject"] == "restored"


@pytest.mark.parametrize("object_type", ["companies", "tickets", "emails", "feedback_submissions"])
def test_served_window_scan_matches_the_millisecond_filters_at_their_edges(object_type: str) -> None:
    """A served sandbox finds a window's objects by comparing times with the window's whole-ms bounds
    (search._window_bounds): every operator at, just before and after an object's own millisecond (its
    time has sub-ms digits) gives what the epoch-ms filters give; a fractional or huge bound falls back."""
    book = make_book(customers=6)
    ctx = make_context(book)
    ctx.vendors[hs.VENDOR].extra["touched"][hs.company_id("C000004")] = NOW - timedelta(microseconds=2500)
    next(iter(book.tickets.values())).updated_at = NOW - timedelta(microseconds=1500)
    mod = hs.MOD_PROPERTY[object_type]
    stamps = sorted({formats._ms(index._modified(ctx, object_type, i, s)) for i, s in zip(
        index._index(ctx, object_type).ids, index._index(ctx, object_type).sources, strict=True)})  # fmt: skip
    cases: list[list[dict[str, Any]]] = [[]]
    for m in (stamps[0], stamps[len(stamps) // 2], stamps[-1]):
        for v in (m - 1, m, m + 1):
            for op in ("GT", "GTE", "LT", "LTE", "EQ"):
                cases.append([{"propertyName": mod, "operator": op, "value": str(v)}])
            cases.append([{"propertyName": mod, "operator": "BETWEEN", "value": str(v), "highValue": str(m)}])
        cases.append([{"propertyName": mod, "operator": "GTE", "value": f"{m}.5"}])  # fractional: general
    cases.append([{"propertyName": mod, "operator": "LTE", "value": "9" * 25}])  # past year 9999: general
    cases.append([  # two window filters narrow each other
        {"propertyName": mod, "operator": "GTE", "value": str(stamps[1])},
        {"propertyName": mod, "operator": "LT", "value": str(stamps[-1])},
    ])  # fmt: skip
    for filters in cases:
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 100,
        }
        ctx.read_cache = None
        plain = _ids(hs.run_search(ctx, object_type, body))
        ctx.read_cache = {}
        assert _ids(hs.run_search(ctx, object_type, body)) == plain, filters
    assert search._window_bounds([{"propertyName": mod, "operator": "GTE", "value": "1.5"}]) is None
