"""Admin pages: integrations, review queue, users, API keys, audit, scoring model, webhooks; isolation."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, sign_in_as


def _db(app: Any) -> Any:
    return transaction(app.config["HEALTHSCORE"].sqlalchemy_url)


def test_integrations_page_lists_vendors(acme_admin: Any) -> None:
    page = acme_admin.get("/admin/integrations").data.decode()
    for label in ("Connect Salesforce", "Connect HubSpot", "Connect Zendesk"):
        assert label in page
    assert "No runs yet" in page


def test_integration_status_and_error_show(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    from tests.connector.web.seed import NOW

    with _db(app) as session:
        session.add(
            m.Installation(
                tenant_id=tenants["acme"].id,
                vendor="hubspot",
                base_url="https://api.hubapi.com",
                token_url="t",
                client_id="c",
                client_secret_enc="x",
                status="reconnect",
                last_error="refresh token revoked",
                vendor_account="4242",
                created_at=NOW,
            )
        )
    page = acme_admin.get("/admin/integrations").data.decode()
    assert "refresh token revoked" in page
    assert "reconnect to grant access again" in page


def test_recent_runs_read_as_words_and_link_to_their_progress(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Recent runs showed a bare hex run id per row with nothing to click: each row now reads as when it
    started and what it was, and a set-up or sync run links to its progress page (a pass has none)."""
    from datetime import UTC, datetime

    acme = tenants["acme"]
    with _db(app) as session:
        started = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
        for run_id, kind, status, report in (
            ("a1b2c3d4e5f60718", "install", "ok", {"vendor": "zendesk", "steps": {}}),
            ("0f1e2d3c4b5a6978", "pass", "partial", {}),
        ):
            session.add(
                m.Run(tenant_id=acme.id, run_id=run_id, kind=kind, status=status, started_at=started,
                      finished_at=started, report=report)
            )  # fmt: skip
    page = acme_admin.get("/admin/integrations").data.decode()
    runs = page[page.index("Recent runs") :]
    link = '<a href="/admin/integrations/zendesk/progress/a1b2c3d4e5f60718"'
    assert link in runs
    assert runs.split(link)[1].split("</a>")[0].split(">", 1)[1] == "04 Mar 2026 05:06 UTC"
    assert "Set-up or sync · Zendesk" in runs
    assert "Pass (sync, score, write back)" in runs
    for run_id in ("a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"):
        assert f">{run_id}<" not in runs  # not as the row's text
    assert "/progress/0f1e2d3c4b5a6978" not in runs  # a pass has no progress page
    assert acme_admin.get("/admin/integrations/zendesk/progress/a1b2c3d4e5f60718").status_code == 200


