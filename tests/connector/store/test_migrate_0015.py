"""Migration 0015: installation-scope API keys are bound to their workspace's connected Zendesk; the ones
whose Zendesk is not connected (disconnected since: the keys audit 7 found still working) are revoked."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from connector.store import migrate
from connector.store.db import get_engine


def _zendesk(c: Any, row_id: int, tenant_id: int, status: str) -> None:
    c.execute(
        text(
            "INSERT INTO installations (id, tenant_id, vendor, status, base_url, token_url, client_id, "
            "client_secret_enc, settings, created_at) VALUES (:id, :t, 'zendesk', :status, "
            "'https://x.zendesk.com', 'https://x.zendesk.com/oauth/tokens', 'c', 'x', '{}', '2026-01-01')"
        ),
        {"id": row_id, "t": tenant_id, "status": status},
    )


def _key(c: Any, row_id: int, tenant_id: int, scope: str, revoked: str | None = None) -> None:
    c.execute(
        text(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scope, created_at, revoked_at, name_key) "
            "VALUES (:id, :t, :name, 'ab12', :hash, :scope, '2026-01-01', :revoked, :name)"
        ),
        {
            "id": row_id,
            "t": tenant_id,
            "name": f"k{row_id}",
            "hash": f"h{row_id}",
            "scope": scope,
            "revoked": revoked,
        },
    )


def test_0015_binds_live_installation_keys_and_revokes_the_orphans(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    migrate.downgrade(db_url, "0014")
    engine = get_engine(db_url)
    with engine.begin() as c:
        for tid in (1, 2, 3):
            c.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:i, :s, 'T', '2026-01-01')"),
                {"i": tid, "s": f"t{tid}"},
            )
        _zendesk(c, 10, 1, "connected")
        _zendesk(c, 11, 2, "disconnected")
        _key(c, 20, 1, "installation")  # the sidebar of a connected Zendesk: bound, stays live
        _key(c, 21, 1, "read")  # other scopes: untouched
        _key(c, 22, 2, "installation")  # Zendesk disconnected: revoked
        _key(c, 23, 3, "installation")  # no Zendesk at all: revoked
        _key(c, 24, 1, "installation", revoked="2026-01-02")  # revoked already: left as it was
    with caplog.at_level(logging.WARNING):
        assert migrate.upgrade(db_url) == migrate.head()
    assert "revoked 2 installation API key(s)" in caplog.text
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, installation_id, revoked_at FROM api_keys ORDER BY id")).all()
    got = {i: (inst, revoked is not None) for i, inst, revoked in rows}
    assert got == {20: (10, False), 21: (None, False), 22: (None, True), 23: (None, True), 24: (None, True)}
    with engine.connect() as c:
        kept = c.execute(text("SELECT revoked_at FROM api_keys WHERE id = 24")).scalar_one()
    assert str(kept).startswith("2026-01-02")
