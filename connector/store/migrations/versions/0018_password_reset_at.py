"""A password reset is recorded: users.password_reset_at.

An admin's "New sign-in link" (forgot their password) clears the password, as an invitation has none, so
the users page told the two apart by a past sign-in (`last_login_at`). Someone who never signed in with a
password (made by `users create-admin`, or who accepted an invitation and stayed signed in) then read as
"invited" after a reset, and "Cancel invite" deleted their account. `password_reset_at` is set by the
reset and cleared when they choose the new password (connector/installs/users.py, `status`).

Rows already reset when this runs keep being told by `last_login_at` (nothing else records the reset).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("password_reset_at", connector.store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_reset_at")
