"""One-time reveals: a secret made by a POST is shown by the GET after it, once (Post/Redirect/Get)

Creating an API key, adding a webhook endpoint, rotating its secret and inviting someone answered the POST
with the secret on the page, so a reload sent the form again (a second key or endpoint refused as "already
exists", a second rotation that dropped the secret just shown). The POST now keeps the secret in
one_time_reveals, encrypted with the token vault and bound to the user and the workspace, and redirects;
the GET that reads it deletes it. Rows older than ten minutes are deleted when a new one is stored.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "one_time_reveals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload_enc", sa.Text(), nullable=False),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_one_time_reveals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_one_time_reveals_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_reveals")),
    )
    op.create_index(op.f("ix_one_time_reveals_tenant_id"), "one_time_reveals", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_one_time_reveals_user_id"), "one_time_reveals", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_one_time_reveals_user_id"), table_name="one_time_reveals")
    op.drop_index(op.f("ix_one_time_reveals_tenant_id"), table_name="one_time_reveals")
    op.drop_table("one_time_reveals")
