"""metric_changes: the CRM's field history of mapped account metrics (seat usage ...).

The store kept only today's value of a mapped metric field, so the backtest had to leave seat usage out
(today's value on a past date would leak the outcome: a churned account shows 0 active users). The sync now
reads the field history the CRMs keep (Salesforce AccountHistory, HubSpot propertiesWithHistory) into this
table, and the backtest reads the value as of its date.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = connector.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "metric_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("vendor", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("account_external_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("changed_at", _WHEN, nullable=False),
        sa.Column("vendor_updated_at", _WHEN, nullable=False),
        sa.Column("deleted_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_metric_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_changes")),
        sa.UniqueConstraint("tenant_id", "vendor", "external_id", name=op.f("uq_metric_changes_tenant_id")),
    )
    op.create_index(op.f("ix_metric_changes_tenant_id"), "metric_changes", ["tenant_id"], unique=False)
    op.create_index(
        "ix_metric_changes_account",
        "metric_changes",
        ["tenant_id", "vendor", "account_external_id", "metric", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_metric_changes_account", table_name="metric_changes")
    op.drop_index(op.f("ix_metric_changes_tenant_id"), table_name="metric_changes")
    op.drop_table("metric_changes")
