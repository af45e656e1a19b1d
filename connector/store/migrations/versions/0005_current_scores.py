"""current_scores (each account's newest snapshot, read by pages instead of ranking history) and a
(tenant, as_of) snapshot index for the score step's trend window and compaction (issue 17)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "current_scores",
        sa.Column("account_id", _ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("snapshot_id", _ID, nullable=False),
        sa.Column("as_of", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_current_scores_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_current_scores_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["score_snapshots.id"],
            name=op.f("fk_current_scores_snapshot_id_score_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_current_scores")),
    )
    op.create_index("ix_current_scores_tenant", "current_scores", ["tenant_id", "account_id"])
    op.create_index("ix_snapshots_tenant_asof", "score_snapshots", ["tenant_id", "as_of"])
    # Backfill from the history once (the last time anything ranks it).
    op.execute(
        """
        INSERT INTO current_scores (account_id, tenant_id, snapshot_id, as_of)
        SELECT account_id, tenant_id, id, as_of FROM (
            SELECT account_id, tenant_id, id, as_of,
                   row_number() OVER (PARTITION BY account_id ORDER BY as_of DESC, id DESC) AS rn
            FROM score_snapshots
        ) ranked WHERE rn = 1
        """
    )


def downgrade() -> None:
    op.drop_index("ix_snapshots_tenant_asof", table_name="score_snapshots")
    op.drop_index("ix_current_scores_tenant", table_name="current_scores")
    op.drop_table("current_scores")
