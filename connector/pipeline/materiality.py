"""When a CRM record is rewritten: only for a change a CRM user would act on (issue 17).

The score step queues a record's fields (connector.pipeline.outbox) when `reasons(new, old, …)` is not
empty, comparing the values it would write with the values last written (or still queued) for that
record. Writing on any difference at the written precision rewrote nearly every record after a day's
pass (a day moves most accounts' 30-day trend by a tenth, the drivers' texts carry day counts) and spent
the customer's vendor API budget for nothing they could see. A record is written when ANY of:

- it was never written;
- its band, recommended action or model version changed;
- its score moved `score_points` (1.0) or more from the written score;
- its 30-day trend moved `trend_points` (1.0) or more, changed sign (crossed zero: -0.2 → +0.3; 0.0 is
  neither sign), or appeared or vanished (None);
- its 30-day sentiment moved `sentiment` (0.05) or more, or appeared or vanished;
- the set of its written drivers' kinds changed (metric and direction, not their text: "3 tickets in
  14 days" → "4 tickets in 15 days" is the same driver);
- the written values are older than their refresh age: `max_age_days` (7) minus a stagger of up to
  `refresh_spread_days` (2) from a stable hash of the record's external id, in whole hours, so a book
  written in one pass is refreshed over two days, not in one pass a week later.

So the CRM shows the score to within a point; band, action and driver changes are written on the next
pass; every record is rewritten at least weekly. The app's pages and API keep the exact values.

The thresholds are per installation: `installation.settings["write_rule"]`, e.g.
`{"score_points": 2, "max_age_days": 3}` (keys left out keep their defaults); `rule_from` validates them,
each up to its `LIMITS` value (a score moves at most 100 points; a record unwritten for years is not a
rule, and a huge age overflowed `timedelta` in the score step). Admins change them on the Integrations
page (connector.web.admin_write_rule).

Pure logic, no I/O.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

SETTINGS_KEY = "write_rule"
# Not a CRM field: the written drivers' kinds, kept with the written values as the diff base of the next
# pass (the write-back sends integrations.records.SCORE_FIELDS only).
DRIVER_KINDS = "driver_kinds"
EPS = 1e-9  # written values are rounded decimals: 61.3 - 60.3 is 0.9999999999999929


@dataclass(frozen=True, slots=True)
class WriteRule:
    score_points: float = 1.0
    trend_points: float = 1.0
    sentiment: float = 0.05
    max_age_days: float = 7.0
    refresh_spread_days: float = 2.0


DEFAULT_RULE = WriteRule()
# The largest value of each threshold: scores run 0-100 (so does a 30-day trend's move), sentiment -1 to +1,
# and every record is refreshed at least yearly.
LIMITS: dict[str, float] = {
    "score_points": 100.0,
    "trend_points": 100.0,
    "sentiment": 2.0,
    "max_age_days": 365.0,
    "refresh_spread_days": 365.0,
}


def rule_from(settings: Mapping[str, Any] | None) -> tuple[WriteRule, list[str]]:
    """The installation's rule from its settings (`settings["write_rule"]`), and its problems: a value that
    is not valid keeps its default and is named in the problems (empty: valid)."""
    raw = (settings or {}).get(SETTINGS_KEY)
    if raw is None:
        return DEFAULT_RULE, []
    if not isinstance(raw, Mapping):
        return DEFAULT_RULE, [f"{SETTINGS_KEY}: must be an object of thresholds, not {type(raw).__name__}"]
    names = {f.name for f in fields(WriteRule)}
    problems = [
        f"{SETTINGS_KEY}.{k}: unknown threshold (known: {', '.join(sorted(names))})"
        for k in raw
        if k not in names
    ]
    chosen: dict[str, float] = {}
    for name in names & set(raw):
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"{SETTINGS_KEY}.{name}: {value!r} is not a number")
        elif name == "refresh_spread_days" and value < 0:
            problems.append(f"{SETTINGS_KEY}.{name}: {value!r} must be ≥ 0")
        elif name != "refresh_spread_days" and value <= 0:
            problems.append(f"{SETTINGS_KEY}.{name}: {value!r} must be > 0")
        elif value > LIMITS[name]:
            problems.append(f"{SETTINGS_KEY}.{name}: {value!r} must be ≤ {LIMITS[name]:g}")
        else:
            chosen[name] = float(value)
    rule = replace(DEFAULT_RULE, **chosen)
    if rule.refresh_spread_days >= rule.max_age_days:
        problems.append(
            f"{SETTINGS_KEY}.refresh_spread_days: {rule.refresh_spread_days:g} must be less than "
            f"max_age_days ({rule.max_age_days:g})"
        )
        rule = replace(rule, refresh_spread_days=min(DEFAULT_RULE.refresh_spread_days, rule.max_age_days / 2))
    return rule, problems


def driver_kinds(drivers: Sequence[Mapping[str, Any]]) -> list[str]:
    """The kinds of the written drivers, sorted: metric (or key) and direction; a driver with neither
    (an old snapshot) counts by its text with the numbers left out."""
    out = set()
    for d in drivers:
        name = d.get("metric") or d.get("key")
        out.add(f"{name}:{d.get('direction') or ''}" if name else f"text:{_masked(str(d.get('text', '')))}")
    return sorted(out)


def refresh_age(external_id: str, rule: WriteRule = DEFAULT_RULE) -> timedelta:
    """How old this record's written values may get: max_age_days minus its stagger (whole hours from a
    stable hash of the id, 0 … refresh_spread_days)."""
    spread_hours = int(rule.refresh_spread_days * 24)
    stagger = zlib.crc32(external_id.encode()) % (spread_hours + 1) if spread_hours > 0 else 0
    return timedelta(days=rule.max_age_days) - timedelta(hours=stagger)


def reasons(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, external_id: str, rule: WriteRule = DEFAULT_RULE
) -> list[str]:
    """Why the record must be written (empty: it need not be). `new` and `old` are field values as
    outbox.score_values makes them (logical keys, rounded as written)."""
    return list(_why(new, old, external_id, rule))


def material(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, external_id: str, rule: WriteRule = DEFAULT_RULE
) -> bool:
    """Whether the record must be written: the first reason is enough."""
    return next(_why(new, old, external_id, rule), None) is not None


def _why(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, external_id: str, rule: WriteRule
) -> Iterator[str]:
    if old is None:
        yield "never written"
        return
    for key in ("health_band", "recommended_action", "health_model_version"):
        if new.get(key) != old.get(key):
            yield f"{key} changed"
    if _moved(new.get("health_score"), old.get("health_score"), rule.score_points):
        yield "score moved"
    trend_new, trend_old = new.get("health_trend_30d"), old.get("health_trend_30d")
    if _moved(trend_new, trend_old, rule.trend_points):
        yield "trend moved"
    elif _crossed_zero(trend_new, trend_old):
        yield "trend changed sign"
    if _moved(new.get("sentiment_30d"), old.get("sentiment_30d"), rule.sentiment):
        yield "sentiment moved"
    if _drivers_changed(new, old):
        yield "drivers changed"
    if _stale(new.get("health_scored_at"), old.get("health_scored_at"), refresh_age(external_id, rule)):
        yield "refresh"
    # A field this rule does not know yet is written when it differs at all.
    for k in new:
        if k not in _KNOWN and new.get(k) != old.get(k):
            yield f"{k} changed"


# Spelled out, not integrations.records.SCORE_FIELDS: a field added there without a rule here must fall to
# the any-difference fallback above, not be silently ruled by nothing.
_RULED = frozenset(
    {
        "health_score",
        "health_band",
        "health_trend_30d",
        "health_drivers",
        "sentiment_30d",
        "recommended_action",
        "health_scored_at",
        "health_model_version",
    }
)
_KNOWN = _RULED | {DRIVER_KINDS}
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _moved(new: Any, old: Any, threshold: float) -> bool:
    """At least `threshold` apart; a value that appeared or vanished (None) or is not a number moved."""
    if _number(new) and _number(old):
        return bool(abs(new - old) >= threshold - EPS)
    return bool(new != old)


def _crossed_zero(new: Any, old: Any) -> bool:
    return _number(new) and _number(old) and bool(new * old < 0)


def _masked(text: str) -> str:
    return _NUMBER.sub("#", text)


def _drivers_changed(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """By the drivers' kinds; values written before the kinds were kept compare by their drivers' text
    with the numbers left out (the next write stores the kinds)."""
    a, b = new.get(DRIVER_KINDS), old.get(DRIVER_KINDS)
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) != sorted(map(str, b))
    return _masked(str(new.get("health_drivers") or "")) != _masked(str(old.get("health_drivers") or ""))


def _stale(new_at: Any, old_at: Any, age: timedelta) -> bool:
    old_t, new_t = _when(old_at), _when(new_at)
    if old_t is None:
        return True
    if new_t is None:
        return False
    return _utc(new_t) - _utc(old_t) >= age


def _utc(t: datetime) -> datetime:
    """Naive stamps read as UTC, so a naive and an aware one compare."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _when(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return None
    return None
