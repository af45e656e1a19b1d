"""Plays (issue 16): play definitions per tenant, the tasks they created, and a `kind` on the write-back
outbox so task operations travel through it beside the score field values

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_DT = connector.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plays",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("to_band", sa.String(length=32), nullable=False),
        sa.Column("from_bands", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("zendesk_ticket", sa.Boolean(), nullable=False),
        sa.Column("on_recovery", sa.String(length=8), nullable=False),
        sa.Column("cooldown_days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _DT, nullable=False),
        sa.Column("updated_at", _DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_plays_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plays")),
    )
    with op.batch_alter_table("plays") as batch:
        batch.create_index(batch.f("ix_plays_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "play_tasks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("play_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("vendor", sa.String(length=20), nullable=False),
        sa.Column("vendor_task_id", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("due_at", _DT, nullable=False),
        sa.Column("created_at", _DT, nullable=False),
        sa.Column("closed_at", _DT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_play_tasks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["play_id"], ["plays.id"], name=op.f("fk_play_tasks_play_id_plays"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_play_tasks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_tasks")),
    )
    with op.batch_alter_table("play_tasks") as batch:
        batch.create_index(batch.f("ix_play_tasks_tenant_id"), ["tenant_id"], unique=False)
        batch.create_index("ix_play_tasks_account_play", ["tenant_id", "account_id", "play_id"], unique=False)
    with op.batch_alter_table("writeback_outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="fields", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("writeback_outbox") as batch:
        batch.drop_column("kind")
    op.drop_table("play_tasks")
    op.drop_table("plays")