def test_review_confirm_sticks(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    acme = tenants["acme"]
    page = acme_admin.get(f"/admin/review?row={acme.org_id}&q=red").data.decode()
    assert "Acme Mystery Org" in page
    assert "Acme Red Corp" in page
    target = acme.accounts["Acme Red Corp"]
    resp = acme_admin.post(
        f"/admin/review/{acme.org_id}", data={"crm_account_id": str(target), "decision": "link"}
    )
    assert resp.status_code == 303
    with _db(app) as session:
        link = session.query(m.AccountLink).filter_by(source_account_id=acme.org_id).one()
        assert (link.crm_account_id, link.status, link.method, link.confirmed_by) == (
            target,
            "confirmed",
            "manual",
            "admin@acme.test",
        )
        assert link.confirmed_at is not None
        entry = session.query(m.AuditEntry).filter_by(action="link.confirmed").one()
        assert entry.tenant_id == acme.id
    page = acme_admin.get("/admin/review").data.decode()
    assert f'id="review-{acme.org_id}"' not in page  # out of the queue
    assert f'id="decision-{acme.org_id}"' in page  # listed under recent decisions, with Undo


def test_review_leave_unlinked(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    resp = acme_admin.post(f"/admin/review/{tenants['acme'].org_id}", data={"decision": "none"})
    assert resp.status_code == 303
    with _db(app) as session:
        link = session.query(m.AccountLink).filter_by(source_account_id=tenants["acme"].org_id).one()
        assert (link.crm_account_id, link.status, link.method) == (None, "confirmed", "manual")


@pytest.mark.parametrize("which", ["other-org", "other-account", "bad-id"])
def test_review_cannot_touch_other_tenant(
    acme_admin: Any, tenants: dict[str, TenantData], which: str
) -> None:
    acme, globex = tenants["acme"], tenants["globex"]
    source, target = {
        "other-org": (globex.org_id, str(acme.accounts["Acme Red Corp"])),
        "other-account": (acme.org_id, str(globex.accounts["Globex Red Corp"])),
        "bad-id": (acme.org_id, "abc"),
    }[which]
    resp = acme_admin.post(f"/admin/review/{source}", data={"crm_account_id": target, "decision": "link"})
    assert resp.status_code == (303 if which == "bad-id" else 404)


def test_users_role_change_and_last_admin(acme_admin: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    page = acme_admin.get("/admin/users").data.decode()
    assert "viewer@acme.test" in page
    assert "globex" not in page
    assert acme_admin.post(f"/admin/users/{acme.viewer_id}/role", data={"role": "admin"}).status_code == 303
    assert acme_admin.post(f"/admin/users/{acme.viewer_id}/role", data={"role": "viewer"}).status_code == 303
    # Demoting the last admin is refused with a message.
    acme_admin.post(f"/admin/users/{acme.admin_id}/role", data={"role": "viewer"})
    page = acme_admin.get("/admin/users").data.decode()
    assert "A workspace needs at least one admin; make someone else an admin first." in page
    assert "tenant" not in page.lower()
    # Another tenant's user: no effect.
    acme_admin.post(f"/admin/users/{tenants['globex'].viewer_id}/role", data={"role": "admin"})
    assert "no such user" in acme_admin.get("/admin/users").data.decode().lower()
    # Removing a user twice (a second tab, a double click) says what happened, not a bare "no such user".
    acme_admin.post(f"/admin/users/{acme.viewer_id}/remove")
    acme_admin.post(f"/admin/users/{acme.viewer_id}/remove")
    assert "removed already?" in acme_admin.get("/admin/users").data.decode()


def test_api_key_shown_once_stored_hashed(acme_admin: Any, app: Any) -> None:
    page = acme_admin.post(
        "/admin/keys", data={"name": "BI export", "scope": "read"}, follow_redirects=True
    ).data.decode()
    secret = page.split('<code class="secret">')[1].split("<")[0]
    assert secret.startswith("hsk_")
    assert secret not in acme_admin.get("/admin/keys").data.decode()
    with _db(app) as session:
        row = session.query(m.ApiKey).filter_by(name="BI export").one()
        assert secret not in row.key_hash
        assert len(row.key_hash) == 64
        key_id = row.id
    # Revoking twice (a second tab): back to the list with a word, not the 404 page.
    assert acme_admin.post(f"/admin/keys/{key_id}/revoke").status_code == 303
    again = acme_admin.post(f"/admin/keys/{key_id}/revoke", follow_redirects=True)
    assert again.status_code == 200
    assert "already revoked" in again.data.decode()
    bad = acme_admin.post("/admin/keys", data={"name": "", "scope": "root"})
    assert bad.status_code == 400
    # a name longer than its column is refused in words (was cut at 200 silently), long names wrap
    long = acme_admin.post("/admin/keys", data={"name": "x" * 500, "scope": "read"})
    assert long.status_code == 400
    assert "to 200 characters" in long.data.decode()
    assert 'maxlength="200"' in long.data.decode()
    assert '<td class="wrap">BI export</td>' in long.data.decode()


def test_a_key_created_twice_is_made_once(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    """A double click on Create (or a reload that resubmits the form) made two keys of the same name, one
    of them with a secret nobody saw. The same form again says the key exists; another scope under a
    taken name is refused; a revoked key's name can be used again."""
    form = {"name": "BI export", "scope": "read", "csrf_token": "x"}
    first = acme_admin.post("/admin/keys", data=form, follow_redirects=True)
    assert first.status_code == 200
    assert '<code class="secret">' in first.data.decode()
    again = acme_admin.post("/admin/keys", data={**form, "name": " bi EXPORT "})
    assert again.status_code == 303
    page = acme_admin.get("/admin/keys").data.decode()
    assert "A key named “BI export” (hsk_" in page
    assert "already exists, so no second one was made" in page
    assert '<code class="secret">' not in page
    other = acme_admin.post("/admin/keys", data={**form, "scope": "admin"})
    assert other.status_code == 400
    assert "There is already a key named “BI export” (scope read)" in other.data.decode()
    with _db(app) as s:
        rows = s.query(m.ApiKey).filter_by(tenant_id=tenants["acme"].id, name="BI export").all()
        assert len(rows) == 1
        key_id = rows[0].id
    acme_admin.post(f"/admin/keys/{key_id}/revoke")
    assert acme_admin.post("/admin/keys", data=form).status_code == 303  # replaced after revoking


def test_cannot_revoke_other_tenants_key(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    with _db(app) as session:
        other = session.query(m.ApiKey).filter_by(tenant_id=tenants["globex"].id).first().id
    assert acme_admin.post(f"/admin/keys/{other}/revoke").status_code == 404


def test_audit_log_is_tenant_scoped(acme_admin: Any, client: Any, tenants: dict[str, TenantData]) -> None:
    acme_admin.post("/admin/keys", data={"name": "k1", "scope": "read"})
    page = acme_admin.get("/admin/audit").data.decode()
    assert "api_key.created" in page
    assert "admin@acme.test" in page
    assert "globex" not in page


def _default_yaml() -> str:
    return files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


def test_model_validate_shows_every_problem(acme_admin: Any) -> None:
    resp = acme_admin.post(
        "/admin/model", data={"yaml": "version: x\nbands: 3\ndimensions: []\n", "action": "validate"}
    )
    assert resp.status_code == 400
    assert b"problem" in resp.data
    broken = acme_admin.post("/admin/model", data={"yaml": "version: [unclosed", "action": "validate"})
    assert broken.status_code == 400


def test_model_save_draft_then_publish(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    # a real change: a draft identical to the live model has nothing to publish (test_found_and_left.py)
    text = _with_version(_default_yaml(), "acme-2").replace("  top_n: 3", "  top_n: 4")
    ok = acme_admin.post("/admin/model", data={"yaml": text, "action": "validate"})
    assert ok.status_code == 200
    assert b"The model is valid" in ok.data
    preview = acme_admin.post("/admin/model", data={"yaml": text, "action": "preview"})
    assert preview.status_code == 303
    preview = acme_admin.get(preview.headers["Location"])
    assert preview.status_code == 200
    assert b"Backtest preview" in preview.data
    saved = acme_admin.post("/admin/model", data={"yaml": text, "action": "save"})
    assert saved.status_code == 303
    version_id = int(saved.location.rsplit("/", 1)[1])
    dup = acme_admin.post("/admin/model", data={"yaml": text, "action": "save"})
    assert dup.status_code == 400
    assert b"exists already" in dup.data
    assert b"Publish acme-2" in acme_admin.get(f"/admin/model/{version_id}").data
    assert acme_admin.post(f"/admin/model/{version_id}/publish").status_code == 303
    with _db(app) as session:
        row = session.get(m.ScoringModelVersion, version_id)
        assert row.status == "published"
        assert row.tenant_id == tenants["acme"].id


def test_model_versions_are_tenant_scoped(
    client: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    from tests.connector.web.seed import sign_in_as

    text = _with_version(_default_yaml(), "acme-3")
    version_id = int(
        acme_admin.post("/admin/model", data={"yaml": text, "action": "save"}).location.rsplit("/", 1)[1]
    )
    sign_in_as(client, tenants["globex"])
    assert client.get(f"/admin/model/{version_id}").status_code == 404
    assert client.post(f"/admin/model/{version_id}/publish").status_code == 404


def test_webhook_lifecycle(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any, private_ok: None
) -> None:
    page = acme_admin.post(
        "/admin/webhooks/",
        data={"url": "http://127.0.0.1:9/in", "description": "ops", "event_types": ["account.band_changed"]},
        follow_redirects=True,
    )
    assert page.status_code == 200
    secret = page.data.decode().split('<code class="secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    with _db(app) as session:
        ep = session.query(m.WebhookEndpoint).one()
        assert secret not in ep.secrets_enc
        ep_id = ep.id
        event = m.WebhookEvent(
            tenant_id=tenants["acme"].id,
            msg_id="msg_1",
            type="account.band_changed",
            payload={},
            created_at=ep.created_at,
        )
        session.add(event)
        session.flush()
        delivery = m.WebhookDelivery(
            tenant_id=tenants["acme"].id,
            endpoint_id=ep_id,
            event_id=event.id,
            status="dead",
            attempts=8,
            last_status_code=500,
            created_at=ep.created_at,
            updated_at=ep.created_at,
        )
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    detail = acme_admin.get(f"/admin/webhooks/{ep_id}").data.decode()
    assert "msg_1" in detail
    # titled by its URL at heading size (class kv made the page title 0.82 rem, smaller than the text below it)
    assert '<h1 class="endpoint-url">' in detail
    assert "h1.endpoint-url {" in acme_admin.get("/static/app.css").data.decode()
    assert "dead" in detail
    assert secret not in detail
    rotated = acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", follow_redirects=True).data.decode()
    new_secret = rotated.split('<code class="secret">')[1].split("<")[0]
    assert new_secret != secret
    from connector.installs.vault import Vault

    with _db(app) as session:
        secrets = Vault(app.config["HEALTHSCORE"]).decrypt_json(
            session.get(m.WebhookEndpoint, ep_id).secrets_enc
        )
        assert secrets == [new_secret, secret]  # the old one still signs during the switch
    assert "Stop signing with the old secret" in rotated
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/finish-rotation").status_code == 303
    with _db(app) as session:
        secrets = Vault(app.config["HEALTHSCORE"]).decrypt_json(
            session.get(m.WebhookEndpoint, ep_id).secrets_enc
        )
        assert secrets == [new_secret]
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/deliveries/{delivery_id}/replay").status_code == 303
    with _db(app) as session:
        assert session.get(m.WebhookDelivery, delivery_id).status == "pending"
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/toggle").status_code == 303
    with _db(app) as session:
        assert session.get(m.WebhookEndpoint, ep_id).enabled is False
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/delete").status_code == 303
    assert acme_admin.get(f"/admin/webhooks/{ep_id}").status_code == 404


def test_webhook_deleted_twice_goes_back_to_the_list(
    acme_admin: Any, client: Any, tenants: dict[str, TenantData], app: Any, private_ok: None
) -> None:
    """Deleting an endpoint again (a second tab, a double click) lands on the list with a word, not the 404
    page; an endpoint that never existed, or another workspace's deleted one, is still a 404."""
    acme_admin.post(
        "/admin/webhooks/", data={"url": "http://127.0.0.1:9/in", "event_types": ["account.band_changed"]}
    )
    with _db(app) as session:
        ep_id = session.query(m.WebhookEndpoint).one().id
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/delete").status_code == 303
    again = acme_admin.post(f"/admin/webhooks/{ep_id}/delete")
    assert again.status_code == 303
    assert again.headers["Location"].endswith("/admin/webhooks/")
    page = acme_admin.get("/admin/webhooks/").data.decode()
    assert "That endpoint was already deleted" in page
    assert acme_admin.post(f"/admin/webhooks/{ep_id + 100}/delete").status_code == 404
    assert acme_admin.post(f"/admin/webhooks/{ep_id}1/delete").status_code == 404  # not a prefix match
    sign_in_as(client, tenants["globex"])
    assert client.post(f"/admin/webhooks/{ep_id}/delete").status_code == 404


def test_webhook_form_errors(acme_admin: Any) -> None:
    resp = acme_admin.post(
        "/admin/webhooks/", data={"url": "http://10.0.0.1/x", "event_types": ["account.band_changed"]}
    )
    assert resp.status_code == 400
    assert b"cannot receive webhooks" in resp.data
    none = acme_admin.post("/admin/webhooks/", data={"url": "https://example.com/x"})
    assert none.status_code == 400
    assert b"at least one event type" in none.data


def test_webhooks_of_other_tenant_are_404(
    acme_admin: Any, client: Any, tenants: dict[str, TenantData], app: Any, private_ok: None
) -> None:
    from tests.connector.web.seed import sign_in_as

    acme_admin.post(
        "/admin/webhooks/", data={"url": "http://127.0.0.1:9/in", "event_types": ["account.band_changed"]}
    )
    with _db(app) as session:
        ep_id = session.query(m.WebhookEndpoint).one().id
    sign_in_as(client, tenants["globex"])
    assert client.get(f"/admin/webhooks/{ep_id}").status_code == 404
    for action in ("rotate", "finish-rotation", "delete", "toggle", "deliveries/1/replay"):
        assert client.post(f"/admin/webhooks/{ep_id}/{action}").status_code == 404, action
    assert "127.0.0.1:9" not in client.get("/admin/webhooks/").data.decode()


def test_review_suggests_accounts_with_a_similar_name(acme_admin: Any) -> None:
    """Without a search, each organization offers CRM accounts whose normalised names share a word."""
    page = acme_admin.get("/admin/review").data.decode()
    row = page.split('id="review-')[1]
    assert "Acme Red Corp" in row
    assert "Globex" not in page


def _with_version(text: str, version: str) -> str:
    """The default model under another version (whatever the packaged default's version is today)."""
    import re

    changed, count = re.subn(r"(?m)^version: .*$", f'version: "{version}"', text)
    assert count == 1
    return changed
