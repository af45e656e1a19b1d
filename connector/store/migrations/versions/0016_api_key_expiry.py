"""API keys may expire: api_keys.expires_at (NULL: never, what every key made before this is).

The admin chooses 30, 90 or 365 days, or never (the default), when creating a key; an expired key is refused
like an unknown one, and the keys page says "expires in N days" / "expired".

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("expires_at", connector.store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
