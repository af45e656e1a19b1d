"""Browser-test fixtures: the app served by werkzeug in a thread against the sandboxes, and Chromium.

Debian's Chromium (/usr/bin/chromium) is driven by Playwright; no browser is ever downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "e2e password long enough"


@dataclass
class Served:
    base_url: str
    app: Any
    settings: Any


@pytest.fixture
def served(tmp_path: Path, sandbox_set: Any) -> Iterator[Served]:
    """The real app on 127.0.0.1:<free port>, OAuth apps pre-filled from the running sandboxes."""
    from werkzeug.serving import make_server

    from connector import create_app
    from connector.installs import users as auth
    from connector.store import migrate
    from connector.store import repo as store
    from connector.store.db import transaction

    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    db_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    migrate.upgrade(db_url)
    app = create_app(
        {
            "env": "test",
            "instance_path": str(tmp_path / "instance"),
            "database_url": db_url,
            "public_base_url": base,
            "webhooks_allow_private_targets": True,
        }
    )
    from connector.installs.installs import oauth_apps_from_sandbox

    app.config["OAUTH_APPS"] = oauth_apps_from_sandbox(sandbox_set.credentials())
    holder["app"] = app
    settings = app.config["HEALTHSCORE"]
    with transaction(settings.sqlalchemy_url) as session:
        for slug, name in (("acme", "Acme Inc"), ("globex", "Globex")):
            tenant = store.ensure_tenant(session, slug, name)
            auth.create_user(session, tenant.id, f"admin@{slug}.test", "admin", password=PASSWORD)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(base, app, settings)
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900}, ignore_https_errors=True)
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        context.close()
        browser.close()


def shot(page: Any, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
