"""Model editor previews are stored (Post/Redirect/Get): the backtest preview a POST ran is shown by GET

The scoring model editor answered its "Preview backtest" POST with the page itself, so a reload asked to
send the form again (and ran the backtest again, spending the workspace's backtest budget) and Back after
it showed "Confirm Form Resubmission". The preview (the draft's YAML, its name, the editor tab, the result)
is now a row of model_previews; the POST redirects to /admin/model?preview=<id>. Rows older than a day are
deleted when a new preview is stored.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_previews",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_model_previews_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_previews")),
    )
    op.create_index(op.f("ix_model_previews_tenant_id"), "model_previews", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_model_previews_tenant_id"), table_name="model_previews")
    op.drop_table("model_previews")
