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
    assert next_band(None, 74.9, AS_OF, BANDS, HYST) == BandState(band="yellow", since=AS_OF, score=74.9)


def test_staying_keeps_the_since_date() -> None:
    prev = BandState(band="green", since=AS_OF - timedelta(days=30), score=88)
    assert next_band(prev, 90, AS_OF, BANDS, HYST) == BandState(band="green", since=prev.since, score=90)


def test_no_score_keeps_previous_state() -> None:
    prev = BandState(band="red", since=AS_OF)
    assert next_band(prev, None, AS_OF, BANDS, HYST) is prev
    assert next_band(None, None, AS_OF, BANDS, HYST) is None


def test_band_removed_from_model_resets_to_raw_band() -> None:
    prev = BandState(band="amber", since=AS_OF - timedelta(days=1))
    assert next_band(prev, 60, AS_OF, BANDS, HYST) == BandState(band="yellow", since=AS_OF, score=60)


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
    assert next_band_for(small_model, "big", None, 78, AS_OF) == BandState(
        band="yellow", since=AS_OF, score=78
    )
    assert next_band_for(small_model, "default", None, 78, AS_OF) == BandState(
        band="green", since=AS_OF, score=78
    )
    with pytest.raises(KeyError):
        next_band_for(small_model, "nope", None, 78, AS_OF)


CRASH = Hysteresis(margin=2.0, min_dwell_days=3, crash_drop=15)


def crash_run(scores: list[tuple[int, float]], crash_drop: float | None = None) -> list[str]:
    """Like run(), with the crash override on (15 points unless the segment gives its own)."""
    state = None
    out = []
    for day, score in scores:
        state = next_band(state, score, AS_OF + timedelta(days=day), BANDS, CRASH, crash_drop)
        assert state is not None
        out.append(state.band)
    return out


@pytest.mark.parametrize(
    ("scores", "bands"),
    [
        pytest.param([(0, 80.0), (1, 40.0)], ["green", "red"], id="collapse-moves-at-once"),
        pytest.param([(0, 80.0), (1, 65.0)], ["green", "green"], id="drop-of-exactly-15-waits"),
        pytest.param([(0, 80.0), (1, 64.9)], ["green", "yellow"], id="drop-just-over-15-moves"),
        pytest.param(
            [(0, 76.0), (1, 74.5), (2, 73.5)], ["green", "green", "green"], id="small-wobble-still-waits"
        ),
        pytest.param(
            [(0, 80.0), (1, 70.0), (2, 60.0)],
            ["green", "green", "green"],
            id="two-steps-of-10-are-not-a-crash",
        ),
        pytest.param(
            [(0, 90.0), (1, 76.0), (2, 60.0)],
            ["green", "green", "yellow"],
            id="crash-measured-from-the-last-score",
        ),
        pytest.param([(0, 95.0), (1, 76.0)], ["green", "green"], id="big-drop-inside-the-band-stays"),
        pytest.param([(0, 30.0), (1, 90.0)], ["red", "red"], id="a-jump-up-still-waits"),
        pytest.param(
            [(0, 80.0), (1, 60.0), (2, 40.0)], ["green", "yellow", "red"], id="crash-again-the-next-day"
        ),
    ],
)
def test_crash_override(scores: list[tuple[int, float]], bands: list[str]) -> None:
    assert crash_run(scores) == bands


def test_segment_crash_threshold_overrides_the_model() -> None:
    assert crash_run([(0, 80.0), (1, 68.0)], crash_drop=10) == ["green", "yellow"]
    assert crash_run([(0, 80.0), (1, 68.0)]) == ["green", "green"]


def test_no_crash_without_a_remembered_score() -> None:
    """A state from before scores were remembered (score None) falls back to margin + dwell."""
    prev = BandState(band="green", since=AS_OF)
    assert next_band(prev, 20.0, AS_OF + timedelta(days=1), BANDS, CRASH) == BandState(
        band="green", since=AS_OF, score=20.0
    )


def test_crash_drop_from_config_with_segment_override() -> None:
    from scoring.config import load_default_model

    model = load_default_model()
    assert model.hysteresis.crash_drop == 15
    assert {s.name: s.crash_drop for s in model.segments} == {"enterprise": 10, "default": 15}
    prev = BandState(band="green", since=AS_OF, score=80.0)
    later = AS_OF + timedelta(hours=6)
    assert next_band_for(model, "enterprise", prev, 68.0, later) == BandState(
        band="yellow", since=later, score=68.0
    )
    assert next_band_for(model, "default", prev, 68.0, later) == BandState(
        band="green", since=AS_OF, score=68.0
    )
