"""What a new user met walking every page of the demo (report-walk.md), each pinned by a test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData


def _db(app: Any) -> Any:
    return transaction(app.config["HEALTHSCORE"].sqlalchemy_url)


def _endpoint(app: Any, tenants: dict[str, TenantData]) -> int:
    """acme's webhook endpoint https://hooks.example.com/hs with one signing secret; its id."""
    from connector.installs.vault import Vault
    from tests.connector import builders

    with _db(app) as s:
        return int(
            builders.endpoint(
                s,
                Vault(app.config["HEALTHSCORE"]),
                tenants["acme"].id,
                "https://hooks.example.com/hs",
                ["whsec_" + "A" * 44],
            )
        )


def test_plays_sharing_a_name_are_marked_with_a_hint_to_rename(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Twins kept by migration 0012 (name_shared) were named only in the migration's log: the plays page
    looked normal, and saving the marked play failed with 'There is already a play named …'."""
    acme = tenants["acme"]
    assert "same name" not in acme_admin.get("/admin/plays").get_data(as_text=True)  # the starter alone
    with _db(app) as s:
        older = s.scalars(select(m.Play).where(m.Play.tenant_id == acme.id)).one()
        twin = m.Play(tenant_id=acme.id, name=older.name, to_band="red", from_bands=[], segments=[],
                      subject="s", zendesk_ticket=False, enabled=False, created_at=NOW, updated_at=NOW,
                      name_shared=True)  # fmt: skip
        s.add(twin)
        s.flush()
        twin_id = twin.id
    page = acme_admin.get("/admin/plays").get_data(as_text=True)
    assert 'id="shared-names"' in page
    assert "1 play shares a name with another play" in page
    assert "give it a name of its own" in page
    assert f'href="/admin/plays?edit={twin_id}" title="Another, older play has this name' in page
    editing = acme_admin.get(f"/admin/plays?edit={twin_id}").get_data(as_text=True)
    assert 'id="rename-hint"' in editing
    renamed = acme_admin.post(
        "/admin/plays",
        data={"play_id": str(twin_id), "name": "Enters red (copy)", "to_band": "red", "due_days": "3",
              "csrf_token": "x"},
    )  # fmt: skip
    assert renamed.status_code == 302
    assert 'id="shared-names"' not in acme_admin.get("/admin/plays").get_data(as_text=True)


def test_live_keys_sharing_a_name_are_marked_with_how_to_replace_them(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    from connector.installs import users as auth

    acme = tenants["acme"]
    with _db(app) as s:
        first = auth.create_api_key(s, acme.id, "BI export", "read")
        s.flush()
        twin = m.ApiKey(tenant_id=acme.id, name="BI export", prefix="twin0001", key_hash="x" * 64, scope="read",
                        created_at=NOW + timedelta(minutes=1), name_shared=True)  # fmt: skip
        s.add(twin)
        s.flush()
        twin_id, first_prefix = twin.id, first.prefix
    page = acme_admin.get("/admin/keys").get_data(as_text=True)
    assert 'id="shared-names"' in page
    assert "1 key shares a name with another key" in page
    assert "hsk_twin0001_" in page
    assert "Keys cannot be renamed: create a replacement under a name of its own" in page
    assert page.count("same name — replace") == 1
    assert f"hsk_{first_prefix}_" in page
    acme_admin.post(f"/admin/keys/{twin_id}/revoke")
    page = acme_admin.get("/admin/keys").get_data(as_text=True)
    assert 'id="shared-names"' not in page  # a revoked twin is out of the constraint's reach: no hint
    assert "same name — replace" not in page


def test_admin_forms_keep_what_was_typed_when_refused(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """The invitation form came back empty after 'not an e-mail address' (role reset to Viewer), the key
    form after 'there is already a key named …' (scope reset to read), and the webhook form forgot which
    events were ticked."""
    bad = acme_admin.post("/admin/users/invite", data={"email": "jane.doe at acme.test", "role": "admin"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'name="email" value="jane.doe at acme.test"' in page
    assert '<option value="admin" selected>' in page
    acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})
    twin = acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "admin"})
    page = twin.get_data(as_text=True)
    assert twin.status_code == 400
    assert 'name="name" value="Warehouse"' in page
    assert '<option value="admin" selected>' in page
    hook = acme_admin.post(
        "/admin/webhooks/",
        data={"url": "ftp://nowhere", "description": "ours", "event_types": ["account.score_changed"]},
    )
    page = hook.get_data(as_text=True)
    assert hook.status_code == 400
    assert 'value="account.score_changed" checked' in page
    assert 'value="account.band_changed" checked' not in page


def test_actions_that_cannot_be_undone_ask_first(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Disconnect (a CRM!), Revoke a key, Delete and Rotate an endpoint and Turn on a play (CRM tasks for
    real accounts) went off on one click, while removing a user asked first (app.js: data-confirm)."""
    import re

    from connector.installs.vault import Vault
    from tests.connector import builders

    with _db(app) as s:
        builders.installation(s, Vault(app.config["HEALTHSCORE"]), tenants["acme"].id)
    ep_id = _endpoint(app, tenants)
    acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})

    def asks(path: str, action: str) -> str:
        page = acme_admin.get(path).get_data(as_text=True)
        form = re.search(rf'<form method="post" action="[^"]*/{action}"[^>]*>', page)
        assert form is not None, (path, action)
        found = re.search(r'data-confirm="([^"]+)"', form.group(0))
        assert found is not None, f"{action} on {path} does not ask first"
        return found.group(1)

    assert "Syncing and write-back" in asks("/admin/integrations", "disconnect")
    assert "Warehouse" in asks("/admin/keys", "revoke")
    assert "cannot be undone" in asks(f"/admin/webhooks/{ep_id}", "delete")
    assert "new signing secret" in asks(f"/admin/webhooks/{ep_id}", "rotate")
    assert "creates CRM tasks now" in asks("/admin/plays", "enabled")


