"""Band edges and hysteresis: wobbles around a threshold must not flap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scoring.bands import band_for, band_range, next_band, next_band_for
from scoring.model import Band, Hysteresis, ScoringModel
from scoring.types import BandState
from tests.scoring.conftest import AS_OF

BANDS = (
    Band(name="green", colour="g", min=75),
    Band(name="yellow", colour="y", min=50),
    Band(name="red", colour="r", min=0),
)
HYST = Hysteresis(margin=2.0, min_dwell_days=3)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        pytest.param(100, "green", id="100"),
        pytest.param(75, "green", id="75-is-green"),
        pytest.param(74.9, "yellow", id="74.9-is-yellow"),
        pytest.param(50, "yellow", id="50-is-yellow"),
        pytest.param(49.9, "red", id="49.9-is-red"),
        pytest.param(0, "red", id="0"),
    ],
)
def test_band_edges(score: float, band: str) -> None:
    assert band_for(score, BANDS).name == band


def test_band_range() -> None:
    assert band_range("green", BANDS) == (75, float("inf"))
    assert band_range("yellow", BANDS) == (50, 75)
    assert band_range("red", BANDS) == (float("-inf"), 50)
    assert band_range("purple", BANDS) is None


def run(scores: list[tuple[int, float]], start: BandState | None = None) -> list[str]:
    """Feed (day, score) pairs through next_band and return the band after each."""
    state = start
    out = []
    for day, score in scores:
        state = next_band(state, score, AS_OF + timedelta(days=day), BANDS, HYST)
        assert state is not None
        out.append(state.band)
    return out


FLAPS = [
    pytest.param(
        [(0, 75.2), (1, 74.6), (5, 75.1), (9, 74.6), (20, 73.5)],
        ["green"] * 5,
        id="wobble-below-margin-stays",
    ),
    pytest.param(
        [(0, 75.2), (1, 72.0), (2, 60.0), (3, 60.0)],
        ["green", "green", "green", "yellow"],
        id="dwell-then-leave",
    ),
    pytest.param(
        [(0, 75.2), (5, 73.0), (6, 72.9)], ["green", "green", "yellow"], id="margin-edge-73-stays-72.9-leaves"
    ),
    pytest.param(
        [(0, 60.0), (5, 76.9), (6, 77.0)], ["yellow", "yellow", "green"], id="upward-needs-margin-too"
    ),
    pytest.param([(0, 80.0), (10, 10.0)], ["green", "red"], id="skips-a-band"),
    pytest.param(
        [(0, 80.0), (10, 60.0), (11, 47.0), (14, 47.9)],
        ["green", "yellow", "yellow", "red"],
        id="new-band-restarts-dwell",
    ),
    pytest.param(
        [(0, 49.0), (4, 51.0), (5, 52.0), (8, 49.5)],
        ["red", "red", "yellow", "yellow"],
        id="red-to-yellow-and-no-flap-back",
    ),
]


@pytest.mark.parametrize(("scores", "bands"), FLAPS)
def test_hysteresis_sequences(scores: list[tuple[int, float]], bands: list[str]) -> None:
    assert run(scores) == bands


def test_first_score_takes_raw_band_since_now() -> None:
    assert next_band(None, 74.9, AS_OF, BANDS, HYST) == BandState(band="yellow", since=AS_OF)


def test_staying_keeps_the_since_date() -> None:
    prev = BandState(band="green", since=AS_OF - timedelta(days=30))
    assert next_band(prev, 90, AS_OF, BANDS, HYST) is prev


def test_no_score_keeps_previous_state() -> None:
    prev = BandState(band="red", since=AS_OF)
    assert next_band(prev, None, AS_OF, BANDS, HYST) is prev
    assert next_band(None, None, AS_OF, BANDS, HYST) is None


def test_band_removed_from_model_resets_to_raw_band() -> None:
    prev = BandState(band="amber", since=AS_OF - timedelta(days=1))
    assert next_band(prev, 60, AS_OF, BANDS, HYST) == BandState(band="yellow", since=AS_OF)


def test_zero_hysteresis_follows_raw_band() -> None:
    none = Hysteresis(margin=0, min_dwell_days=0)
    state = None
    seen = []
    for score in (75.0, 74.9, 75.0):
        state = next_band(state, score, AS_OF, BANDS, none)
        assert state is not None
        seen.append(state.band)
    assert seen == ["green", "yellow", "green"]


def test_next_band_for_uses_the_segment_thresholds(small_model: ScoringModel) -> None:
    # "big" overrides green to 80: 78 is yellow there, green in the default segment.
    assert next_band_for(small_model, "big", None, 78, AS_OF) == BandState(band="yellow", since=AS_OF)
    assert next_band_for(small_model, "default", None, 78, AS_OF) == BandState(band="green", since=AS_OF)
    with pytest.raises(KeyError):
        next_band_for(small_model, "nope", None, 78, AS_OF)
