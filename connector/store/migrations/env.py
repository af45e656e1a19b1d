"""Alembic environment: the URL comes from the caller (connector.store.migrate), never from a file."""

from __future__ import annotations

from alembic import context

from connector.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from connector.store.db import get_engine

        connectable = get_engine(config.get_main_option("sqlalchemy.url") or "")
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite ALTER support
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
