"""The CRM search engine (filterGroups, operators, sorts, keyset paging, the 10,000-result cap) and the
validation of batch-update inputs against property definitions.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.api import _validation
from integrations.sandbox.hubspot.formats import _ms, _to_ms
from integrations.sandbox.hubspot.index import (
    HubObject,
    _archived,
    _index,
    _modified,
    _raw_modified,
    _state,
)
from integrations.sandbox.hubspot.render import _build, _Env, property_defs, render
from integrations.sandbox.hubspot.schema import MOD_PROPERTY, OPERATORS, SEARCH_CAP, SEARCH_LIMIT

# ---------------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------------


def _prop_type(defs: dict[str, dict[str, Any]], name: str) -> str:
    return str(defs[name]["type"]) if name in defs else "string"


def _compare_value(raw: str | None, ptype: str) -> Any:
    if raw is None or raw == "":
        return None
    if ptype in ("number", "datetime", "date"):
        return _to_ms(raw, ptype)
    return str(raw).lower()


def _compile_filter(flt: dict[str, Any], defs: dict[str, dict[str, Any]]) -> Callable[[HubObject], bool]:
    """One filter as a predicate; the expected value is parsed once, not once per object."""
    name = str(flt.get("propertyName"))
    op = flt.get("operator", "EQ")
    ptype = _prop_type(defs, name)

    def actual(obj: HubObject) -> Any:
        return _compare_value(obj.properties.get(name), ptype)

    if op == "HAS_PROPERTY":
        return lambda o: actual(o) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda o: actual(o) is None
    if op in ("IN", "NOT_IN"):
        values = {_compare_value(str(v), ptype) for v in flt.get("values") or []}
        if op == "IN":
            return lambda o: actual(o) in values
        return lambda o: actual(o) not in values
    expected = _compare_value(str(flt.get("value", "")), ptype)
    if op == "NEQ":
        return lambda o: actual(o) != expected
    if op == "CONTAINS_TOKEN":
        token = str(expected or "").strip("*")
        return lambda o: (a := actual(o)) is not None and token in str(a)
    if expected is None:
        return lambda o: False
    if op == "BETWEEN":
        high = _compare_value(str(flt.get("highValue", "")), ptype)
        return lambda o: high is not None and (a := actual(o)) is not None and expected <= a <= high
    compare = {
        "EQ": lambda a: a == expected,
        "LT": lambda a: a < expected,
        "LTE": lambda a: a <= expected,
        "GT": lambda a: a > expected,
        "GTE": lambda a: a >= expected,
    }[op]
    return lambda o: (a := actual(o)) is not None and bool(compare(a))


def _validate_search(
    body: Any, defs: dict[str, dict[str, Any]]
) -> tuple[list[list[dict[str, Any]]], list[tuple[str, bool]], int, int]:
    if not isinstance(body, dict):
        raise _validation("Invalid input JSON on line 1, column 1: Cannot build PublicObjectSearchRequest")
    groups = body.get("filterGroups") or []
    if len(groups) > 5:
        raise _validation("Too many filter groups (5 maximum)")
    parsed_groups = []
    for grp in groups:
        filters = grp.get("filters") or []
        if len(filters) > 6:
            raise _validation("Too many filters in a filter group (6 maximum)")
        for flt in filters:
            op = flt.get("operator")
            if op not in OPERATORS:
                raise _validation(f"Invalid input JSON: unknown operator {op!r}")
            if flt.get("propertyName") not in defs:
                raise _validation(
                    f"There was a problem with the request: property {flt.get('propertyName')!r} does not exist"
                )
        parsed_groups.append(filters)
    sorts: list[tuple[str, bool]] = []
    for s in body.get("sorts") or []:
        if isinstance(s, str):
            sorts.append((s.lstrip("-"), s.startswith("-")))
        elif isinstance(s, dict):
            sorts.append(
                (str(s.get("propertyName")), str(s.get("direction", "ASCENDING")).upper() == "DESCENDING")
            )
    try:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise _validation("Invalid input JSON: limit and after must be integers") from None
    if limit < 1 or limit > SEARCH_LIMIT:
        raise _validation(f"limit must be between 1 and {SEARCH_LIMIT}")
    if after >= SEARCH_CAP:
        # HubSpot: "The search endpoints are limited to 10,000 total results for any given query.
        # Attempting to page beyond 10,000 will result in a 400 error."
        raise _validation(
            "There was a problem with the request.",
            context={"after": [str(after)]},
            subCategory="SearchApi.PAGING_LIMIT_EXCEEDED",
        )
    return parsed_groups, sorts, limit, after


_RAW_OPS = {
    "EQ": lambda a, e, h: a == e,
    "NEQ": lambda a, e, h: a != e,
    "LT": lambda a, e, h: a < e,
    "LTE": lambda a, e, h: a <= e,
    "GT": lambda a, e, h: a > e,
    "GTE": lambda a, e, h: a >= e,
    "BETWEEN": lambda a, e, h: h is not None and e <= a <= h,
}


def _raw_predicates(
    object_type: str, groups: list[list[dict[str, Any]]], sorts: list[tuple[str, bool]]
) -> list[Callable[[int, int], bool]] | None:
    """The adapter's keyset search (modification window + hs_object_id, sorted by id) as predicates over
    (id, modified ms) read straight from the book; None when the search needs rendered properties."""
    if len(groups) > 1 or any(s != ("hs_object_id", False) for s in sorts):
        return None
    mod = MOD_PROPERTY[object_type]
    preds: list[Callable[[int, int], bool]] = []
    for flt in groups[0] if groups else []:
        name, op = flt.get("propertyName"), flt.get("operator")
        if name not in (mod, "hs_object_id") or op not in _RAW_OPS:
            return None
        ptype = "number" if name == "hs_object_id" else "datetime"
        expected = _to_ms(str(flt.get("value", "")), ptype)
        high = _to_ms(str(flt.get("highValue", "")), ptype) if op == "BETWEEN" else None
        if expected is None:
            return None
        test = _RAW_OPS[op]
        if name == "hs_object_id":
            preds.append(lambda oid, _m, t=test, e=expected, h=high: bool(t(oid, e, h)))
        else:
            preds.append(lambda _oid, m, t=test, e=expected, h=high: bool(t(m, e, h)))
    return preds


def _search_matches(
    ctx: SandboxContext,
    object_type: str,
    defs: dict[str, dict[str, Any]],
    groups: list[list[dict[str, Any]]],
    sorts: list[tuple[str, bool]],
) -> tuple[list[HubObject] | None, list[tuple[int, Any]]]:
    """Either rendered matches (general path) or unrendered (id, source) matches in id order (fast path)."""
    preds = _raw_predicates(object_type, groups, sorts)
    if preds is not None and ctx.read_cache is not None:
        return None, _cached_hits(ctx, object_type, groups, sorts)
    if preds is not None:
        index = _index(ctx, object_type)
        hits = []
        for oid, source in zip(index.ids, index.sources, strict=True):
            if _archived(object_type, source) is not None:
                continue
            modified = _ms(_modified(ctx, object_type, oid, source))
            if all(p(oid, modified) for p in preds):
                hits.append((oid, source))
        return None, hits
    objs = [o for o in render(ctx, object_type) if o.archived_at is None]
    if groups:
        compiled = [[_compile_filter(f, defs) for f in grp] for grp in groups]
        objs = [o for o in objs if any(all(p(o) for p in grp) for grp in compiled)]
    for name, desc in reversed(sorts):
        ptype = _prop_type(defs, name)
        present = [o for o in objs if _compare_value(o.properties.get(name), ptype) is not None]
        missing = [o for o in objs if _compare_value(o.properties.get(name), ptype) is None]
        present.sort(key=lambda o: _compare_value(o.properties.get(name), ptype), reverse=desc)
        objs = present + missing
    return objs, []


def _cached_hits(
    ctx: SandboxContext, object_type: str, groups: list[list[dict[str, Any]]], sorts: list[tuple[str, bool]]
) -> list[tuple[int, Any]]:
    """The keyset search on a served sandbox: the objects inside the modification window are found once
    per window and book state (the adapter pages one window by `hs_object_id > last id`), then each page
    is a bisect instead of a scan of every object with its modstamp recomputed (issue 17 profile: ~80 %
    of the emulator's time at 10k accounts)."""
    cache = ctx.read_cache
    if cache is None:
        raise RuntimeError("the read cache is off")
    flts = groups[0] if groups else []
    window = [f for f in flts if f.get("propertyName") != "hs_object_id"]
    by_id = [f for f in flts if f.get("propertyName") == "hs_object_id"]
    index = _index(ctx, object_type)
    touched = _state(ctx).extra["touched"]
    key = ("search", object_type, json.dumps(window, sort_keys=True, default=str))
    state = (len(touched), ctx.now)
    entry = cache.get(key)
    if entry is None or entry[0] is not index or entry[1] != state:
        bounds = _window_bounds(window)
        if bounds is not None:
            rows = _scan_window(ctx, object_type, index, *bounds)
        else:
            preds = _raw_predicates(object_type, [window], sorts) or []
            rows = []
            for oid, source in zip(index.ids, index.sources, strict=True):
                if _archived(object_type, source) is None:
                    modified = _ms(_modified(ctx, object_type, oid, source))
                    if all(p(oid, modified) for p in preds):
                        rows.append((oid, source))
        if len(cache) > 256:  # a long-running sandbox sees many windows: keep the cache bounded
            cache.clear()
        entry = cache[key] = (index, state, rows, [oid for oid, _ in rows])
    rows, ids = entry[2], entry[3]
    if len(by_id) == 1 and by_id[0].get("operator") in ("GT", "GTE"):
        after = _to_ms(str(by_id[0].get("value", "")), "number")
        if after is not None:
            cut = bisect.bisect_right if by_id[0]["operator"] == "GT" else bisect.bisect_left
            return rows[cut(ids, after) :]
    id_preds = _raw_predicates(object_type, [by_id], sorts) or []
    return [(oid, src) for oid, src in rows if all(p(oid, 0) for p in id_preds)]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _window_bounds(window: list[dict[str, Any]]) -> tuple[datetime | None, datetime | None] | None:
    """The modification-time filters as a half-open datetime range [low, high): a record's time floored to
    the millisecond is in the filters' range exactly when the time itself is in [low, high) (whole-ms
    bounds); None (the general scan) for a filter that is not a whole-ms GT/GTE/LT/LTE/EQ/BETWEEN."""
    low: datetime | None = None
    high: datetime | None = None
    for flt in window:
        op = flt.get("operator")
        values = [_to_ms(str(flt.get("value", "")), "datetime")]
        if op == "BETWEEN":
            values.append(_to_ms(str(flt.get("highValue", "")), "datetime"))
        if any(v is None or v != int(v) for v in values):
            return None
        try:
            at = [_EPOCH + int(v or 0) * _MS for v in values]
        except OverflowError:  # beyond datetime's years: the general scan compares the numbers
            return None
        lo: datetime | None
        hi: datetime | None
        if op == "GTE":
            lo, hi = at[0], None
        elif op == "GT":
            lo, hi = at[0] + _MS, None
        elif op == "LTE":
            lo, hi = None, at[0] + _MS
        elif op == "LT":
            lo, hi = None, at[0]
        elif op == "EQ":
            lo, hi = at[0], at[0] + _MS
        elif op == "BETWEEN":
            lo, hi = at[0], at[1] + _MS
        else:
            return None
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)
    return low, high


