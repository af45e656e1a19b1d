"""Evidence-weighted metrics: a metric counts count / (count + half) of its weight for each account."""

from __future__ import annotations

import pytest

from scoring.config import ScoringConfigError, load_model
from scoring.engine import columns_from_signals, score_accounts, score_matrix, select_segments
from scoring.types import AccountSignals
from tests.scoring.conftest import AS_OF

MODEL = """
version: ev-1
dimensions:
  relationship:
    weight: 1
    metrics:
      nps:
        direction: higher_is_better
        weight: 3
        normalise: {method: linear, low: 0, high: 10}
        evidence: {metric: nps_answers, half: 2}
  support:
    weight: 1
    metrics:
      csat:
        direction: higher_is_better
        weight: 1
        normalise: {method: linear, low: 1, high: 5}
"""


def score(metrics: dict[str, float | None]) -> tuple[float | None, float]:
    model = load_model(MODEL)
    r = score_accounts(model, [AccountSignals(account_id="a", metrics=metrics)], AS_OF)[0]
    return r.score, r.confidence


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # nps 1.0 and csat 0.0, one dimension each of weight 1; relationship scaled by its evidence share
        (2.0, 100 * 0.5 / 1.5),
        (6.0, 100 * 0.75 / 1.75),
        (None, 50.0),  # no count: full weight, as without evidence
    ],
)
def test_a_dimension_resting_on_little_evidence_gives_way(answers: float | None, expected: float) -> None:
    # Renormalisation within the dimension would hand a lone metric its whole dimension whatever its
    # evidence; the dimension's weight in the score is scaled by the evidence instead.
    assert score({"nps": 10, "nps_answers": answers, "csat": 1})[0] == pytest.approx(expected, abs=0.05)


def two_metric_model() -> str:
    return MODEL.replace(
        """  support:
    weight: 1
    metrics:
      csat:""",
        """      csat_in_rel:
        direction: higher_is_better
        weight: 1
        normalise: {method: linear, low: 1, high: 5}
  support:
    weight: 1
    metrics:
      csat:""",
    )


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (2.0, 100 * (3 * 0.5 * 1.0 + 1 * 0.0) / (3 * 0.5 + 1)),  # 60.0
        (6.0, 100 * (3 * 0.75 * 1.0) / (3 * 0.75 + 1)),  # 69.2
        (0.0, 0.0),  # no answers: the NPS average carries nothing
        (None, 75.0),  # no count given: full weight (3 of 4)
    ],
)
def test_more_answers_weigh_more_within_a_dimension(answers: float | None, expected: float) -> None:
    model = load_model(two_metric_model())
    metrics = {"nps": 10.0, "nps_answers": answers, "csat_in_rel": 1.0}
    r = score_accounts(model, [AccountSignals(account_id="a", metrics=metrics)], AS_OF)[0]
    assert r.dimensions[0].score == pytest.approx(expected, abs=0.05)


def test_impacts_still_sum_to_the_distance_from_neutral() -> None:
    model = load_model(two_metric_model())
    metrics = {"nps": 8.0, "nps_answers": 1.0, "csat_in_rel": 2.0, "csat": 4.0}
    r = score_accounts(model, [AccountSignals(account_id="a", metrics=metrics)], AS_OF)[0]
    cols = columns_from_signals([AccountSignals(account_id="a", metrics=metrics)], model)
    seg = select_segments(model, cols.arr, cols.plan, cols.segment)
    arrays = score_matrix(model, seg, cols.metrics, detail=True)
    assert arrays.impact is not None
    assert float(arrays.impact.sum()) == pytest.approx((r.score or 0) - 50.0, abs=0.06)


def test_confidence_counts_the_evidence_share() -> None:
    _, full = score({"nps": 5, "csat": 3})
    _, partial = score({"nps": 5, "nps_answers": 2.0, "csat": 3})
    assert full == pytest.approx(1.0)
    assert partial == pytest.approx(0.75)  # relationship half the model, at half its evidence


@pytest.mark.parametrize(
    ("evidence", "problem"),
    [
        ("{metric: nps_answers}", "half: is required"),
        ("{metric: nps_answers, half: 0}", "half: must be > 0"),
        ("{half: 2}", "evidence.metric"),
        ("{metric: nps, half: 2}", "not the metric itself"),
        ("{metric: csat, half: 2}", "is a scored metric"),
        ("{metric: nps_answers, half: 2, prior: 1}", "prior"),
    ],
)
def test_bad_evidence_is_reported(evidence: str, problem: str) -> None:
    text = MODEL.replace("{metric: nps_answers, half: 2}", evidence)
    with pytest.raises(ScoringConfigError) as err:
        load_model(text)
    assert any(problem in p for p in err.value.problems), err.value.problems
