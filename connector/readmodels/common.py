"""Shared query pieces: the latest snapshot of each account, CRM vendors."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Subquery, select

from connector.store import models as m
from scoring.config import load_model
from scoring.model import ScoringModel

CRM_VENDORS = ("salesforce", "hubspot")


def latest_snapshots(tenant_id: int) -> Subquery:
    """One row per account: its newest snapshot (the current score), through current_scores, which the
    store keeps on every write; ranking the whole history per page grew with every pass."""
    return (
        select(m.ScoreSnapshot)
        .join(m.CurrentScore, m.CurrentScore.snapshot_id == m.ScoreSnapshot.id)
        .where(m.CurrentScore.tenant_id == tenant_id)
        .subquery("latest")
    )


@lru_cache(maxsize=32)
def parsed_model(text: str) -> ScoringModel:
    """A stored model's YAML parsed and validated once per process (models are immutable): it costs
    ~0.2 s, and the account page and every targeted refresh read the published model."""
    return load_model(text)
