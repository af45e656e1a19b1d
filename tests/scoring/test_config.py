"""Model loading and validation: every problem is reported at once, each with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring.config import ScoringConfigError, load_default_model, load_model, model_from_dict
from tests.scoring.conftest import SMALL_MODEL

DEFAULT_METRICS = {
    "open_tickets",
    "escalated_tickets_90d",
    "ticket_volume_trend",
    "high_priority_share_90d",
    "first_reply_hours_median_90d",
    "resolution_hours_median_90d",
    "reopen_rate_90d",
    "csat_avg_90d",
    "csat_trend",
    "nps_score",
    "nps_avg_365d",
    "nps_detractor_share",
    "sentiment_30d",
    "negative_ticket_share_30d",
    "negative_tickets_14d",
    "arr_change_pct",
    "days_to_renewal",
    "open_renewal_deal_stage",
    "open_upsell_deals",
    "days_since_last_contact",
    "seat_utilisation",
    "csat_avg_365d",
    "high_priority_share_180d",
    "sentiment_180d",
    "negative_ticket_share_180d",
    "high_priority_share_365d",
    "escalated_share_365d",
    "reopened_share_365d",
    "ticket_rate_365d",
    "sentiment_365d",
    "negative_ticket_share_365d",
}


def test_default_model_has_the_contract_metrics_and_dimensions() -> None:
    model = load_default_model()
    assert {m.name for m in model.metrics} == DEFAULT_METRICS
    assert [d.name for d in model.dimensions] == [
        "product",
        "support",
        "relationship",
        "financial",
        "sentiment",
    ]
    assert all(m.unit for m in model.metrics), "every default metric documents its unit"
    assert [b.name for b in model.default_segment.bands] == ["green", "yellow", "red"]
    assert [b.min for b in model.default_segment.bands] == [75, 50, 0]


def test_segment_overrides_merge_over_defaults() -> None:
    model = load_model(SMALL_MODEL)
    big = model.segments[model.segment_index("big")]
    assert big.weights == (3.0, 1.0, 1.0)  # support and usage overridden, peers inherited
    assert [(b.name, b.min) for b in big.bands] == [("green", 80), ("yellow", 50), ("red", 0)]
    assert model.default_segment.weights == (1.0, 3.0, 1.0)


def test_version_is_content_hash_when_missing_and_ignores_formatting() -> None:
    doc = yaml.safe_load(SMALL_MODEL)
    del doc["version"]
    a = model_from_dict(doc)
    b = load_model("# a comment\n" + yaml.safe_dump(doc, default_flow_style=True))
    assert a.version.startswith("sha256:")
    assert a.version == b.version
    doc["dimensions"]["usage"]["weight"] = 2
    assert model_from_dict(doc).version != a.version


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(SMALL_MODEL, encoding="utf-8")
    assert load_model(path).version == "small-1"
    assert load_model(str(path)).version == "small-1"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ScoringConfigError, match="cannot read"):
        load_model(tmp_path / "nope.yaml")


def test_yaml_syntax_error_is_a_config_error() -> None:
    with pytest.raises(ScoringConfigError, match="<yaml>"):
        load_model("dimensions: [unclosed\n")


def _small() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SMALL_MODEL)
    return doc


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return doc


BAD = [
    ("segments.big.weights.support", -1, "segments.big.weights.support: must be ≥ 0"),
    ("segments.big.weights.suport", 1, "segments.big.weights.suport: unknown dimension"),
    (
        "segments.big.bands.green",
        40,
        "segments.big.bands: band 'yellow' (min 50) must be below 'green' (min 40)",
    ),
    ("segments.big.bands.blue", 40, "segments.big.bands.blue: unknown band"),
    ("segments.big.when", {}, "segments.big.when: needs at least one of"),
    ("segments.big.when.arr_max", 10, "segments.big.when.arr_max: must be > arr_min"),
    ("segments.big.when.tier", "x", "segments.big.when.tier: unknown key"),
    ("dimensions.usage.weight", "heavy", "dimensions.usage.weight: must be a number, got 'heavy'"),
    ("dimensions.usage.metrics.seats.weight", -2, "dimensions.usage.metrics.seats.weight: must be ≥ 0"),
    ("dimensions.usage.metrics.seats.direction", "up", "dimensions.usage.metrics.seats.direction: must be"),
    (
        "dimensions.usage.metrics.seats.normalise.method",
        "log",
        "dimensions.usage.metrics.seats.normalise.method",
    ),
    (
        "dimensions.usage.metrics.seats.normalise.high",
        0,
        "dimensions.usage.metrics.seats.normalise.high: must be > low (0)",
    ),
    (
        "dimensions.usage.metrics.seats.normalise.bonds",
        1,
        "dimensions.usage.metrics.seats.normalise.bonds: unknown key",
    ),
    ("dimensions.usage.metrics.seats.text", "{valu}", "dimensions.usage.metrics.seats.text: bad template"),
    (
        "dimensions.usage.metrics.seats.lookback_days",
        1.5,
        "dimensions.usage.metrics.seats.lookback_days: must be a whole",
    ),
    (
        "dimensions.support.metrics.tickets.normalise.scores",
        [1, 0.5],
        "tickets.normalise.scores: needs 3 values",
    ),
    (
        "dimensions.support.metrics.tickets.normalise.scores",
        [0, 0.5, 1],
        "tickets.normalise.scores: must not increase",
    ),
    (
        "dimensions.support.metrics.tickets.normalise.scores",
        [2, 0.5, 0],
        "tickets.normalise.scores: every score must be within 0..1",
    ),
    (
        "dimensions.support.metrics.tickets.normalise.thresholds",
        [3, 1],
        "tickets.normalise.thresholds: must be strictly ascending",
    ),
    ("dimensions.usage.metrics", {}, "dimensions.usage.metrics: at least one metric is required"),
    ("bands", [{"name": "ok", "min": 10}], "bands: the last band ('ok') must have min 0"),
    ("hysteresis.margin", -1, "hysteresis.margin: must be ≥ 0"),
    ("events.score_changed_delta", 0, "events.score_changed_delta: must be > 0"),
    ("actions.by_band.purple", "x", "actions.by_band.purple: unknown band"),
    ("actions.rules.0.dimension", "billing", "actions.rules.0.dimension: unknown dimension 'billing'"),
    ("actions.rules.1.metric", "seatz", "actions.rules.1.metric: unknown metric 'seatz'"),
    ("colour", "red", "colour: unknown key"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[b[0] + "=" + repr(b[1]) for b in BAD])
def test_validation_names_the_bad_key(path: str, value: Any, message: str) -> None:
    with pytest.raises(ScoringConfigError) as info:
        model_from_dict(_set(_small(), path, value))
    assert any(message in p for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once() -> None:
    doc = _small()
    _set(doc, "segments.big.weights.support", -1)
    _set(doc, "dimensions.usage.metrics.seats.direction", "sideways")
    _set(doc, "hysteresis.min_dwell_days", "a week")
    with pytest.raises(ScoringConfigError) as info:
        model_from_dict(doc)
    paths = [p.split(":")[0] for p in info.value.problems]
    assert paths == [
        "dimensions.usage.metrics.seats.direction",
        "segments.big.weights.support",
        "hysteresis.min_dwell_days",
    ]
    assert "segments.big.weights.support: must be ≥ 0" in str(info.value)


def test_reserved_default_segment_name() -> None:
    doc = _small()
    doc["segments"]["default"] = {"when": {"plan": "x"}}
    with pytest.raises(ScoringConfigError, match=r"segments\.default: 'default' is reserved"):
        model_from_dict(doc)


def test_metric_defined_twice() -> None:
    doc = _small()
    doc["dimensions"]["usage"]["metrics"]["csat"] = doc["dimensions"]["support"]["metrics"]["csat"]
    with pytest.raises(ScoringConfigError, match=r"dimensions.usage.metrics.csat: metric already defined"):
        model_from_dict(doc)


def test_not_a_mapping() -> None:
    with pytest.raises(ScoringConfigError) as info:
        model_from_dict(["x"])
    assert info.value.problems[0] == "<root>: must be a mapping"


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("version: x\n weights: 2\nc", "line 2, column 9", "indentation"),
        ("version: x\n\tweights: 2", "line 2, column 1", "spaces, not tabs"),
        ('version: "x', "line 1, column 12", ""),
    ],
)
def test_a_yaml_syntax_error_says_where_in_an_editors_terms(text: str, where: str, hint: str) -> None:
    """One line with the 1-based line and column an editor shows, not PyYAML's multi-line report naming
    '<unicode string>'."""
    with pytest.raises(ScoringConfigError) as err:
        load_model(text)
    (problem,) = err.value.problems
    assert f"not valid YAML at {where}:" in problem
    assert hint in problem
    assert "<unicode string>" not in problem
    assert "\n" not in problem
