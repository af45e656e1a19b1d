"""Database engine and sessions (SQLAlchemy 2) for SQLite (default) and PostgreSQL (production)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process. SQLite gets WAL, foreign keys and a busy timeout."""
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""  # sqlite:// is in memory: no file
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Owner-only from the first byte (SQLite gives its -wal/-shm files the same mode).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgresql") and "options=" not in url:
        # Sessions in UTC whatever the server's TimeZone: timestamps then come back as UTC datetimes that
        # UTCDateTime passes through instead of converting each (~1M per pass at 10k accounts, issue 17).
        # An operator's own ?options=… in the URL wins.
        kwargs["connect_args"] = {"options": "-c TimeZone=UTC"}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


@lru_cache(maxsize=8)
def autocommit_engine(url: str) -> Engine:
    """get_engine(url)'s pool, each connection in autocommit while checked out (reset when it goes back):
    for a single statement that needs no transaction around it, it saves the BEGIN and COMMIT (or
    ROLLBACK) round trips."""
    return get_engine(url).execution_options(isolation_level="AUTOCOMMIT")


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with session_factory(url)() as session, session.begin():
        yield session


def upsert_insert(dialect: str) -> Any:
    """The `insert` construct of the engine's dialect, the one with on_conflict_do_nothing/do_update (both
    engines speak INSERT … ON CONFLICT; SQLAlchemy keeps it on the dialect-specific construct)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
