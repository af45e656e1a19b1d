"""Shared query pieces: the latest snapshot of each account, CRM vendors."""

from __future__ import annotations

from sqlalchemy import Subquery, func, select

from connector.store import models as m

CRM_VENDORS = ("salesforce", "hubspot")


def latest_snapshots(tenant_id: int) -> Subquery:
    """One row per account: its newest snapshot (the current score)."""
    ranked = (
        select(
            m.ScoreSnapshot,
            func.row_number()
            .over(
                partition_by=m.ScoreSnapshot.account_id,
                order_by=(m.ScoreSnapshot.as_of.desc(), m.ScoreSnapshot.id.desc()),
            )
            .label("rn"),
        )
        .where(m.ScoreSnapshot.tenant_id == tenant_id)
        .subquery()
    )
    return select(ranked).where(ranked.c.rn == 1).subquery("latest")