def _scan_window(
    ctx: SandboxContext, object_type: str, index: Any, low: datetime | None, high: datetime | None
) -> list[tuple[int, Any]]:
    """The live objects whose modification time (index._modified) is in [low, high), in id order: the same
    answer as evaluating the filters on epoch ms, without an ms conversion and predicate calls per object
    (the scan runs again after every edit of a served book: 9 % of the freshness benchmark's process)."""
    touched = _state(ctx).extra["touched"]
    rows = []
    for oid, source in zip(index.ids, index.sources, strict=True):
        if _archived(object_type, source) is not None:
            continue
        modified = _raw_modified(object_type, source)
        if touched:
            bumped = touched.get(str(oid))
            if bumped is not None and bumped > modified:
                modified = bumped
        if (low is None or modified >= low) and (high is None or modified < high):
            rows.append((oid, source))
    return rows


def run_search(ctx: SandboxContext, object_type: str, body: Any) -> dict[str, Any]:
    """POST .../search: filter, sort, page by `after` offset; 400 past 10,000 results (call under ctx.lock)."""
    defs = property_defs(ctx, object_type)
    groups, sorts, limit, after = _validate_search(body, defs)
    rendered, hits = _search_matches(ctx, object_type, defs, groups, sorts)
    if rendered is None:
        env = _Env(ctx)
        total = len(hits)
        page = [_build(env, object_type, oid, src) for oid, src in hits[after : after + limit]]
    else:
        total = len(rendered)
        page = rendered[after : after + limit]
    out: dict[str, Any] = {"total": total, "results": [o.json(body.get("properties")) for o in page]}
    if after + limit < total:
        out["paging"] = {"next": {"after": str(after + limit)}}
    return out


