"""Migrations upgrade an empty SQLite and an empty PostgreSQL database to head and back."""

from __future__ import annotations

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
