"""Migrations upgrade an empty SQLite and an empty PostgreSQL database to head and back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
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


def _play_row(c: Any, row_id: int, tenant_id: int, name: str, key: str | None = None) -> None:
    """A play row as SQL writes it (before 0012: no name_key; after: `key` given)."""
    from sqlalchemy import text

    extra = (", name_key", ", :key") if key is not None else ("", "")
    c.execute(
        text(
            "INSERT INTO plays (id, tenant_id, name, to_band, from_bands, segments, subject, next_step, due_days, "
            f"zendesk_ticket, on_recovery, cooldown_days, enabled, created_at, updated_at{extra[0]}) VALUES (:id, "
            f":t, :name, 'red', '[]', '[]', 's', '', 3, :no, 'close', 14, :no, '2026-01-01', '2026-01-01'{extra[1]})"
        ),
        {"id": row_id, "t": tenant_id, "name": name, "no": False, "key": key},
    )


def _key_row(
    c: Any, row_id: int, tenant_id: int, name: str, revoked: str | None = None, key: str | None = None
) -> None:
    from sqlalchemy import text

    extra = (", name_key", ", :key") if key is not None else ("", "")
    c.execute(
        text(
            f"INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scope, created_at, revoked_at{extra[0]}) "
            f"VALUES (:id, :t, :name, 'ab12', :hash, 'read', '2026-01-01', :revoked{extra[1]})"
        ),
        {"id": row_id, "t": tenant_id, "name": name, "hash": f"h{row_id}", "revoked": revoked, "key": key},
    )


def test_0012_keeps_twin_plays_and_keys_and_guards_the_rest(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Double-submit (the play and key checks run before the insert, so two requests at the same instant
    both passed them): one play per name and one live key per name in a workspace are database
    constraints now (case and surrounding spaces ignored, as the checks compare). A store that already
    holds twins still upgrades: all rows stay, the oldest of each group stays under the constraint, the
    others are marked name_shared (said in the log)."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    migrate.downgrade(db_url, "0011")
    engine = get_engine(db_url)
    with engine.begin() as c:
        for tid in (1, 2):
            c.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:i, :s, 'T', '2026-01-01')"),
                {"i": tid, "s": f"t{tid}"},
            )
        _play_row(c, 1, 1, "Enters red")
        _play_row(c, 2, 1, "enters RED")  # a twin from before the check
        _play_row(c, 3, 1, "Enters red ")  # and a third, stored untrimmed
        _play_row(c, 4, 1, "Other")
        _play_row(c, 5, 2, "Enters red")  # another workspace may use the name
        _key_row(c, 10, 1, "BI export")
        _key_row(c, 11, 1, "bi export")  # a twin live key
        _key_row(c, 12, 1, "BI export", revoked="2026-01-02")  # a revoked key does not count
        _key_row(c, 13, 1, "reader")
    with caplog.at_level(logging.WARNING):
        assert migrate.upgrade(db_url) == migrate.head()
    assert "(tenant id 1) has 3 plays named 'Enters red' (ids 1, 2, 3)" in caplog.text
    assert "id 1 stays under the one-name constraint, ids 2, 3 are exempt" in caplog.text
    assert (
        "id 10 stays under the one-name constraint, id 11 is exempt from it (name_shared) until revoked"
        in (caplog.text)
    )
    assert "(tenant id 1) has 2 live API keys named 'BI export' (ids 10, 11)" in caplog.text
    assert "Other" not in caplog.text
    assert "reader" not in caplog.text
    with engine.connect() as c:
        plays = c.execute(text("SELECT id, name_key, name_shared FROM plays ORDER BY id")).all()
        keys = c.execute(text("SELECT id, name_key, name_shared FROM api_keys ORDER BY id")).all()
    assert [(i, k, bool(s)) for i, k, s in plays] == [
        (1, "enters red", False),
        (2, "enters red", True),
        (3, "enters red", True),
        (4, "other", False),
        (5, "enters red", False),
    ]
    assert [(i, k, bool(s)) for i, k, s in keys] == [
        (10, "bi export", False),
        (11, "bi export", True),
        (12, "bi export", False),
        (13, "reader", False),
    ]
    index = r"ux_plays_tenant_name_key|plays\.tenant_id, plays\.name_key"
    with pytest.raises(IntegrityError, match=index), engine.begin() as c:
        _play_row(c, 6, 1, "ENTERS RED", key="enters red")
    key_index = r"ux_api_keys_tenant_live_name_key|api_keys\.tenant_id, api_keys\.name_key"
    with pytest.raises(IntegrityError, match=key_index), engine.begin() as c:
        _key_row(c, 14, 1, "Bi Export", key="bi export")
    with engine.begin() as c:
        _key_row(c, 15, 1, "Bi Export", revoked="2026-01-03", key="bi export")  # revoked: allowed
        _play_row(c, 7, 2, "Other", key="other")  # another workspace: allowed
    # through the models (name_key follows name): renaming a marked twin puts it under the constraint
    from sqlalchemy.orm import Session

    from connector.store import models as m

    with Session(engine) as s:
        twin = s.get(m.Play, 2)
        assert twin is not None
        twin.name = "Enters red again"
        s.commit()
        assert (twin.name_key, twin.name_shared) == ("enters red again", False)
        s.add(m.Play(id=100, tenant_id=1, name=" ENTERS RED AGAIN", to_band="red", from_bands=[], segments=[],
                     subject="s", next_step="", due_days=3, zendesk_ticket=False, on_recovery="close",
                     cooldown_days=14, enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                     updated_at=datetime(2026, 1, 1, tzinfo=UTC)))  # fmt: skip
        with pytest.raises(IntegrityError, match=index):
            s.commit()
