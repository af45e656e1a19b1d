"""current_scores carries its snapshot's score, band, trend and confidence (issue 17): the portfolio
counted, totalled and sorted 10k accounts through a primary-key lookup into the wide score_snapshots
table per account (drivers, dimensions and metrics as JSON); now it reads this narrow table and fetches
snapshot rows for the page it shows only. Plus (tenant_id, band, score) for the band tabs.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("current_scores") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("band", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("trend_30d", sa.Float(), nullable=True))
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=True))
    op.execute(
        """
        UPDATE current_scores SET
            score = (SELECT s.score FROM score_snapshots s WHERE s.id = current_scores.snapshot_id),
            band = (SELECT s.band FROM score_snapshots s WHERE s.id = current_scores.snapshot_id),
            trend_30d = (SELECT s.trend_30d FROM score_snapshots s WHERE s.id = current_scores.snapshot_id),
            confidence = (SELECT s.confidence FROM score_snapshots s WHERE s.id = current_scores.snapshot_id)
        """
    )
    op.create_index("ix_current_scores_band_score", "current_scores", ["tenant_id", "band", "score"])


def downgrade() -> None:
    op.drop_index("ix_current_scores_band_score", table_name="current_scores")
    with op.batch_alter_table("current_scores") as batch:
        batch.drop_column("confidence")
        batch.drop_column("trend_30d")
        batch.drop_column("band")
        batch.drop_column("score")
