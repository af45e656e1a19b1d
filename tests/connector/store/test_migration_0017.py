"""Migration 0017 (webhook_endpoints.rotation_ends_at) on SQLite and PostgreSQL: a rotation in progress at
the upgrade ends 24 hours later (the default); an endpoint with one secret just loses the mark, unlogged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from connector.installs.vault import Vault
from connector.pipeline.rotation import finish_lapsed_rotations
from connector.store import migrate
from connector.store import models as m
from connector.store.db import get_engine
from tests.connector import builders as b


def test_0017_gives_a_rotation_in_progress_the_default_end(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    migrate.downgrade(db_url, "0016")
    engine = get_engine(db_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO tenants (id, slug, name, created_at) VALUES (1, 't', 'T', '2026-01-01')"))
        for ep_id, secrets in ((5, ["whsec_new", "whsec_old"]), (6, ["whsec_only"])):
            c.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, secrets_enc, "
                    "enabled, created_at) VALUES (:i, 1, 'https://hooks.example.com/', '', '[]', :s, :e, "
                    "'2026-01-01')"
                ),
                {"i": ep_id, "s": vault.encrypt_json(secrets), "e": True},
            )
    upgraded = datetime.now(UTC)
    assert migrate.upgrade(db_url) == migrate.head()
    with b.session(db_url) as s:
        ends = {ep.id: ep.rotation_ends_at for ep in s.scalars(select(m.WebhookEndpoint))}
        assert set(ends) == {5, 6}
        for value in ends.values():
            assert value is not None
            assert abs(value - (upgraded + timedelta(hours=24))) < timedelta(minutes=1)
        assert finish_lapsed_rotations(s, vault, now=upgraded + timedelta(hours=23)) == 0
    with b.session(db_url) as s:
        assert finish_lapsed_rotations(s, vault, now=upgraded + timedelta(hours=25)) == 1
    with b.session(db_url) as s:
        rows = {
            ep.id: (vault.decrypt_json(ep.secrets_enc), ep.rotation_ends_at)
            for ep in s.scalars(select(m.WebhookEndpoint))
        }
        assert rows == {5: (["whsec_new"], None), 6: (["whsec_only"], None)}
        entries = s.scalars(select(m.AuditEntry)).all()
        assert [(e.action, e.target) for e in entries] == [("webhook.rotation_finished", "endpoint:5")]
