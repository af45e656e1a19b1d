"""Audit 7: attack classes the earlier audits did not cover (key rotation of every stored secret, races on
the last admin, dependency floors, …). Each test failed on the code before its fix."""

from __future__ import annotations

from pathlib import Path

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
