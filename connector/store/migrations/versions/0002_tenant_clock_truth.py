"""tenant clock stored; recorded ground truth of simulated books

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("clock_now", connector.store.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "recorded_truth",
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recorded_truth_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_recorded_truth")),
    )


def downgrade() -> None:
    op.drop_table("recorded_truth")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("clock_now")
