"""The (tenant_id, account_id, as_of) snapshot index carries the score (PostgreSQL INCLUDE) (issue 17)

The portfolio's sparklines read each shown account's scores over 30 days (each day's last one): at 10k
accounts with 4 passes a day that is ~6,000 snapshots for a page of 50, and EXPLAIN showed them fetched
from ~5,800 heap pages of score_snapshots (53 ms, mostly reads). With the score in the index the query is
an index-only scan. Same name and key columns, so every other query keeps its plan; SQLite has no INCLUDE
(unchanged there).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_KEY = ["tenant_id", "account_id", "as_of"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_snapshots_account_asof", table_name="score_snapshots")
    op.create_index("ix_snapshots_account_asof", "score_snapshots", _KEY, postgresql_include=["score"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_snapshots_account_asof", table_name="score_snapshots")
    op.create_index("ix_snapshots_account_asof", "score_snapshots", _KEY)