# ---------------------------------------------------------------------------------------------------------
# Batch update validation
# ---------------------------------------------------------------------------------------------------------


def _invalid_value(prop: dict[str, Any], value: Any) -> str | None:
    """HubSpot's per-property validation error code, or None when the value is acceptable."""
    if value is None or value == "":
        return None
    ptype = prop["type"]
    text = str(value)
    if ptype == "number" and _to_ms(text, "number") is None:
        return "INVALID_DECIMAL"
    if ptype in ("datetime", "date") and _to_ms(text, ptype) is None:
        return "INVALID_DATE"
    if ptype == "enumeration":
        allowed = {o["value"] for o in prop.get("options", [])}
        if prop.get("fieldType") == "checkbox":
            bad = [v for v in text.split(";") if v not in allowed]
            return "INVALID_OPTION" if bad else None
        return None if text in allowed else "INVALID_OPTION"
    if ptype == "bool" and text.lower() not in ("true", "false"):
        return "INVALID_BOOLEAN"
    return None


def _validate_properties(defs: dict[str, dict[str, Any]], inputs: list[dict[str, Any]]) -> None:
    problems = []
    for inp in inputs:
        for name, value in (inp.get("properties") or {}).items():
            if name not in defs:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                        "localizedErrorMessage": f'Property "{name}" does not exist',
                    }
                )
                continue
            code = _invalid_value(defs[name], value)
            if code:
                problems.append(
                    {
                        "isValid": False,
                        "message": f"{value} was not a valid value for {name}",
                        "error": code,
                        "name": name,
                        "localizedErrorMessage": f"{value} was not a valid value for {name}",
                    }
                )
    if problems:
        raise _validation(
            f"Property values were not valid: {json.dumps(problems)}",
            errors=[
                {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
                for p in problems
            ],
        )
