"""The scoring model as a form: dimension weights per segment (sliders), the YAML they produce, a readable
summary of a version, and the differences between a draft and the live model. Pure functions on YAML text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

DEFAULT = "default"
# What a malformed model (the YAML view accepts anything) raises while being summarised: the page then shows
# the live model's weights and the validator's list of problems.
UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, yaml.YAMLError)
MAX_WEIGHT = 5.0


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label: str
    weight: float
    metrics: list[tuple[str, float, str]]  # (metric, weight, unit)


@dataclass(frozen=True, slots=True)
class Summary:
    version: str
    dimensions: list[Dimension]
    segments: dict[str, dict[str, float]]  # segment → dimension → weight (default first; inherited filled in)
    segment_rules: dict[str, str]
    bands: dict[str, dict[str, float]]  # segment → band → min


@dataclass(frozen=True, slots=True)
class Change:
    what: str
    live: str
    draft: str


def _load(text: str) -> dict[str, Any]:
    from scoring.config import parse_yaml  # bounded: a draft here is not validated yet

    data = parse_yaml(text) or {}
    if not isinstance(data, dict):
        raise ValueError("the model is not a YAML mapping")
    return data


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def slider_max(form: Summary) -> float:
    """The sliders' right end: weights are relative and usually below 1 (the default model's sum to 1), so a
    0..5 slider would park them all at its left edge; 0..1 unless a weight is larger. The number field next
    to each slider still takes anything up to MAX_WEIGHT."""
    largest = max((w for seg in form.segments.values() for w in seg.values()), default=0.0)
    return 1.0 if largest <= 1.0 else MAX_WEIGHT


def summary(text: str) -> Summary:
    """What a person needs to read a model: weights per dimension and segment, bands, metric weights."""
    data = _load(text)
    dims = []
    for name, d in (data.get("dimensions") or {}).items():
        d = d or {}
        metrics = [
            (mname, _num((mv or {}).get("weight"), 1.0), str((mv or {}).get("unit") or ""))
            for mname, mv in (d.get("metrics") or {}).items()
        ]
        dims.append(Dimension(name, str(d.get("label") or name), _num(d.get("weight"), 1.0), metrics))
    default = {d.name: d.weight for d in dims}
    top_bands = {
        str(b.get("name")): _num(b.get("min")) for b in data.get("bands") or [] if isinstance(b, dict)
    }
    segments: dict[str, dict[str, float]] = {DEFAULT: default}
    rules: dict[str, str] = {DEFAULT: "every account no segment rule matches"}
    bands: dict[str, dict[str, float]] = {DEFAULT: top_bands}
    for sname, s in (data.get("segments") or {}).items():
        s = s or {}
        own = {str(k): _num(v) for k, v in (s.get("weights") or {}).items()}
        segments[sname] = {**default, **own}
        when = s.get("when") or {}
        rules[sname] = "; ".join(
            f"{k} is {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in when.items()
        )
        bands[sname] = {**top_bands, **{str(k): _num(v) for k, v in (s.get("bands") or {}).items()}}
    return Summary(str(data.get("version") or ""), dims, segments, rules, bands)


def apply_weights(text: str, form: Mapping[str, str], version: str) -> str:
    """The model `text` with the form's weights (`w:<segment>:<dimension>`) and `version`.

    Segment weights equal to the default ones are not written (the segment inherits them)."""
    data = _load(text)
    dims = data.get("dimensions") or {}
    before = {name: _num((d or {}).get("weight"), 1.0) for name, d in dims.items()}
    for name in dims:
        raw = form.get(f"w:{DEFAULT}:{name}")
        if raw is not None and raw != "":
            dims[name]["weight"] = _clamp(raw)
    default = {name: _num((d or {}).get("weight"), 1.0) for name, d in dims.items()}
    for sname, s in (data.get("segments") or {}).items():
        own: dict[str, float] = {}
        explicit = {str(k) for k in (s.get("weights") or {})}
        for name in dims:
            raw = form.get(f"w:{sname}:{name}")
            if raw is None or raw == "":
                continue
            value = _clamp(raw)
            # A segment weight the form showed as inherited and nobody touched keeps following the default.
            untouched = name not in explicit and abs(value - before[name]) <= 1e-9
            if not untouched and abs(value - default[name]) > 1e-9:
                own[name] = value
        if own:
            s["weights"] = own
        else:
            s.pop("weights", None)
    data["version"] = version.strip() or str(data.get("version") or "")
    header = "# Edited with the weights form; the advanced (YAML) view keeps comments you add.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def _clamp(raw: str) -> float:
    value = round(_num(raw, 0.0), 3)
    return min(MAX_WEIGHT, max(0.0, value))


def changes(live_text: str | None, draft_text: str) -> list[Change]:
    """Weights, bands and metric weights that differ between the live model and a draft."""
    if not live_text:
        return []
    live, draft = summary(live_text), summary(draft_text)
    out: list[Change] = []
    for seg in sorted(set(live.segments) | set(draft.segments), key=lambda s: (s != DEFAULT, s)):
        a, b = live.segments.get(seg, {}), draft.segments.get(seg, {})
        for dim in sorted(set(a) | set(b)):
            if a.get(dim) != b.get(dim):
                out.append(Change(f"{seg} · {dim} weight", _fmt(a.get(dim)), _fmt(b.get(dim))))
        ba, bb = live.bands.get(seg, {}), draft.bands.get(seg, {})
        for band in sorted(set(ba) | set(bb)):
            if ba.get(band) != bb.get(band):
                out.append(Change(f"{seg} · {band} band from", _fmt(ba.get(band)), _fmt(bb.get(band))))
    lm = {(d.name, m): w for d in live.dimensions for m, w, _u in d.metrics}
    dm = {(d.name, m): w for d in draft.dimensions for m, w, _u in d.metrics}
    for key in sorted(set(lm) | set(dm)):
        if lm.get(key) != dm.get(key):
            out.append(Change(f"{key[0]} · {key[1]} weight", _fmt(lm.get(key)), _fmt(dm.get(key))))
    return out


def same_model(live_text: str | None, draft_text: str) -> bool:
    """Whether a draft would score exactly as the live model: both validate and only their `version`
    differs (comments, order and spelling of the YAML aside). Then there is nothing to publish."""
    import dataclasses

    from scoring.config import ScoringConfigError, load_model

    if not live_text:
        return False
    try:
        live, draft = load_model(live_text), load_model(draft_text)
    except (ScoringConfigError, *UNREADABLE):
        return False
    return dataclasses.replace(live, version="") == dataclasses.replace(draft, version="")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"
