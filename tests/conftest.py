"""Shared fixtures: settings, app/client/runner (flaskr style) and a `db_url` over SQLite AND PostgreSQL."""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

pytest_plugins = ["tests.fixtures_sandbox"] if importlib.util.find_spec("tests.fixtures_sandbox") else []

PG_ADMIN_URL = os.environ.get("HEALTHSCORE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's instance/ or HEALTHSCORE_* variables by accident."""
    for key in list(os.environ):
        if key.startswith("HEALTHSCORE_") and key != "HEALTHSCORE_TEST_PG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEALTHSCORE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@contextmanager
def throwaway_pg(prefix: str = "healthscore_test", *settings: str) -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped on exit; `settings` are ALTER DATABASE … SET clauses.

    Under CI an unreachable server is a failure; locally a skip with the reason.
    """
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            for setting in settings:
                conn.execute(text(f'ALTER DATABASE "{name}" SET {setting}'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable under CI: {exc.__class__.__name__}")
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} unreachable (start it: see scripts/ensure-services.sh)")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from connector.store.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session (dropped at the end)."""
    with throwaway_pg() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per session; each test gets a copy (migrating per test is slow)."""
    from connector.store import migrate
    from connector.store.db import get_engine

    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()  # checkpoint the WAL into the file before copying it
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database migrated to head, on each engine in turn."""
    from connector.store import migrate
    from connector.store.db import get_engine

    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
        yield url
        get_engine(url).dispose()
        return
    url = request.getfixturevalue("pg_database")
    migrate.upgrade(url)
    yield url
    from connector.store.models import Base

    with get_engine(url).begin() as conn:
        # DELETE is ~80x faster than TRUNCATE on these small tables; ids need not restart.
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, object]:
    return {
        "env": "test",
        "instance_path": str(tmp_path / "instance"),
        "database_url": f"sqlite:///{tmp_path / 'app.db'}",
    }


@pytest.fixture
def app(settings_overrides: dict[str, object]):  # type: ignore[no-untyped-def]
    from connector import create_app
    from connector.store import migrate

    migrate.upgrade(str(settings_overrides["database_url"]))
    application = create_app(settings_overrides)
    application.config["WTF_CSRF_ENABLED"] = False
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()
