"""Table-driven tests of the pure feature helpers and the three normalisations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring import features
from scoring.model import MetricDirection


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        pytest.param([], None, id="no-responses"),
        pytest.param([10, 9, 10], 100.0, id="all-promoters"),
        pytest.param([0, 6, 3], -100.0, id="all-detractors"),
        pytest.param([7, 8], 0.0, id="all-passives"),
        pytest.param([10, 8, 6, 0], 100 * (1 - 2) / 4, id="mixed"),
        pytest.param([9, 6], 0.0, id="boundaries-9-promoter-6-detractor"),
    ],
)
def test_nps(scores: list[float], expected: float | None) -> None:
    assert features.nps(scores) == expected


def test_nps_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.10"):
        features.nps([11])


@pytest.mark.parametrize(
    ("scores", "expected"),
    [([], None), ([9, 10], 0.0), ([1, 10], 0.5), ([6, 7, 8, 2], 0.5)],
    ids=["empty", "none", "half", "boundary-6"],
)
def test_detractor_share(scores: list[float], expected: float | None) -> None:
    assert features.detractor_share(scores) == expected


@pytest.mark.parametrize(
    ("values", "ages", "half_life", "expected"),
    [
        pytest.param([], [], 7, None, id="empty"),
        pytest.param([0.4], [30], 7, 0.4, id="single-value-any-age"),
        pytest.param([1.0, -1.0], [0, 0], 7, 0.0, id="same-age-plain-mean"),
        # weights 1 and 0.5 → (1*1 + 0.5*-1) / 1.5
        pytest.param([1.0, -1.0], [0, 7], 7, 1 / 3, id="one-half-life-counts-half"),
        pytest.param([1.0, -1.0], [0, 14], 7, (1 - 0.25) / 1.25, id="two-half-lives-quarter"),
    ],
)
def test_time_decayed_mean(
    values: list[float], ages: list[float], half_life: float, expected: float | None
) -> None:
    got = features.time_decayed_mean(values, ages, half_life)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "ages", "half_life"),
    [([1.0], [], 7), ([1.0], [1], 0), ([1.0], [-1], 7)],
    ids=["length-mismatch", "zero-half-life", "future-item"],
)
def test_time_decayed_mean_rejects(values: list[float], ages: list[float], half_life: float) -> None:
    with pytest.raises(ValueError, match=r"."):
        features.time_decayed_mean(values, ages, half_life)


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        pytest.param(2.0, "higher_is_better", 0.0, id="hib-at-low"),
        pytest.param(1.0, "higher_is_better", 0.0, id="hib-below-low-clipped"),
        pytest.param(3.0, "higher_is_better", 0.5, id="hib-middle"),
        pytest.param(4.0, "higher_is_better", 1.0, id="hib-at-high"),
        pytest.param(9.0, "higher_is_better", 1.0, id="hib-above-high-clipped"),
        pytest.param(2.0, "lower_is_better", 1.0, id="lib-at-low"),
        pytest.param(3.5, "lower_is_better", 0.25, id="lib-three-quarters"),
        pytest.param(5.0, "lower_is_better", 0.0, id="lib-above-high"),
        pytest.param(math.nan, "higher_is_better", math.nan, id="nan-stays-nan"),
    ],
)
def test_linear(value: float, direction: MetricDirection, expected: float) -> None:
    got = features.linear(np.array([value]), 2.0, 4.0, direction)[0]
    assert got == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.0, 1.0, id="below-first-threshold"),
        pytest.param(0.99, 1.0, id="just-below-first"),
        pytest.param(1.0, 0.5, id="at-first-threshold-steps"),
        pytest.param(2.5, 0.5, id="between"),
        pytest.param(3.0, 0.0, id="at-last-threshold"),
        pytest.param(100.0, 0.0, id="far-above"),
        pytest.param(math.nan, math.nan, id="nan"),
    ],
)
def test_stepped(value: float, expected: float) -> None:
    got = features.stepped(np.array([value]), [1.0, 3.0], [1.0, 0.5, 0.0])[0]
    assert got == pytest.approx(expected, nan_ok=True)


REF = np.array([1.0, 2.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        pytest.param(0.0, "higher_is_better", 0.0, id="below-all"),
        pytest.param(1.0, "higher_is_better", 0.5 / 4, id="lowest-tie-counts-half"),
        pytest.param(2.0, "higher_is_better", (1 + 1) / 4, id="two-way-tie"),
        pytest.param(2.5, "higher_is_better", 3 / 4, id="between-values"),
        pytest.param(3.0, "higher_is_better", 3.5 / 4, id="highest"),
        pytest.param(4.0, "higher_is_better", 1.0, id="above-all"),
        pytest.param(4.0, "lower_is_better", 0.0, id="lower-is-better-flips"),
        pytest.param(math.nan, "higher_is_better", math.nan, id="nan"),
    ],
)
def test_percentile_rank(value: float, direction: MetricDirection, expected: float) -> None:
    got = features.percentile_rank(np.array([value]), REF, direction)[0]
    assert got == pytest.approx(expected, nan_ok=True)


def test_percentile_rank_all_equal_is_neutral() -> None:
    assert features.percentile_rank(np.array([5.0]), np.array([5.0, 5.0]), "higher_is_better")[0] == 0.5


def test_percentile_rank_empty_reference_is_no_data() -> None:
    assert np.isnan(features.percentile_rank(np.array([1.0]), np.empty(0), "higher_is_better")[0])


def test_percentile_rank_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    ref = np.sort(rng.integers(0, 10, 200).astype(float))
    values = rng.uniform(-1, 11, 300).round()
    expected = [((ref < v).sum() + 0.5 * (ref == v).sum()) / ref.size for v in values]
    np.testing.assert_allclose(features.percentile_rank(values, ref, "higher_is_better"), expected)
