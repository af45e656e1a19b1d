"""Score change over 7/30/90 days from a snapshot history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Trend:
    """Points gained (+) or lost (-) over each window; None when history does not reach back that far."""

    change_7d: float | None
    change_30d: float | None
    change_90d: float | None


def score_at(history: Iterable[tuple[datetime, float]], when: datetime) -> float | None:
    """The latest snapshot score at or before `when` (history in any order); None if none."""
    best: tuple[datetime, float] | None = None
    for at, score in history:
        if at <= when and (best is None or at > best[0]):
            best = (at, score)
    return None if best is None else best[1]


def change_over(
    history: Sequence[tuple[datetime, float]], score: float, as_of: datetime, days: int
) -> float | None:
    """`score` minus the score `days` days before `as_of` (latest snapshot at or before then)."""
    past = score_at(history, as_of - timedelta(days=days))
    return None if past is None else round(score - past, 1)


def trend(history: Sequence[tuple[datetime, float]], score: float | None, as_of: datetime) -> Trend:
    """Changes over 7, 30 and 90 days; all None when there is no current score."""
    if score is None:
        return Trend(change_7d=None, change_30d=None, change_90d=None)
    return Trend(
        change_7d=change_over(history, score, as_of, 7),
        change_30d=change_over(history, score, as_of, 30),
        change_90d=change_over(history, score, as_of, 90),
    )


def score_changed(previous: float | None, score: float | None, delta: float) -> bool:
    """Whether the change is big enough to announce (≥ delta points), or the score appeared/vanished."""
    if previous is None or score is None:
        return (previous is None) != (score is None)
    return abs(score - previous) >= delta
