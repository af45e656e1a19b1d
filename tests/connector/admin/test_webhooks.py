"""Webhook endpoints: add (secret shown once, stored encrypted, SSRF guard), rotate (old + new sign), list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import standardwebhooks
from sqlalchemy import select, text

from connector.admin.webhooks import (
    EVENT_TYPES,
    EndpointError,
    add_endpoint,
    finish_rotation,
    list_endpoints,
    rotate_secret,
)
from connector.installs.vault import Vault
from connector.pipeline import delivery
from connector.store import models as m
from connector.store.db import get_engine
from tests.connector import builders as b
from tests.connector.builders import T0


def test_add_shows_the_secret_once_and_stores_it_encrypted(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        ep, secret = add_endpoint(s, vault, t, "http://127.0.0.1:9/hook", allow_private=True, actor="jane")
        ep_id = ep.id
    assert secret.startswith("whsec_")
    with get_engine(db_url).connect() as conn:
        raw = repr(conn.execute(text("SELECT * FROM webhook_endpoints")).all())
    assert secret.removeprefix("whsec_") not in raw
    with b.session(db_url) as s:
        row = s.get(m.WebhookEndpoint, ep_id)
        assert row is not None
        ep = row
        assert vault.decrypt_json(ep.secrets_enc) == [secret]
        assert (ep.enabled, list(ep.event_types)) == (True, list(EVENT_TYPES))
        audit = s.scalars(select(m.AuditEntry)).one()
        assert (audit.actor, audit.action, audit.target) == ("jane", "webhook.endpoint_added", ep.url)
        assert secret not in repr(audit.detail)
        assert list_endpoints(s, t) == [
            {
                "id": ep_id,
                "url": ep.url,
                "events": list(EVENT_TYPES),
                "enabled": True,
                "disabled_reason": None,
            }
        ]


@pytest.mark.parametrize(
    ("url", "allow_private", "says", "not_says"),
    [
        ("http://10.1.2.3/hook", False, "operator of this healthscore server", "Check the URL"),
        ("http://169.254.169.254/latest", False, "never allowed", "ALLOW_PRIVATE_TARGETS"),
        ("http://169.254.169.254/latest", True, "never allowed", "ALLOW_PRIVATE_TARGETS"),
        ("ftp://hooks.example.com/", False, "Use an https:// URL.", "ALLOW_PRIVATE_TARGETS"),
        ("https://user:pw@hooks.example.com/", False, "every delivery is signed", "ALLOW_PRIVATE_TARGETS"),
    ],
    ids=["private", "metadata", "metadata-even-if-allowed", "scheme", "credentials"],
)
def test_a_refused_target_says_what_the_person_can_do(
    db_url: str, tmp_path: Path, url: str, allow_private: bool, says: str, not_says: str
) -> None:
    """Every refusal ended 'Private and loopback targets need HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true',
    a server setting a workspace admin cannot reach, and one that never allows a metadata address or fixes
    an ftp:// URL. Only a private address mentions it now, as the operator's setting."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        with pytest.raises(EndpointError) as info:
            add_endpoint(s, vault, t, url, allow_private=allow_private)
    assert says in str(info.value)
    assert not_says not in str(info.value)


@pytest.mark.parametrize(
    ("url", "allow_private", "fragment"),
    [
        ("http://127.0.0.1:8080/hook", False, "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS"),
        ("http://10.1.2.3/hook", False, "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS"),
        ("http://169.254.169.254/latest", True, "metadata"),
        ("ftp://hooks.example.com/", False, "bad_scheme"),
    ],
    ids=["loopback", "private", "metadata-even-if-allowed", "scheme"],
)
def test_unsafe_targets_are_refused_and_nothing_is_stored(
    db_url: str, tmp_path: Path, url: str, allow_private: bool, fragment: str
) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        with pytest.raises(EndpointError, match=fragment):
            add_endpoint(s, vault, t, url, allow_private=allow_private)
        assert s.scalars(select(m.WebhookEndpoint)).all() == []


def test_unknown_event_types_are_refused(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        with pytest.raises(EndpointError, match=r"unknown event types \['account.deleted'\]"):
            add_endpoint(s, vault, t, "http://127.0.0.1:9/", events=["account.deleted"], allow_private=True)


def test_rotation_old_and_new_secrets_both_sign(db_url: str, tmp_path: Path) -> None:
    """The customer still verifies with the old secret after we rotate; after finish_rotation only the
    new secret signs, so a receiver that never updated starts rejecting."""
    settings = b.settings_for(db_url, tmp_path)
    vault = Vault(settings)
    with b.session(db_url) as s:
        t = b.tenant(s)
        ep, old = add_endpoint(s, vault, t, "http://127.0.0.1:9/hook", allow_private=True)
        ep_id = ep.id
    with b.session(db_url) as s:
        new = rotate_secret(s, vault, t, ep_id, actor="jane")
    assert new != old
    with b.running(b.SecretReceiver(old)) as rec:
        with b.session(db_url) as s:
            endpoint = s.get(m.WebhookEndpoint, ep_id)
            assert endpoint is not None
            endpoint.url = f"{rec.base_url}/hook"  # the receiver's port is known only now
            b.event(s, t, [ep_id], msg_id="msg_after_rotation")
        assert delivery.deliver_due(settings, t, now=T0).delivered == 1
        [(headers, body, ok)] = rec.hits
        assert ok, "a receiver holding only the old secret must still verify"
        standardwebhooks.Webhook(new).verify(body, headers)  # and one holding only the new one too
        with b.session(db_url) as s:
            finish_rotation(s, vault, t, ep_id)
            b.event(s, t, [ep_id], msg_id="msg_after_finish", due=T0 + timedelta(seconds=1))
        report = delivery.deliver_due(settings, t, now=T0 + timedelta(seconds=1))
        assert (report.delivered, report.failed) == (0, 1)
        assert rec.hits[-1][2] is False
        standardwebhooks.Webhook(new).verify(rec.hits[-1][1], rec.hits[-1][0])
    with b.session(db_url) as s:
        assert [a.action for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))] == [
            "webhook.endpoint_added", "webhook.secret_rotated",
        ]  # fmt: skip


def test_endpoints_are_tenant_scoped(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        ta, tb = b.tenant(s, "alpha"), b.tenant(s, "beta")
        ep_b, _ = add_endpoint(s, vault, tb, "http://127.0.0.1:9/b", allow_private=True)
        assert list_endpoints(s, ta) == []
        with pytest.raises(EndpointError, match="no webhook endpoint"):
            rotate_secret(s, vault, ta, ep_b.id)
        with pytest.raises(EndpointError):
            finish_rotation(s, vault, ta, ep_b.id)
        assert len(vault.decrypt_json(ep_b.secrets_enc)) == 1
