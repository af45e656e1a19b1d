"""Load and validate the YAML scoring model; every problem is reported at once with its key path."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import string
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml

from scoring.checker import Checker, fmt, join
from scoring.model import (
    DEFAULT_SEGMENT,
    ActionRule,
    Band,
    DimensionSpec,
    Evidence,
    Hysteresis,
    MetricDirection,
    MetricSpec,
    Normalisation,
    ScoringModel,
    Segment,
    SegmentRule,
)

_DEFAULT_BANDS: list[dict[str, Any]] = [
    {"name": "green", "colour": "#2e7d32", "min": 75},
    {"name": "yellow", "colour": "#f9a825", "min": 50},
    {"name": "red", "colour": "#c62828", "min": 0},
]
_TOP_KEYS = {
    "version",
    "dimensions",
    "segments",
    "bands",
    "hysteresis",
    "drivers",
    "events",
    "actions",
}
_METRIC_KEYS = {"label", "unit", "direction", "lookback_days", "weight", "normalise", "text", "evidence"}


class ScoringConfigError(ValueError):
    """The model is invalid; `problems` lists every problem as "<key path>: <what is wrong>"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid scoring model:\n  " + "\n  ".join(problems))
        self.problems = problems


def load_model(source: str | os.PathLike[str]) -> ScoringModel:
    """Parse and validate a model from YAML text or a file path (a `PathLike`, or a one-line str ending .yaml/.yml).

    Raises:
        ScoringConfigError: with every problem found; nothing is half-applied.
    """
    if isinstance(source, os.PathLike) or ("\n" not in source and source.strip().endswith((".yaml", ".yml"))):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScoringConfigError([f"<file>: cannot read {path}: {exc.strerror}"]) from exc
    else:
        text = source
    return model_from_dict(parse_yaml(text))


