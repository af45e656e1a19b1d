"""Shared set-up for benchmarks: a sandbox book, a throwaway SQLite store, the demo tenants installed."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

from connector.config import Settings, load_settings
from connector.demo.emulator import start_embedded
from connector.demo.run import prepare
from connector.installs.provision import ensure_all
from connector.store import migrate
from connector.store import repo as store
from connector.store.db import transaction


@dataclass
class World:
    settings: Settings
    sandbox: Any  # the running emulators (connector.demo.emulator.start_embedded)
    tenants: dict[str, int]
    _tmp: Any

    def close(self) -> None:
        self.sandbox.stop()
        self._tmp.cleanup()


def build(accounts: int, seed: int = 0, receiver_url: str | None = None) -> World:
    tmp = tempfile.TemporaryDirectory(prefix="healthscore-bench-")
    settings = load_settings(
        {
            "instance_path": tmp.name,
            "database_url": f"sqlite:///{tmp.name}/bench.db",
            "webhooks_allow_private_targets": True,
        },
        environ={},
    )
    migrate.upgrade(settings.sqlalchemy_url)
    sandbox = start_embedded(seed=seed, accounts=accounts)
    info = prepare(settings, sandbox.credentials(), receiver_url)
    ids = {}
    for slug in info["tenants"]:
        with transaction(settings.sqlalchemy_url) as s:
            ids[slug] = store.tenants(s, slug)[0].id
        ensure_all(settings, ids[slug])
    return World(settings, sandbox, ids, tmp)
