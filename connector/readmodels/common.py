"""Shared query pieces: the latest snapshot of each account, CRM vendors."""

from __future__ import annotations

from sqlalchemy import Subquery, select

from connector.store import models as m

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
