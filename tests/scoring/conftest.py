"""A small hand-checkable scoring model shared by the scoring tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scoring.config import load_model
from scoring.model import ScoringModel

SMALL_MODEL = """
version: small-1
hysteresis: {margin: 2, min_dwell_days: 3}
drivers: {top_n: 2, min_impact: 0.5}
events: {score_changed_delta: 5}
dimensions:
  support:
    weight: 1
    metrics:
      csat:
        direction: higher_is_better
        weight: 1
        normalise: {method: linear, low: 1, high: 5}
        text: "CSAT {value:.1f}/5"
      tickets:
        direction: lower_is_better
        weight: 1
        normalise: {method: stepped, thresholds: [1, 3], scores: [1.0, 0.5, 0.0]}
        text: "{value:.0f} negative tickets in 14 days"
  usage:
    weight: 3
    metrics:
      seats:
        direction: higher_is_better
        weight: 1
        normalise: {method: linear, low: 0, high: 1}
        text: "{value:.0%} of seats in use"
  peers:
    weight: 1
    metrics:
      open:
        direction: lower_is_better
        weight: 1
        normalise: {method: segment_percentile, min_population: 2}
        text: "{value:.0f} open tickets"
segments:
  big:
    when: {arr_min: 100000}
    weights: {support: 3, usage: 1}
    bands: {green: 80}
  pro:
    when: {plan: [pro, enterprise], segment: mid_market}
actions:
  by_band: {green: grow, yellow: check in, red: save plan}
  rules:
    - {band: red, dimension: support, direction: down, action: escalate to support lead}
    - {band: [red, yellow], metric: seats, action: adoption session}
  no_data: link the account
"""

AS_OF = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def small_model() -> ScoringModel:
    """The hand-checkable model above."""
    return load_model(SMALL_MODEL)
