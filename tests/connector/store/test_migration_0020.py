"""Migration 0020 (api_keys.created_by) on SQLite and PostgreSQL: an existing database with keys upgrades,
and a key's creator is filled in from its `api_key.created` audit entry where that person is still a user of
the same workspace; other keys stay unknown (NULL), another workspace's entries do not leak across."""

from __future__ import annotations

from sqlalchemy import select, text

from connector.store import migrate
from connector.store import models as m
from connector.store.db import get_engine
from tests.connector import builders as b


def test_0020_backfills_creators_from_the_audit_log(db_url: str) -> None:
    migrate.downgrade(db_url, "0019")
    with get_engine(db_url).begin() as c:
        for tid, slug in ((1, "acme"), (2, "globex")):
            c.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:i, :s, :s, '2026-01-01')"),
                {"i": tid, "s": slug},
            )
        for uid, tid, email in (
            (10, 1, "ann@acme.test"),
            (11, 1, "bob@acme.test"),
            (20, 2, "gus@globex.test"),
        ):
            c.execute(
                text(
                    "INSERT INTO users (id, tenant_id, email, name, role, created_at) "
                    "VALUES (:i, :t, :e, '', 'admin', '2026-01-01')"
                ),
                {"i": uid, "t": tid, "e": email},
            )
        keys = (
            (1, 1, "aaaa0001"),  # Ann made it
            (2, 1, "aaaa0002"),  # Bob made it (e-mail logged in another case)
            (3, 1, "aaaa0003"),  # made by someone removed since
            (4, 1, "aaaa0004"),  # no audit entry at all
            (5, 2, "aaaa0005"),  # globex: its entry names an acme address, which is not a globex user
            (6, 2, "bbbb0006"),  # globex, made by Gus
        )
        for kid, tid, prefix in keys:
            c.execute(
                text(
                    "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scope, created_at, name_key, "
                    "name_shared) VALUES (:i, :t, :n, :p, :h, 'admin', '2026-01-01', :n, :f)"
                ),
                {"i": kid, "t": tid, "n": f"key {kid}", "p": prefix, "h": f"hash{kid}", "f": False},
            )
        entries = (
            (1, "ann@acme.test", "key:aaaa0001"),
            (1, "Bob@Acme.test", "key:aaaa0002"),
            (1, "gone@acme.test", "key:aaaa0003"),
            (1, "ann@acme.test", "key:aaaa0005"),  # acme's entry: never fills globex's key
            (2, "gus@globex.test", "key:bbbb0006"),
            (1, "ann@acme.test", "webhook:1"),
        )
        for tid, actor, target in entries:
            c.execute(
                text(
                    "INSERT INTO audit_log (tenant_id, actor, action, target, detail, created_at) "
                    "VALUES (:t, :a, :x, :g, '{}', '2026-01-01')"
                ),
                {
                    "t": tid,
                    "a": actor,
                    "x": "api_key.created" if target.startswith("key:") else "x",
                    "g": target,
                },
            )
    assert migrate.upgrade(db_url) == migrate.head()
    with b.session(db_url) as s:
        made = {k.id: k.created_by for k in s.scalars(select(m.ApiKey))}
    assert made == {1: 10, 2: 11, 3: None, 4: None, 5: None, 6: 20}
    assert migrate.downgrade(db_url, "0019") == "0019"
    assert migrate.upgrade(db_url) == migrate.head()