def test_a_session_ended_elsewhere_says_so_on_the_sign_in_page(
    acme_admin: Any, client: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """Signed out everywhere from another device, the next click landed on a bare sign-in page: no word on
    why, and a form sent then was dropped silently."""
    from connector.installs import users as auth

    assert acme_admin.get("/admin/plays").status_code == 200
    with _db(app) as s:
        auth.end_all_sessions(s, tenants["acme"].admin_id)
    resp = acme_admin.get("/admin/plays?edit=1")
    assert resp.status_code == 302
    assert resp.location == "/login?next=/admin/plays?edit%3D1"
    page = acme_admin.get(resp.location).get_data(as_text=True)
    assert "Your session has ended" in page
    assert "Your session has ended" not in acme_admin.get("/login").get_data(as_text=True)  # said once
    from tests.connector.web.seed import sign_in_as

    sign_in_as(acme_admin, tenants["acme"], "admin")
    with _db(app) as s:
        auth.end_all_sessions(s, tenants["acme"].admin_id)
    sent = acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})
    assert sent.status_code == 302
    assert sent.location == "/login"  # a POST-only address is no place to come back to
    assert "so that was not saved" in acme_admin.get("/login").get_data(as_text=True)
    assert acme_admin.get("/").location == "/login?next=/"  # no cookie left: no word, and no stray '?'


def test_the_audit_log_names_what_its_entries_store_as_ids(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """The log showed `key:7` for a revoked key (its creation said `key:<prefix>`, so the two did not even
    match), `endpoint:3`, `play 1`, `account:57` and details such as `crm_account_id=12
    previous={'crm_account_id': None, 'method': …}`."""
    from connector.installs.vault import Vault
    from connector.store.repo import audit
    from tests.connector import builders

    acme = tenants["acme"]
    made = acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})
    assert made.status_code == 303
    ep_id = _endpoint(app, tenants)
    with _db(app) as s:
        key = s.scalars(
            select(m.ApiKey).where(m.ApiKey.tenant_id == acme.id, m.ApiKey.name == "Warehouse")
        ).one()
        key_id, prefix = key.id, key.prefix
        gone_id = builders.endpoint(
            s, Vault(app.config["HEALTHSCORE"]), acme.id, "https://old.example.com/in", ["whsec_" + "B" * 44]
        )
        crm_name, crm_id = next(iter(acme.accounts.items()))
        org_name = s.get(m.Account, acme.org_id).name
        audit(s, acme.id, "admin@acme.test", "link.confirmed", f"account:{acme.org_id}", crm_account_id=crm_id,
              previous=None)  # fmt: skip
    assert acme_admin.post(f"/admin/keys/{key_id}/revoke").status_code == 303
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/toggle").status_code == 303
    assert acme_admin.post(f"/admin/webhooks/{gone_id}/delete").status_code == 303
    acme_admin.get("/admin/plays")  # the starter play
    with _db(app) as s:
        play_id = s.scalars(select(m.Play.id).where(m.Play.tenant_id == acme.id)).one()
    assert acme_admin.post(f"/admin/plays/{play_id}/enabled", data={"enabled": "1"}).status_code == 302
    page = acme_admin.get("/admin/audit").get_data(as_text=True)
    assert f"key:{key_id}<" not in page
    assert page.count(f"“Warehouse” (hsk_{prefix}_…)") == 2  # created and revoked, named alike
    assert f'https://hooks.example.com/hs <span class="kv muted small">endpoint:{ep_id}</span>' in page
    assert (
        f'https://old.example.com/in <span class="kv muted small">endpoint:{gone_id}</span>' in page
    )  # deleted
    assert f'“Enters red” <span class="kv muted small">play {play_id}</span>' in page
    assert f"{org_name} <span" in page
    assert f"linked to:</span> {crm_name}" in page
    assert "before:</span> not linked" in page
    assert "crm_account_id" not in page
    assert "previous=" not in page
    found = acme_admin.get(f"/admin/audit?q=endpoint:{ep_id}").get_data(as_text=True)
    assert "https://hooks.example.com/hs" in found  # the filter still finds the stored target


