"""Web test fixtures: the app on a migrated template database, two seeded tenants, signed-in clients."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from connector.installs import users as auth
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, _seed_tenant, sign_in_as


@pytest.fixture
def tenants(app: Any) -> dict[str, TenantData]:
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        return {
            "acme": _seed_tenant(session, "acme", "Acme"),
            "globex": _seed_tenant(session, "globex", "Globex"),
        }


@pytest.fixture
def private_ok(app: Any) -> None:
    """Webhook endpoints on loopback allowed (the tests' receivers), as in a lab deployment."""
    app.config["HEALTHSCORE"] = dataclasses.replace(
        app.config["HEALTHSCORE"], webhooks_allow_private_targets=True
    )


@pytest.fixture
def acme_admin(client: Any, tenants: dict[str, TenantData]) -> Any:
    sign_in_as(client, tenants["acme"], "admin")
    return client


@pytest.fixture
def acme_viewer(client: Any, tenants: dict[str, TenantData]) -> Any:
    sign_in_as(client, tenants["acme"], "viewer")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at production cost takes ~0.1 s a hash; tests use the cheapest valid parameters."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One migrated SQLite file per session; each test copies it (migrating per test costs ~0.6 s)."""
    from connector.store import migrate
    from connector.store.db import get_engine

    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    get_engine(url).dispose()
    return path


@pytest.fixture
def app(settings_overrides: dict[str, object], _migrated_template: Any) -> Any:
    """The shared `app` fixture, on a copy of the migrated template database."""
    import shutil

    from connector import create_app

    target = str(settings_overrides["database_url"]).removeprefix("sqlite:///")
    shutil.copyfile(_migrated_template, target)
    application = create_app(settings_overrides)
    application.config["WTF_CSRF_ENABLED"] = False
    return application


@pytest.fixture(autouse=True)
def write_back_requests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Tenants whose write-back a request asked for (a play turned on): recorded instead of reaching a
    broker or starting a background thread, so web tests never publish to the developer's Redis."""
    from connector.jobs import nudge

    asked: list[int] = []

    def record(settings: Any, tenant_id: int) -> bool:
        asked.append(tenant_id)
        return True

    monkeypatch.setattr(nudge, "request_write_back", record)
    return asked
