"""Migrations upgrade an empty SQLite and an empty PostgreSQL database to head and back."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import inspect

from connector.store import migrate
from connector.store.db import get_engine
from connector.store.models import Base


def test_upgrade_to_head_and_back(db_url: str) -> None:
    assert migrate.current(db_url) == migrate.head()
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert migrate.downgrade(db_url, "base") is None
    assert not set(Base.metadata.tables) & set(inspect(get_engine(db_url)).get_table_names())
    assert migrate.upgrade(db_url) == migrate.head()


def test_models_match_migrations(db_url: str) -> None:
    """Autogenerate finds nothing to add: the migration files describe the models exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_0009_backfills_current_score_values_and_0010_covers_sparklines(db_url: str) -> None:
    """A store from before 0009 (current_scores without values) gets them from its snapshots; on
    PostgreSQL the snapshot index then carries the score (an index-only sparkline read)."""
    from sqlalchemy import text

    migrate.downgrade(db_url, "0008")
    engine = get_engine(db_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 't', 'T', '2026-01-01')"))
        c.execute(
            text(
                "INSERT INTO accounts (id, tenant_id, vendor, external_id, name, domains, metrics, vendor_updated_at) "
                "VALUES (7, 1, 'salesforce', '001', 'A', '[]', '{}', '2026-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO score_snapshots (id, tenant_id, account_id, as_of, score, band, band_since, "
                "dimensions, drivers, metrics, confidence, trend_30d, model_version) VALUES "
                "(3, 1, 7, '2026-01-02', 41.5, 'yellow', '2026-01-01', '{}', '[]', '{}', 0.7, -2.5, 'm')"
            )
        )
        c.execute(
            text(
                "INSERT INTO current_scores (account_id, tenant_id, snapshot_id, as_of) "
                "VALUES (7, 1, 3, '2026-01-02')"
            )
        )
    migrate.upgrade(db_url)
    with engine.connect() as c:
        row = c.execute(text("SELECT score, band, trend_30d, confidence FROM current_scores")).one()
        assert tuple(row) == (41.5, "yellow", -2.5, 0.7)
        if engine.dialect.name == "postgresql":
            indexdef = c.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_snapshots_account_asof'")
            ).scalar()
            assert "INCLUDE (score)" in str(indexdef)


def _hubspot_row(c: Any, row_id: int, tenant_id: int, portal: str, status: str = "connected") -> None:
    from sqlalchemy import text

    c.execute(
        text(
            "INSERT INTO installations (id, tenant_id, vendor, status, base_url, token_url, client_id, "
            "client_secret_enc, vendor_account, settings, created_at) VALUES (:id, :t, 'hubspot', :status, "
            "'https://api.hubapi.com', 'https://api.hubapi.com/oauth/v1/token', 'c', 'x', :portal, '{}', "
            "'2026-01-01')"
        ),
        {"id": row_id, "t": tenant_id, "portal": portal, "status": status},
    )


def test_0011_keeps_a_portal_already_in_two_workspaces_and_guards_the_rest(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Security (audit 4): one live workspace per HubSpot portal is a database constraint now, so two
    OAuth callbacks racing past the code check cannot both store it. A store from before the check that
    already holds a portal in two workspaces still upgrades: both rows stay (marked account_shared, said in
    the log), and every other portal is unique."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    migrate.downgrade(db_url, "0010")
    engine = get_engine(db_url)
    with engine.begin() as c:
        for tid in range(1, 7):
            c.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:i, :s, 'T', '2026-01-01')"),
                {"i": tid, "s": f"t{tid}"},
            )
        _hubspot_row(c, 10, 1, "111")
        _hubspot_row(c, 11, 2, "111")  # the same portal in a second workspace, from before the check
        _hubspot_row(c, 12, 3, "222")
    with caplog.at_level(logging.WARNING):
        assert migrate.upgrade(db_url) == migrate.head()
    assert "HubSpot portal 111 is connected to 2 workspaces (tenant ids 1, 2)" in caplog.text
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, account_shared FROM installations ORDER BY id")).all()
    assert [(i, bool(shared)) for i, shared in rows] == [(10, True), (11, True), (12, False)]
    with (
        pytest.raises(
            IntegrityError,
            match=r"ux_installations_one_workspace_account|installations\.vendor, installations\.vendor_account",
        ),
        engine.begin() as c,
    ):
        _hubspot_row(c, 13, 4, "222")  # portal 222 is live in workspace 3
    with engine.begin() as c:
        _hubspot_row(c, 14, 5, "333")
        _hubspot_row(c, 15, 6, "333", status="disconnected")  # a disconnected one does not count
