"""A webhook secret rotation ends by itself: webhook_endpoints.rotation_ends_at.

Until now the previous secret signed next to the new one until an admin finished the rotation, so a
forgotten (possibly leaked) secret stayed valid for ever. The admin now chooses how long both sign (1 hour
to 7 days, 24 hours by default); after `rotation_ends_at` the previous secret is dropped at the next
delivery run or read (connector/admin/webhooks.py). NULL: no rotation in progress.

A rotation already in progress when this runs cannot be told apart here (the secrets are encrypted with
keys the migration does not hold), so every existing endpoint gets the default end, 24 hours after the
upgrade: an endpoint with one secret just has the mark cleared then, without an audit entry.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DEFAULT_ROTATION = timedelta(hours=24)  # connector.admin.webhooks.ROTATION_DEFAULT at the time of writing


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("rotation_ends_at", connector.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    endpoints = sa.table(
        "webhook_endpoints", sa.column("rotation_ends_at", connector.store.models.UTCDateTime(timezone=True))
    )
    op.execute(endpoints.update().values(rotation_ends_at=datetime.now(UTC) + DEFAULT_ROTATION))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("rotation_ends_at")