def test_a_taken_draft_name_on_the_weights_form_is_told_in_the_forms_words(acme_admin: Any) -> None:
    """The weights form has a Draft name field; a taken name answered "change `version:` for a new draft",
    the YAML view's line, which this form does not show."""
    import re

    page = acme_admin.get("/admin/model").get_data(as_text=True)
    weights = dict(re.findall(r'name="(w:[^"]+)" id="[^"]+" value="([^"]+)"', page))
    form = {**weights, "mode": "form", "version": "acme-taken", "action": "save"}
    assert acme_admin.post("/admin/model", data=form).status_code == 303
    again = acme_admin.post("/admin/model", data=form)
    html = again.get_data(as_text=True)
    assert again.status_code == 400
    assert "A draft named “acme-taken” exists already: type another draft name" in html
    assert "`version:`" not in html
    assert 'value="acme-taken"' in html  # the name typed is still there to change


def test_week_on_week_metrics_carry_their_units(app: Any) -> None:
    """The account page's "This week vs last week" printed every metric as a bare two-decimal number:
    0.15 for 15 % of seats in use, 262.58 for hours, 191.00 for days, 0.00 for a count of open tickets."""
    from datetime import UTC, datetime

    from flask import render_template

    from connector.readmodels.week_on_week import compare
    from scoring.config import load_default_model

    now = datetime(2026, 11, 1, tzinfo=UTC)
    metrics = {"seat_utilisation": 0.15, "resolution_hours_median_90d": 262.58, "days_to_renewal": 191.0,
               "open_tickets": 2.0, "csat_avg_90d": 4.25, "arr_change_pct": -17.27, "nps_score": -100.0}  # fmt: skip
    old = m.ScoreSnapshot(
        as_of=now - timedelta(days=7), score=60.0, dimensions={"support": 60.0}, metrics=metrics
    )
    new = m.ScoreSnapshot(as_of=now, score=60.0, dimensions={"support": 50.0}, metrics=metrics)
    wow = compare(new, old, load_default_model())
    units = {x.name: x.unit for x in wow.metrics}
    missing = [name for name in metrics if name not in units]
    assert not missing, missing  # every metric named above is in the default model
    with app.test_request_context():
        html = render_template("ui/_week_on_week.html", wow=wow)
    for shown in ("15 % of seats", "262.6 h", "191 days", ">2<", "4.2/5", "-17.3 %", "-100<"):
        assert shown in html, shown
    for bare in ("0.15<", "262.58", "191.00", "2.00<"):
        assert bare not in html, bare
    assert 'title="hours, median time to resolution, last 90 days"' in html  # the definition on the name
    assert "Dimensions score 0\u2013100" in html


def test_saving_a_play_says_it_stays_off(acme_admin: Any) -> None:
    """'Saved “X”. Turning it on now: would create 19 tasks …' read as if saving had turned it on."""
    acme_admin.get("/admin/plays")
    saved = acme_admin.post("/admin/plays", data={"name": "Walk play", "to_band": "red", "due_days": "3"})
    assert saved.status_code == 302
    page = acme_admin.get("/admin/plays").get_data(as_text=True)
    assert "Saved “Walk play”. It is off; turned on now, it would create 0 tasks" in page
    assert "Turning it on now" not in page


