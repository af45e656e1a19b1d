"""Installation-scope API keys belong to an installation (security: the Zendesk sidebar's key kept working
after Zendesk was disconnected, audit 7).

api_keys.installation_id (FK installations, SET NULL): an installation key works only while that
installation is connected, and disconnecting revokes it. Live installation keys of a workspace whose Zendesk
is connected are bound to that installation; the others (Zendesk disconnected since, or never connected:
the very keys the audit found still working) are revoked here, so the keys page shows them as revoked.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import connector.store.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("installation_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_installation_id_installations"),
            "installations",
            ["installation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_api_keys_installation_id"), ["installation_id"], unique=False)
    keys = sa.table(
        "api_keys",
        sa.column("id", _ID),
        sa.column("tenant_id", _ID),
        sa.column("scope", sa.String()),
        sa.column("revoked_at", connector.store.models.UTCDateTime(timezone=True)),
        sa.column("installation_id", _ID),
    )
    insts = sa.table(
        "installations",
        sa.column("id", _ID),
        sa.column("tenant_id", _ID),
        sa.column("vendor", sa.String()),
        sa.column("status", sa.String()),
    )
    live = (keys.c.scope == "installation", keys.c.revoked_at.is_(None))
    zendesk = (
        sa.select(insts.c.id)
        .where(
            insts.c.tenant_id == keys.c.tenant_id,
            insts.c.vendor == "zendesk",
            insts.c.status != "disconnected",
        )
        .scalar_subquery()
    )
    bind = op.get_bind()
    bind.execute(keys.update().where(*live).values(installation_id=zendesk))
    revoked = bind.execute(
        keys.update().where(*live, keys.c.installation_id.is_(None)).values(revoked_at=datetime.now(UTC))
    ).rowcount
    if revoked:
        logger.warning(
            "revoked %d installation API key(s) of workspaces whose Zendesk is not connected", revoked
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index(op.f("ix_api_keys_installation_id"))
        batch.drop_constraint(op.f("fk_api_keys_installation_id_installations"), type_="foreignkey")
        batch.drop_column("installation_id")
