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
    # account_id comes from current_scores (its primary key), so a join on it is an index lookup there and
    # then one on the snapshot's primary key. Taken from score_snapshots, PostgreSQL chose a nested loop
    # that scanned the (tenant_id, account_id, as_of) index without its leading column once per account:
    # 5 s for a portfolio search at 10k accounts (benchmarks/pages.py --explain).
    snap = m.ScoreSnapshot.__table__.c
    return (
        select(*(c for c in snap if c.name != "account_id"), m.CurrentScore.account_id)
        .select_from(m.CurrentScore)
        .join(m.ScoreSnapshot, m.ScoreSnapshot.id == m.CurrentScore.snapshot_id)
        .where(m.CurrentScore.tenant_id == tenant_id)
        .subquery("latest")
    )


@lru_cache(maxsize=32)
def parsed_model(text: str) -> ScoringModel:
    """A stored model's YAML parsed and validated once per process (models are immutable): it costs
    ~0.2 s, and the account page and every targeted refresh read the published model."""
    return load_model(text)
