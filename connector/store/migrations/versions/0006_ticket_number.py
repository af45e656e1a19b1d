"""Names people read: ticket number (Salesforce CaseNumber), deal stage label (HubSpot pipelines)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("number", sa.String(length=40), nullable=True))
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("stage_label", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("stage_label")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("number")