# Far beyond any real model (the default one has under 1,000 nodes), far below what hurts.
MAX_NODES = 100_000


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error in a person's words: where (1-based line and column, as an editor shows them) and
    what, instead of its multi-line 'while parsing a block mapping in "<unicode string>"' report."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", "") or "").strip()
    context = str(getattr(exc, "context", "") or "").strip()
    if mark is None or not problem:
        return " ".join(str(exc).split())[:300]
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    hint = ""
    if "'\\t'" in problem:
        hint = " (indent with spaces, not tabs)"
    elif "mapping" in f"{problem} {context}":
        hint = " (check the indentation and the colon after each name)"
    what = f"{problem} ({context})" if context else problem
    return f"not valid YAML at {where}: {what}{hint}"[:300]


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load`, refusing documents that expand past MAX_NODES values. Aliases (`*name`) are
    references, so a few hundred bytes of nested aliases ("billion laughs") parse at once but are a billion
    values to anything that walks them (the version hash serialised one for minutes, then ran out of
    memory); an alias to its own anchor is a cycle that never ends.

    Raises:
        ScoringConfigError: not YAML, or too large once aliases are expanded.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScoringConfigError([f"<yaml>: {_yaml_problem(exc)}"]) from exc
    except RecursionError:
        # PyYAML composes nested collections recursively: a few thousand "[" exhaust the stack.
        raise ScoringConfigError(["<yaml>: nested too deeply"]) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # Scalars PyYAML accepts but cannot construct: a date that does not exist (2026-02-30), an integer
        # past Python's 4,300-digit limit, `!!int 0xZZ`, `!!float abc`, `!!timestamp x`.
        raise ScoringConfigError(
            [f"<yaml>: a value cannot be read ({type(exc).__name__}: {exc})"[:300]]
        ) from exc
    stack, seen = [doc], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ScoringConfigError(
                [
                    f"<yaml>: more than {MAX_NODES:,} values once aliases (*name) are expanded; write the model out"
                ]
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, bytes):
            # !!binary: a bytes key failed the version hash (TypeError, a 500); no model field is binary
            raise ScoringConfigError(["<yaml>: binary values (!!binary) have no place in a model"])
        elif isinstance(node, str) and not node.isascii() and not _utf8(node):
            # "\ud800" in a double-quoted scalar is a lone surrogate: the page echoing it (or the database
            # storing it) could not encode it (a 500)
            raise ScoringConfigError(["<yaml>: a text holds a lone surrogate (\\ud800-\\udfff); remove it"])
    return doc


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_default_model() -> ScoringModel:
    """The packaged default model (scoring/default_model.yaml)."""
    text = resources.files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    return load_model(text)


def model_from_dict(doc: Any) -> ScoringModel:
    """Validate an already-parsed model document.

    Raises:
        ScoringConfigError: with every problem found.
    """
    c = Checker()
    top = c.mapping(doc, "", _TOP_KEYS)
    dimensions = _dimensions(c, top.get("dimensions"))
    dim_names = [d.name for d in dimensions]
    bands = _bands(c, top.get("bands", _DEFAULT_BANDS), "bands")
    default_weights = tuple(d.weight for d in dimensions)
    segments = _segments(c, top.get("segments"), dim_names, default_weights, bands)
    segments.append(Segment(name=DEFAULT_SEGMENT, rule=None, weights=default_weights, bands=bands))
    hyst = c.mapping(top.get("hysteresis"), "hysteresis", {"margin", "min_dwell_days", "crash_drop"})
    crash = (
        None
        if hyst.get("crash_drop") is None
        else c.number(hyst["crash_drop"], "hysteresis.crash_drop", 0, gt=0)
    )
    segments = [s if s.crash_drop is not None else replace(s, crash_drop=crash) for s in segments]
    drivers = c.mapping(top.get("drivers"), "drivers", {"top_n", "min_impact"})
    events = c.mapping(top.get("events"), "events", {"score_changed_delta"})
    band_names = {b.name for s in segments for b in s.bands}
    metric_names = {m.name for d in dimensions for m in d.metrics}
    for d in dimensions:
        for mspec in d.metrics:
            if mspec.evidence is not None and mspec.evidence.metric in metric_names:
                # A scored metric that is also another's evidence would break "better value, better score".
                c.add(
                    join(join(join(join("dimensions", d.name), "metrics"), mspec.name), "evidence.metric"),
                    f"{mspec.evidence.metric!r} is a scored metric; evidence must be a count the model does not score",
                )
    band_actions, rules, no_data = _actions(c, top.get("actions"), band_names, set(dim_names), metric_names)
    top_n = c.number(drivers.get("top_n"), "drivers.top_n", 3, ge=0)
    if not float(top_n).is_integer():
        c.add("drivers.top_n", "must be a whole number")
    model = ScoringModel(
        version=_version(c, top, doc),
        dimensions=tuple(dimensions),
        segments=tuple(segments),
        hysteresis=Hysteresis(
            margin=c.number(hyst.get("margin"), "hysteresis.margin", 2.0, ge=0),
            min_dwell_days=c.number(hyst.get("min_dwell_days"), "hysteresis.min_dwell_days", 3.0, ge=0),
            crash_drop=crash,
        ),
        top_drivers=int(top_n),
        min_driver_impact=c.number(drivers.get("min_impact"), "drivers.min_impact", 0.5, ge=0),
        score_changed_delta=c.number(
            events.get("score_changed_delta"), "events.score_changed_delta", 5.0, gt=0
        ),
        band_actions=band_actions,
        action_rules=rules,
        no_data_action=no_data,
    )
    if c.problems:
        raise ScoringConfigError(c.problems)
    return model


def _version(c: Checker, top: dict[str, Any], doc: Any) -> str:
    if "version" in top:
        v = top["version"]
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        return c.text(v, "version")
    # A content hash of the parsed document, so comments and formatting do not change the version.
    canonical = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _dimensions(c: Checker, node: Any) -> list[DimensionSpec]:
    dims_node = c.mapping(node, "dimensions")
    if not dims_node:
        c.add("dimensions", "at least one dimension is required")
    out: list[DimensionSpec] = []
    seen_metrics: dict[str, str] = {}
    for name, raw in dims_node.items():
        path = join("dimensions", name)
        d = c.mapping(raw, path, {"label", "weight", "metrics"})
        weight = c.number(d.get("weight"), join(path, "weight"), 1.0, ge=0)
        metrics_node = c.mapping(d.get("metrics"), join(path, "metrics"))
        if not metrics_node:
            c.add(join(path, "metrics"), "at least one metric is required")
        metrics = []
        for mname, mraw in metrics_node.items():
            mpath = join(join(path, "metrics"), mname)
            if mname in seen_metrics:
                c.add(mpath, f"metric already defined in dimension {seen_metrics[mname]!r}")
            seen_metrics[mname] = name
            metrics.append(_metric(c, mname, name, mraw, mpath))
        if metrics and sum(m.weight for m in metrics) <= 0:
            c.add(join(path, "metrics"), "at least one metric needs a weight > 0")
        label = c.text(d.get("label"), join(path, "label"), name.replace("_", " ").capitalize())
        out.append(DimensionSpec(name=name, label=label, weight=weight, metrics=tuple(metrics)))
    if out and sum(d.weight for d in out) <= 0:
        c.add("dimensions", "at least one dimension needs a weight > 0")
    return out


TEMPLATE_FIELDS = ("value", "label", "unit")
# Widths and precisions a driver text needs are a few characters; str.format honours any, so
# "{value:>2000000000}" (20 characters of YAML) allocated gigabytes on validation and again for every
# account in every scoring pass.
MAX_TEMPLATE_NUMBER = 64


def _template_problem(text: str) -> str | None:
    """Why `text` is not a driver template (None: it is): only {value}, {label} and {unit}, no attribute
    or index lookups, no nested fields, widths and precisions up to MAX_TEMPLATE_NUMBER."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return str(exc)
    for _literal, name, spec, _conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            return f"unknown field {{{name}}}"
        if spec and ("{" in spec or "}" in spec):
            return f"nested field in {{{name}:{spec}}}"
        if spec and any(int(n) > MAX_TEMPLATE_NUMBER for n in re.findall(r"\d+", spec)):
            return f"width or precision above {MAX_TEMPLATE_NUMBER} in {{{name}:{spec}}}"
    try:
        text.format(value=1.5, label="label", unit="u")
    except (KeyError, IndexError, ValueError) as exc:
        return str(exc)
    return None


def _metric(c: Checker, name: str, dim: str, raw: Any, path: str) -> MetricSpec:
    m = c.mapping(raw, path, _METRIC_KEYS)
    direction = m.get("direction")
    if direction not in ("higher_is_better", "lower_is_better"):
        c.add(join(path, "direction"), "must be higher_is_better or lower_is_better")
        direction = "higher_is_better"
    lookback = c.number(m.get("lookback_days"), join(path, "lookback_days"), 0, ge=0)
    if not float(lookback).is_integer():
        c.add(join(path, "lookback_days"), "must be a whole number of days")
    text = c.text(m.get("text"), join(path, "text"), "{label}: {value:g}")
    label = c.text(m.get("label"), join(path, "label"), name.replace("_", " "))
    problem = _template_problem(text)
    if problem is not None:
        c.add(join(path, "text"), f"bad template ({problem}); use {{value}}, {{label}}, {{unit}}")
    return MetricSpec(
        name=name,
        dimension=dim,
        label=label,
        unit=c.text(m.get("unit"), join(path, "unit"), ""),
        direction=cast(MetricDirection, direction),
        lookback_days=int(lookback),
        weight=c.number(m.get("weight"), join(path, "weight"), 1.0, ge=0),
        normalise=_normalisation(c, m.get("normalise"), join(path, "normalise"), direction),
        text=text,
        evidence=_evidence(c, m.get("evidence"), join(path, "evidence"), name),
    )


def _evidence(c: Checker, raw: Any, path: str, metric: str) -> Evidence | None:
    if raw is None:
        return None
    e = c.mapping(raw, path, {"metric", "half"})
    count = c.text(e.get("metric"), join(path, "metric"), "")
    if not count:
        c.add(join(path, "metric"), "names the signal that counts the data behind the metric")
    elif count == metric:
        c.add(join(path, "metric"), "must be another signal (a count), not the metric itself")
    if "half" not in e:
        c.add(join(path, "half"), "is required: the count at which the metric carries half its weight")
    half = c.number(e.get("half"), join(path, "half"), 1.0, gt=0)
    return Evidence(metric=count, half=half)


def _normalisation(c: Checker, raw: Any, path: str, direction: str) -> Normalisation:
    n = c.mapping(raw, path, {"method", "low", "high", "thresholds", "scores", "min_population"})
    method = n.get("method")
    if method == "linear":
        low = c.number(n.get("low"), join(path, "low"), 0.0)
        high = c.number(n.get("high"), join(path, "high"), 1.0)
        if "low" not in n or "high" not in n:
            c.add(path, "linear needs low and high")
        elif low >= high:
            c.add(join(path, "high"), f"must be > low ({fmt(low)})")
        return Normalisation(method="linear", low=low, high=high)
    if method == "segment_percentile":
        pop = c.number(n.get("min_population"), join(path, "min_population"), 20, ge=1)
        return Normalisation(method="segment_percentile", min_population=int(pop))
    if method == "stepped":
        return _stepped(c, n, path, direction)
    c.add(join(path, "method"), "must be linear, segment_percentile or stepped")
    return Normalisation(method="linear")


def _stepped(c: Checker, n: dict[str, Any], path: str, direction: str) -> Normalisation:
    thresholds = c.num_list(n.get("thresholds"), join(path, "thresholds"))
    scores = c.num_list(n.get("scores"), join(path, "scores"))
    if any(b <= a for a, b in itertools.pairwise(thresholds)):
        c.add(join(path, "thresholds"), "must be strictly ascending")
    if thresholds and scores and len(scores) != len(thresholds) + 1:
        c.add(join(path, "scores"), f"needs {len(thresholds) + 1} values (one more than thresholds)")
    if any(not 0 <= s <= 1 for s in scores):
        c.add(join(path, "scores"), "every score must be within 0..1")
    pairs = list(itertools.pairwise(scores))
    if direction == "higher_is_better" and any(b < a for a, b in pairs):
        c.add(join(path, "scores"), "must not decrease for a higher_is_better metric")
    if direction == "lower_is_better" and any(b > a for a, b in pairs):
        c.add(join(path, "scores"), "must not increase for a lower_is_better metric")
    return Normalisation(method="stepped", thresholds=thresholds, scores=scores)


def _bands(c: Checker, raw: Any, path: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        c.add(path, "must be a non-empty list of {name, colour, min}, highest band first")
        return tuple(Band(name=b["name"], colour=b["colour"], min=b["min"]) for b in _DEFAULT_BANDS)
    out: list[Band] = []
    for i, item in enumerate(raw):
        bpath = join(path, i)
        b = c.mapping(item, bpath, {"name", "colour", "min"})
        name = c.text(b.get("name"), join(bpath, "name"))
        if name in {x.name for x in out}:
            c.add(join(bpath, "name"), f"duplicate band {name!r}")
        out.append(
            Band(
                name=name,
                colour=c.text(b.get("colour"), join(bpath, "colour"), "#888888"),
                min=c.number(b.get("min"), join(bpath, "min"), 0.0, ge=0),
            )
        )
        if "min" not in b:
            c.add(join(bpath, "min"), "is required")
    _check_band_order(c, out, path)
    return tuple(out)


def _check_band_order(c: Checker, bands: list[Band], path: str) -> None:
    for a, b in itertools.pairwise(bands):
        if b.min >= a.min:
            c.add(path, f"band {b.name!r} (min {fmt(b.min)}) must be below {a.name!r} (min {fmt(a.min)})")
    if bands and bands[-1].min != 0:
        c.add(path, f"the last band ({bands[-1].name!r}) must have min 0")
    if bands and bands[0].min > 100:
        c.add(path, f"band {bands[0].name!r} min must be ≤ 100")


def _segments(
    c: Checker,
    raw: Any,
    dim_names: list[str],
    default_weights: tuple[float, ...],
    bands: tuple[Band, ...],
) -> list[Segment]:
    out = []
    for name, sraw in c.mapping(raw, "segments").items():
        path = join("segments", name)
        if name == DEFAULT_SEGMENT:
            c.add(path, f"{DEFAULT_SEGMENT!r} is reserved (top-level weights and bands are the default)")
        s = c.mapping(sraw, path, {"when", "weights", "bands", "crash_drop"})
        weights = list(default_weights)
        for dim, w in c.mapping(s.get("weights"), join(path, "weights")).items():
            wpath = join(join(path, "weights"), dim)
            if dim not in dim_names:
                c.add(wpath, "unknown dimension")
                continue
            weights[dim_names.index(dim)] = c.number(w, wpath, default_weights[dim_names.index(dim)], ge=0)
        if default_weights and sum(weights) <= 0:
            c.add(join(path, "weights"), "at least one dimension needs a weight > 0")
        out.append(
            Segment(
                name=name,
                rule=_rule(c, s.get("when"), join(path, "when")),
                weights=tuple(weights),
                bands=_segment_bands(c, s.get("bands"), join(path, "bands"), bands),
                crash_drop=None
                if s.get("crash_drop") is None
                else c.number(s["crash_drop"], join(path, "crash_drop"), 0, gt=0),
            )
        )
    return out


def _rule(c: Checker, raw: Any, path: str) -> SegmentRule:
    w = c.mapping(raw, path, {"segment", "plan", "arr_min", "arr_max"})
    if not w:
        c.add(path, "needs at least one of segment, plan, arr_min, arr_max")
    rule = SegmentRule(
        segments=c.str_list(w.get("segment"), join(path, "segment")),
        plans=c.str_list(w.get("plan"), join(path, "plan")),
        arr_min=None if w.get("arr_min") is None else c.number(w["arr_min"], join(path, "arr_min"), 0, ge=0),
        arr_max=None if w.get("arr_max") is None else c.number(w["arr_max"], join(path, "arr_max"), 0, gt=0),
    )
    if rule.arr_min is not None and rule.arr_max is not None and rule.arr_max <= rule.arr_min:
        c.add(join(path, "arr_max"), "must be > arr_min")
    return rule


def _segment_bands(c: Checker, raw: Any, path: str, bands: tuple[Band, ...]) -> tuple[Band, ...]:
    """A segment overrides band thresholds by name: {green: 80, yellow: 55}."""
    mins = {b.name: b.min for b in bands}
    for name, value in c.mapping(raw, path).items():
        if name not in mins:
            c.add(join(path, name), f"unknown band (expected one of: {', '.join(mins)})")
            continue
        mins[name] = c.number(value, join(path, name), mins[name], ge=0)
    out = [Band(name=b.name, colour=b.colour, min=mins[b.name]) for b in bands]
    if raw is not None:
        _check_band_order(c, out, path)
    return tuple(out)


def _actions(
    c: Checker, raw: Any, band_names: set[str], dims: set[str], metrics: set[str]
) -> tuple[tuple[tuple[str, str], ...], tuple[ActionRule, ...], str]:
    a = c.mapping(raw, "actions", {"by_band", "rules", "no_data"})
    by_band = []
    for band, action in c.mapping(a.get("by_band"), "actions.by_band").items():
        if band not in band_names:
            c.add(join("actions.by_band", band), "unknown band")
        by_band.append((band, c.text(action, join("actions.by_band", band))))
    rules_node = a.get("rules") or []
    if not isinstance(rules_node, list):
        c.add("actions.rules", "must be a list")
        rules_node = []
    rules = []
    for i, item in enumerate(rules_node):
        path = join("actions.rules", i)
        r = c.mapping(item, path, {"band", "dimension", "metric", "direction", "action"})
        rule_bands = c.str_list(r.get("band"), join(path, "band"))
        rule_dims = c.str_list(r.get("dimension"), join(path, "dimension"))
        rule_metrics = c.str_list(r.get("metric"), join(path, "metric"))
        for b in rule_bands:
            if b not in band_names:
                c.add(join(path, "band"), f"unknown band {b!r}")
        for d in rule_dims:
            if d not in dims:
                c.add(join(path, "dimension"), f"unknown dimension {d!r}")
        for m in rule_metrics:
            if m not in metrics:
                c.add(join(path, "metric"), f"unknown metric {m!r}")
        direction = r.get("direction", "down")
        if direction not in ("up", "down"):
            c.add(join(path, "direction"), "must be up or down")
            direction = "down"
        rules.append(
            ActionRule(
                bands=rule_bands,
                dimensions=rule_dims,
                metrics=rule_metrics,
                direction=direction,
                action=c.text(r.get("action"), join(path, "action")),
            )
        )
    no_data = c.text(
        a.get("no_data"), "actions.no_data", "Check the account's CRM and helpdesk links: no data"
    )
    return tuple(by_band), tuple(rules), no_data
