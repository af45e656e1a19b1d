"""Top drivers: the metrics that pull an account's score furthest from neutral, in a rep's words.

impact (points) = renormalised effective weight * (normalised - 0.5) * 100, so a metric at its
neutral midpoint contributes nothing and one account's impacts sum to score - 50 (see engine).
Drivers are the metrics with the largest |impact| (at least `min_driver_impact` points), largest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.model import MetricSpec
from scoring.types import Driver


def render(spec: MetricSpec, value: float) -> str:
    """The metric's text template filled with its raw value, e.g. "CSAT 2.1/5"."""
    return spec.text.format(value=value, label=spec.label, unit=spec.unit)


def build_drivers(
    specs: Sequence[MetricSpec],
    indices: Sequence[int],
    impacts: Sequence[float],
    values: Sequence[float],
) -> tuple[Driver, ...]:
    """Driver objects for one account: metric indices (-1 = none) with their impacts and raw values."""
    out = []
    for j, impact, raw in zip(indices, impacts, values, strict=True):
        if j < 0:
            continue
        spec = specs[j]
        value = float(raw)
        out.append(
            Driver(
                metric=spec.name,
                dimension=spec.dimension,
                direction="up" if impact > 0 else "down",
                impact=round(float(impact), 1),
                value=value,
                text=render(spec, value),
            )
        )
    return tuple(out)
