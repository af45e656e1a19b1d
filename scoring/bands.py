"""Bands from scores, with hysteresis so scores wobbling around a threshold do not flap.

Rule: an account leaves its current band only when the score is beyond that band's edge by at least
`margin` points AND it has been in the band for at least `min_dwell_days`. It then moves to the band
the score falls in (which may skip a band). A score of exactly the band's `min` belongs to that band.

Crash override: when the score fell by MORE than `crash_drop` points since the last scoring and now lies
in a lower band, the account moves at once (no margin, no dwell): a collapse is news today, while small
wobbles around an edge still wait. Rises never skip the dwell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from scoring.model import Band, Hysteresis, ScoringModel
from scoring.types import BandState


def band_for(score: float, bands: Sequence[Band]) -> Band:
    """The band a score falls in (bands highest first; the last has min 0).

    Raises:
        ValueError: no bands given.
    """
    if not bands:
        raise ValueError("no bands")
    for band in bands:
        if score >= band.min:
            return band
    return bands[-1]


def band_range(name: str, bands: Sequence[Band]) -> tuple[float, float] | None:
    """[low, high) score range of a band by name; None if the band is not in this model."""
    for i, band in enumerate(bands):
        if band.name == name:
            high = bands[i - 1].min if i > 0 else float("inf")
            low = band.min if i < len(bands) - 1 else float("-inf")
            return low, high
    return None


def next_band(
    previous: BandState | None,
    score: float | None,
    as_of: datetime,
    bands: Sequence[Band],
    hysteresis: Hysteresis,
    crash_drop: float | None = None,
) -> BandState | None:
    """The band state after scoring `score` at `as_of`, given the state remembered from last time.

    No score keeps the previous state (None if there was none). A previous band the model no longer
    has is replaced by the raw band. `crash_drop` (default: the hysteresis's) is the segment's crash
    threshold; the returned state remembers `score` so the next call can measure a drop from it.
    """
    if score is None:
        return previous
    raw = band_for(score, bands)
    if previous is None:
        return BandState(band=raw.name, since=as_of, score=score)
    current = band_range(previous.band, bands)
    if current is None:
        return BandState(band=raw.name, since=as_of, score=score)
    if raw.name == previous.band:
        return replace(previous, score=score)
    low, high = current
    threshold = hysteresis.crash_drop if crash_drop is None else crash_drop
    crashed = (
        threshold is not None
        and previous.score is not None
        and previous.score - score > threshold
        and score < low
    )
    beyond = score >= high + hysteresis.margin or score < low - hysteresis.margin
    dwelt = as_of - previous.since >= timedelta(days=hysteresis.min_dwell_days)
    if crashed or (beyond and dwelt):
        return BandState(band=raw.name, since=as_of, score=score)
    return replace(previous, score=score)


def next_band_for(
    model: ScoringModel, segment: str, previous: BandState | None, score: float | None, as_of: datetime
) -> BandState | None:
    """`next_band` with the bands of a model segment (by name) and the model's hysteresis.

    Raises:
        KeyError: the model has no segment of that name.
    """
    seg = model.segments[model.segment_index(segment)]
    return next_band(previous, score, as_of, seg.bands, model.hysteresis, seg.crash_drop)
