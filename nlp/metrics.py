"""Pure classification metrics over the three labels: per-class P/R/F1, macro-F1, accuracy, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlp.sentiment import LABELS


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassScores:
    """Precision, recall, F1 and support of one label."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """All metrics of one evaluation; confusion[i][j] counts gold LABELS[i] predicted as LABELS[j]."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScores, ...]
    confusion: tuple[tuple[int, ...], ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                c.label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.per_class
            },
            "confusion": {
                "labels": list(LABELS),
                "rows_gold_cols_predicted": [list(r) for r in self.confusion],
            },
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate(gold: Sequence[str], predicted: Sequence[str]) -> Report:
    """Metrics of `predicted` against `gold` (same length)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    index: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
    confusion = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    per_class = []
    for i, label in enumerate(LABELS):
        tp = confusion[i][i]
        precision = _ratio(tp, sum(row[i] for row in confusion))
        recall = _ratio(tp, sum(confusion[i]))
        f1 = _ratio(2 * tp, sum(confusion[i]) + sum(row[i] for row in confusion))
        per_class.append(
            ClassScores(label=label, precision=precision, recall=recall, f1=f1, support=sum(confusion[i]))
        )
    correct = sum(confusion[i][i] for i in range(len(LABELS)))
    return Report(
        n=len(gold),
        accuracy=_ratio(correct, len(gold)),
        macro_f1=sum(c.f1 for c in per_class) / len(per_class),
        per_class=tuple(per_class),
        confusion=tuple(tuple(r) for r in confusion),
    )


def agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of positions where two label sequences agree."""
    return _ratio(sum(x == y for x, y in zip(a, b, strict=True)), len(a))
