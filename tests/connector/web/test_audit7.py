"""Audit 7: attack classes the earlier audits did not cover (key rotation of every stored secret, races on
the last admin, dependency floors, …). Each test failed on the code before its fix."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.realtime import inbound as realtime_inbound
from connector.store import models as m
from connector.store import repo as store
from tests.connector import builders as b


def test_keys_rotate_re_encrypts_the_salesforce_inbound_url_token(db_url: str, tmp_path: Path) -> None:
    """`healthscore keys rotate` says old keys can be dropped afterwards; the Salesforce inbound URL token
    (installation settings, inbound_token_enc) was left under the old key, so once it was dropped every
    Salesforce Outbound Message failed to decrypt its installation (a 500 for each, until reconnected)."""
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    vault = Vault(b.settings_for(db_url, tmp_path, old_key))
    with b.session(db_url) as s:
        inst = b.installation(s, vault, b.tenant(s))
        realtime_inbound.set_inbound_token(inst, vault, "url-TOKEN-secret")
    store.rotate_secrets(b.settings_for(db_url, tmp_path, new_key, old_key))
    new_only = Vault(b.settings_for(db_url, tmp_path, new_key))
    with b.session(db_url) as s:
        inst = s.scalars(select(m.Installation)).one()
        assert realtime_inbound.inbound_token(inst, new_only) == "url-TOKEN-secret"
        assert "inbound_token" not in (inst.settings or {})  # never stored in plain text


def _admins(db_url: str, tenant_id: int) -> list[str]:
    with b.session(db_url) as s:
        return sorted(
            s.scalars(select(m.User.email).where(m.User.tenant_id == tenant_id, m.User.role == "admin"))
        )


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_two_admins_demoting_each_other_at_once_leave_one_admin(db_url: str, change: str) -> None:
    """The last-admin rule counted the admins without a lock: two admins demoting (or removing) each other
    at the same moment each saw two admins, and the workspace was left with none (nobody could manage
    users, keys, integrations or webhooks any more). The second change now waits for the first and is
    refused."""
    from connector.installs import users as auth
    from connector.store.db import session_factory

    with b.session(db_url) as s:
        t = b.tenant(s)
        a = auth.create_user(s, t, "a@acme.example", "admin").id
        bee = auth.create_user(s, t, "b@acme.example", "admin").id

    def act(session: Any, user_id: int) -> None:
        if change == "demote":
            auth.set_role(session, t, user_id, "viewer")
        else:
            auth.remove_user(session, t, user_id)

    outcome: list[str] = []

    def second() -> None:
        with session_factory(db_url)() as s2:
            try:
                act(s2, a)
                s2.commit()
                outcome.append("done")
            except auth.AuthError:
                s2.rollback()
                outcome.append("refused")

    with session_factory(db_url)() as s1:
        act(s1, bee)  # the first change, not committed yet
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=0.5)  # the second change reads the admins while the first is still open
        s1.commit()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome == ["refused"]
    assert _admins(db_url, t) == ["a@acme.example"]
