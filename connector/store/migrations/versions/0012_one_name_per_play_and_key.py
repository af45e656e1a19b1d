"""One play per name and one live API key per name in a workspace, backed by the database

The admin forms and the REST API refuse a play whose name another play of the workspace has, and the key
form a second live key of a taken name (case and surrounding spaces ignored): admin/plays.named,
installs/users.live_key_named. Those checks run before the insert, so two requests at the same instant
(a double click, a retried POST) could both pass them and both insert. A new column name_key holds the name
as the checks compare it (trimmed, lower-cased in Python: SQLite's lower() folds ASCII only, so an index on
lower(name) would not see 'É' and 'é' as one name, and SQLite cannot reflect expression indexes), and
partial unique indexes on (tenant_id, name_key) close the race on SQLite and PostgreSQL alike: over every
play, and over live (unrevoked) keys, since a revoked key's name may be used again. The request that loses
the race gets the answer the check gives (connector/web: 'already saved' / 'already exists', 400, or the
API's 422).

A database from before the checks may already hold such twins: the indexes would fail on them. Those rows
are not changed or dropped (which one to keep is the admins' decision, and a key may be in use): in each
group of twins the oldest (lowest id) stays under the constraint and the others are marked name_shared,
which the indexes skip. The migration logs each group. Renaming a marked play clears its mark (so the
constraint then holds for it); a marked key leaves the constraint's reach when it is revoked.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

PLAY_INDEX = "ux_plays_tenant_name_key"
PLAY_PREDICATE = "NOT name_shared"
KEY_INDEX = "ux_api_keys_tenant_live_name_key"
KEY_PREDICATE = "revoked_at IS NULL AND NOT name_shared"


def name_key(name: str | None) -> str:
    """The name as the duplicate checks compare it (models.name_key: keep the two the same)."""
    return (name or "").strip().lower()


def _backfill_and_mark(table: str, what: str, live: str, exempt_until: str) -> None:
    """Fill name_key; then mark all but the oldest row of each (workspace, name_key) group among the rows
    `live` selects as name_shared, and log the group."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, tenant_id, name, {live} FROM {table} ORDER BY id")).all()
    update = sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id")
    if rows:
        bind.execute(update, [{"id": int(r[0]), "key": name_key(r[2])} for r in rows])
    groups: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for row_id, tenant_id, name, counts in rows:
        if counts:
            groups[(int(tenant_id), name_key(name))].append((int(row_id), str(name)))
    for (tenant_id, _), found in sorted(groups.items()):
        if len(found) < 2:
            continue
        (keep_id, keep_name), *twins = found
        logger.warning(
            "Workspace (tenant id %d) has %d %s named %r (ids %s): left as they are; id %d stays under the "
            "one-name constraint, %s exempt from it (name_shared) until %s",
            tenant_id,
            len(found),
            what,
            keep_name,
            ", ".join(str(i) for i, _ in found),
            keep_id,
            f"id {twins[0][0]} is" if len(twins) == 1 else f"ids {', '.join(str(i) for i, _ in twins)} are",
            exempt_until,
        )
        bind.execute(
            sa.text(f"UPDATE {table} SET name_shared = :yes WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"yes": True, "ids": [i for i, _ in twins]},
        )


def upgrade() -> None:
    for table in ("plays", "api_keys"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("name_key", sa.String(200), server_default="", nullable=False))
            batch.add_column(
                sa.Column("name_shared", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    _backfill_and_mark("plays", "plays", "1", "renamed or deleted")
    _backfill_and_mark(
        "api_keys", "live API keys", "CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END", "revoked"
    )
    for index, table, predicate in (
        (PLAY_INDEX, "plays", PLAY_PREDICATE),
        (KEY_INDEX, "api_keys", KEY_PREDICATE),
    ):
        op.create_index(
            index,
            table,
            ["tenant_id", "name_key"],
            unique=True,
            sqlite_where=sa.text(predicate),
            postgresql_where=sa.text(predicate),
        )


def downgrade() -> None:
    op.drop_index(KEY_INDEX, table_name="api_keys")
    op.drop_index(PLAY_INDEX, table_name="plays")
    for table in ("api_keys", "plays"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("name_shared")
            batch.drop_column("name_key")
