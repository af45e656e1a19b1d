"""Indexes for pages and targeted refreshes at 10k accounts (issue 17), chosen from EXPLAIN plans

- tickets (tenant_id, vendor_created_at): the support page filters a date range and shows its newest
  tickets first (a sort of the whole range per page before);
- tickets (tenant_id, deleted_at, group_name, priority, status, vendor): the support filters' choices as
  an index-only scan instead of reading every ticket row;
- survey_responses (tenant_id, ticket_external_id): a targeted refresh finds the answers about the
  tickets it touched.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_tenant_created", "tickets", ["tenant_id", "vendor_created_at"])
    op.create_index(
        "ix_tickets_options",
        "tickets",
        ["tenant_id", "deleted_at", "group_name", "priority", "status", "vendor"],
    )
    op.create_index("ix_surveys_tenant_ticket", "survey_responses", ["tenant_id", "ticket_external_id"])


def downgrade() -> None:
    op.drop_index("ix_surveys_tenant_ticket", table_name="survey_responses")
    op.drop_index("ix_tickets_options", table_name="tickets")
    op.drop_index("ix_tickets_tenant_created", table_name="tickets")
