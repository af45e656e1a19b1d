"""One live workspace per HubSpot portal, backed by the database (security audit 4)

The OAuth callback refuses a portal that another workspace has connected (installs.check_account_free),
but two callbacks racing past that check could both store it. A partial unique index on (vendor,
vendor_account) over live HubSpot rows closes the race on SQLite and PostgreSQL alike.

A database from before the check may already hold a portal in two workspaces: the index would fail on it.
Those rows are not changed or dropped (which workspace should keep the portal is the admins' decision):
they are marked account_shared and the index skips them. The migration logs each such portal; the HubSpot
card answers 'not installed' for it (readmodels.installation_by_vendor_account), and each workspace's
Integrations page says why and what to do. Reconnecting clears the mark, so the constraint then holds.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_INDEX = "ux_installations_one_workspace_account"
_PREDICATE = (
    "vendor = 'hubspot' AND vendor_account IS NOT NULL AND status <> 'disconnected' AND NOT account_shared"
)


def upgrade() -> None:
    with op.batch_alter_table("installations") as batch:
        batch.add_column(sa.Column("account_shared", sa.Boolean(), server_default=sa.false(), nullable=False))
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, tenant_id, vendor_account FROM installations WHERE vendor = 'hubspot' "
            "AND vendor_account IS NOT NULL AND status <> 'disconnected'"
        )
    )
    by_portal: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row_id, tenant_id, portal in rows:
        by_portal[str(portal)].append((int(row_id), int(tenant_id)))
    for portal, found in sorted(by_portal.items()):
        if len(found) < 2:
            continue
        logger.warning(
            "HubSpot portal %s is connected to %d workspaces (tenant ids %s): left as it is and exempt from "
            "the one-workspace constraint; its CRM card answers 'not installed' until all but one "
            "workspace disconnect it (each one's Integrations page says so)",
            portal,
            len(found),
            ", ".join(str(t) for _, t in sorted(found, key=lambda f: f[1])),
        )
        op.get_bind().execute(
            sa.text("UPDATE installations SET account_shared = :yes WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"yes": True, "ids": [i for i, _ in found]},
        )
    op.create_index(
        _INDEX,
        "installations",
        ["vendor", "vendor_account"],
        unique=True,
        sqlite_where=sa.text(_PREDICATE),
        postgresql_where=sa.text(_PREDICATE),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="installations")
    with op.batch_alter_table("installations") as batch:
        batch.drop_column("account_shared")
