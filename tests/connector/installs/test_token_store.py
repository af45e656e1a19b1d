"""Security audit 11: an installation's Connection reads the tokens stored now (`load_tokens`), so a client
whose single-use refresh token another process rotated adopts the stored pair instead of asking for a
reconnect (tests/integrations/zendesk/test_token_race.py is the client's side)."""

from __future__ import annotations

from pathlib import Path

from connector.config import load_settings
from connector.installs.connections import connection_for
from connector.installs.onboarding import _installation
from connector.installs.vault import Vault
from connector.store.db import transaction
from integrations.oauth import TokenSet
from tests.connector import builders


def test_load_tokens_reads_what_another_process_stored(sqlite_template: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "app.db"
    shutil.copyfile(sqlite_template, db)
    settings = load_settings(
        {"env": "test", "instance_path": str(tmp_path / "instance"), "database_url": f"sqlite:///{db}"}
    )
    with transaction(settings.sqlalchemy_url) as s:
        acme = builders.tenant(s, "acme", crm="salesforce")
        builders.installation(s, Vault(settings), acme, "zendesk")
        other = builders.tenant(s, "globex", crm="salesforce")
        builders.installation(s, Vault(settings), other, "zendesk")
    worker = connection_for(settings, _installation(settings, acme, "zendesk"))
    web = connection_for(settings, _installation(settings, acme, "zendesk"))
    assert web.load_tokens is not None
    assert web.load_tokens() == web.tokens
    rotated = TokenSet(access_token="a2", refresh_token="r2")
    worker.save_tokens(rotated)  # the worker's refresh
    assert web.load_tokens() == rotated
    assert web.tokens.access_token == builders.ACCESS_TOKEN  # what it read at the start, until it asks
    # the other workspace's installation is another row
    other_conn = connection_for(settings, _installation(settings, other, "zendesk"))
    assert other_conn.load_tokens is not None
    assert other_conn.load_tokens().access_token == builders.ACCESS_TOKEN
