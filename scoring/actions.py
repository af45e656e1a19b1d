"""Recommended next action from the band and the top drivers (first matching rule wins)."""

from __future__ import annotations

from collections.abc import Sequence

from scoring.model import ActionRule, ScoringModel
from scoring.types import Driver


def recommend(model: ScoringModel, band: str | None, drivers: Sequence[Driver]) -> str:
    """The first rule matching the band and a driver, else the band's default action.

    No band (no data) gives the model's no-data action; a band without an action gives "".
    """
    if band is None:
        return model.no_data_action
    for rule in model.action_rules:
        if _matches(rule, band, drivers):
            return rule.action
    return dict(model.band_actions).get(band, "")


def _matches(rule: ActionRule, band: str, drivers: Sequence[Driver]) -> bool:
    if rule.bands and band not in rule.bands:
        return False
    for d in drivers:
        if d.direction != rule.direction:
            continue
        if not rule.dimensions and not rule.metrics:
            return True
        if d.dimension in rule.dimensions or d.metric in rule.metrics:
            return True
    return False
