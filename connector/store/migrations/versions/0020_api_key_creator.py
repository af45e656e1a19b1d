"""API keys record who created them: api_keys.created_by (FK users, SET NULL; NULL for older keys).

Security audit 11, open item D: keys belonged to the workspace and recorded no creator, so removing or
demoting an admin left the admin-scope keys they made working. Removal and demotion now revoke the keys the
person created that need more than they keep (connector.installs.users.keys_beyond_role), and the keys page
names each key's creator.

Backfill: a key's `api_key.created` audit entry (target `key:<prefix>`, actor the creator's e-mail) names
the creator; where that e-mail is still a user of the same workspace, created_by is set. Keys with no such
entry (or whose creator is gone) stay NULL: the page says "unknown".

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("created_by", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_created_by_users"), "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_api_keys_created_by"), ["created_by"], unique=False)
    keys = sa.table(
        "api_keys",
        sa.column("id", _ID),
        sa.column("tenant_id", _ID),
        sa.column("prefix", sa.String()),
        sa.column("created_by", _ID),
    )
    users = sa.table(
        "users", sa.column("id", _ID), sa.column("tenant_id", _ID), sa.column("email", sa.String())
    )
    audit = sa.table(
        "audit_log",
        sa.column("id", _ID),
        sa.column("tenant_id", _ID),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("target", sa.String()),
    )
    bind = op.get_bind()
    # Read in Python (the target is "key:" + prefix; string concatenation differs between the engines), the
    # first creation entry per key wins (a prefix is 8 random hex digits: a clash within a workspace is
    # not expected, but the earliest entry is the key's own).
    creators: dict[tuple[int, str], str] = {}
    rows = bind.execute(
        sa.select(audit.c.tenant_id, audit.c.target, audit.c.actor)
        .where(audit.c.action == "api_key.created", audit.c.target.like("key:%"))
        .order_by(audit.c.id)
    )
    for tenant, target, actor in rows:
        creators.setdefault((int(tenant), str(target)[4:]), str(actor))
    if not creators:
        return
    people = {
        (int(tenant), str(email).lower()): int(uid)
        for uid, tenant, email in bind.execute(sa.select(users.c.id, users.c.tenant_id, users.c.email))
    }
    filled = 0
    for key_id, tenant, prefix in bind.execute(
        sa.select(keys.c.id, keys.c.tenant_id, keys.c.prefix).where(keys.c.created_by.is_(None))
    ).all():
        email = creators.get((int(tenant), str(prefix)))
        uid = people.get((int(tenant), email.lower())) if email else None
        if uid is not None:
            bind.execute(keys.update().where(keys.c.id == key_id).values(created_by=uid))
            filled += 1
    if filled:
        logger.info("0020: %d API key(s) got their creator from the audit log", filled)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index(op.f("ix_api_keys_created_by"))
        batch.drop_constraint(op.f("fk_api_keys_created_by_users"), type_="foreignkey")
        batch.drop_column("created_by")
