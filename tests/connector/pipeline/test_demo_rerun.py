"""Re-running the demo on the same instance (after Ctrl+C, say) must not pile up webhook endpoints that point
at receivers of earlier runs: the receiver listens on a new port each run. Before, every run added one more
"demo receiver" endpoint, the earlier ones at ports nobody listened on, their deliveries failing for ever."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from connector.admin.webhooks import add_endpoint
from connector.demo.run import DEMO_RECEIVER, _demo_endpoint
from connector.installs.vault import Vault
from connector.store import models as m
from tests.connector import builders as b


def _endpoints(db_url: str, tenant: int) -> list[m.WebhookEndpoint]:
    with b.session(db_url) as s:
        rows = s.scalars(select(m.WebhookEndpoint).where(m.WebhookEndpoint.tenant_id == tenant)).all()
        s.expunge_all()
        return sorted(rows, key=lambda e: e.id)


def test_a_second_run_moves_the_demo_endpoint_and_keeps_its_secret(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        first = _demo_endpoint(s, vault, t, "http://127.0.0.1:40001/hooks")
        s.commit()
    with b.session(db_url) as s:
        second = _demo_endpoint(s, vault, t, "http://127.0.0.1:40002/hooks")
        s.commit()
    eps = _endpoints(db_url, t)
    assert len(eps) == 1
    assert eps[0].url == "http://127.0.0.1:40002/hooks"
    assert eps[0].enabled
    assert second == first  # the receiver of the new run verifies with the secret the endpoint signs with
    with b.session(db_url) as s:
        moved = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "webhook.endpoint_moved")).all()
        assert [(e.target, e.detail["old_url"]) for e in moved] == [
            ("http://127.0.0.1:40002/hooks", "http://127.0.0.1:40001/hooks")
        ]


def test_endpoints_earlier_runs_left_behind_are_disabled_and_a_disabled_one_comes_back(
    db_url: str, tmp_path: Path
) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        for port in (40001, 40002):  # what runs before this fix left
            add_endpoint(
                s, vault, t, f"http://127.0.0.1:{port}/hooks", description=DEMO_RECEIVER, allow_private=True
            )
        add_endpoint(
            s, vault, t, "http://127.0.0.1:9/theirs", description="the admin's own", allow_private=True
        )
        s.flush()
        first = s.scalars(select(m.WebhookEndpoint).order_by(m.WebhookEndpoint.id)).first()
        assert first is not None
        first.enabled, first.disabled_reason = False, "failed 50 times"
        s.commit()
    with b.session(db_url) as s:
        _demo_endpoint(s, vault, t, "http://127.0.0.1:40003/hooks")
        s.commit()
    kept, older, theirs = _endpoints(db_url, t)
    assert (kept.url, kept.enabled, kept.disabled_reason) == ("http://127.0.0.1:40003/hooks", True, None)
    assert not older.enabled
    assert "earlier demo run" in (older.disabled_reason or "")
    assert (theirs.url, theirs.enabled) == ("http://127.0.0.1:9/theirs", True)  # not the demo's: untouched