def test_a_rotation_in_progress_can_be_finished_from_the_endpoint_page(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """After Rotate secret, the endpoint's page (opened again from the list) said nothing of the rotation
    and had no 'Stop signing with the old secret' button: only the rotate answer itself showed them."""
    ep_id = _endpoint(app, tenants)
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert "Stop signing with the old secret" not in page  # one secret: nothing to finish
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/rotate").status_code == 303
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert "Rotation in progress" in page
    assert "Stop signing with the old secret" in page
    done = acme_admin.post(f"/admin/webhooks/{ep_id}/finish-rotation")
    assert done.status_code == 303
    page = acme_admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "Only the newest secret signs now." in page
    assert "Stop signing with the old secret" not in page


def test_sync_now_after_passes_reads_as_a_sync(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any, monkeypatch: Any
) -> None:
    """In the demo (set up by `healthscore demo`, scored by passes, no set-up run), Sync now opened
    'Setting up Zendesk: … create the health fields' for a vendor synced and scored many times over."""
    from connector.installs import onboarding
    from connector.store import repo as store
    from tests.connector.web.test_admin_plays import _connect_salesforce

    monkeypatch.setattr(
        onboarding, "start", lambda settings, tid, vendor, background=True: _started(app, tid)
    )
    acme = tenants["acme"]
    _connect_salesforce(app, acme.id)
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with _db(app) as s:
        run_id = store.start_run(s, acme.id, "pass").run_id
    store.finish_run(url, acme.id, run_id, "ok", {})
    where = acme_admin.post("/admin/integrations/salesforce/sync").headers["Location"]
    page = acme_admin.get(where).get_data(as_text=True)
    assert "<title>Syncing Salesforce" in page
    assert "Setting up" not in page


def _started(app: Any, tenant_id: int) -> str:
    from connector.store import repo as store

    with _db(app) as s:
        run = store.start_run(s, tenant_id, "install")
        run.report = {"vendor": "salesforce"}
        return run.run_id


def test_why_this_score_says_what_its_numbers_are_out_of(
    acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """'Product usage 0, Support experience 13, Commercial 32' beside a score of 11: nothing said these are
    dimension scores out of 100 that the score averages."""
    acc = tenants["acme"].accounts["Acme Yellow Corp"]
    page = acme_viewer.get(f"/accounts/{acc}").get_data(as_text=True)
    assert '<table class="dims">' in page
    assert "Each dimension scores 0 to 100; the health score is their weighted average" in page


def test_the_delivery_log_says_it_shows_the_newest_only(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """The demo's endpoint had 1,459 deliveries; its page listed 50 with nothing saying there were more."""
    acme = tenants["acme"]
    ep_id = _endpoint(app, tenants)
    with _db(app) as s:
        for i in range(53):
            event = m.WebhookEvent(tenant_id=acme.id, msg_id=f"msg_walk{i:03d}", type="account.band_changed",
                                   payload={}, created_at=NOW)  # fmt: skip
            s.add(event)
            s.flush()
            s.add(m.WebhookDelivery(tenant_id=acme.id, endpoint_id=ep_id, event_id=event.id, status="delivered",
                                    attempts=1, next_attempt_at=NOW, created_at=NOW, updated_at=NOW))  # fmt: skip
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert "The newest 50 of 53 deliveries." in page


def test_a_paused_endpoint_reads_as_paused(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    """The button says Pause; the endpoint then showed a red 'disabled' chip and 'disabled by <e-mail>', the
    words the delivery module uses for an endpoint it gave up on after failures."""
    ep_id = _endpoint(app, tenants)
    acme_admin.post(f"/admin/webhooks/{ep_id}/toggle")
    for page in (acme_admin.get(f"/admin/webhooks/{ep_id}"), acme_admin.get("/admin/webhooks/")):
        html = page.get_data(as_text=True)
        assert '<span class="chip chip-pending">paused</span>' in html
        assert ">disabled<" not in html
        assert "Paused by admin@acme.test; events queue until it is enabled again." in html


def test_changing_a_role_asks_first(acme_admin: Any, tenants: dict[str, TenantData]) -> None:
    """Change role signs the person out everywhere; it went off on one click (Remove asked first)."""
    import re

    page = acme_admin.get("/admin/users").get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="/admin/users/\d+/role"[^>]*>', page)
    assert forms
    assert all("data-confirm=" in f and "Their open sessions end" in f for f in forms)


def test_the_play_form_stands_apart_from_the_plays_table(acme_admin: Any) -> None:
    """The New play card sat flush against the plays table, their borders touching."""
    page = acme_admin.get("/admin/plays").get_data(as_text=True)
    assert '<section class="card spaced-top" id="play-form">' in page
    assert page.index("</table></div>") < page.index('id="play-form"')
