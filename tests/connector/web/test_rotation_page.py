"""The endpoint page says when a rotation ends ("the old secret stops signing on … (in 23 hours)"), the rotate
form and the API choose its length (1 hour to 7 days, 24 hours by default), and a lapsed rotation is
finished when the page or the API reads the endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs.vault import Vault
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, bearer

URL = "https://93.184.216.34/hooks/rotation"


def _url(app: Any) -> str:
    return str(app.config["HEALTHSCORE"].sqlalchemy_url)


def _make(admin: Any, app: Any) -> int:
    assert (
        admin.post("/admin/webhooks/", data={"url": URL, "event_types": ["account.band_changed"]}).status_code
        == 303
    )
    with transaction(_url(app)) as session:
        ep_id = session.scalar(select(m.WebhookEndpoint.id).where(m.WebhookEndpoint.url == URL))
        assert ep_id is not None
        return int(ep_id)


def _row(app: Any, ep_id: int) -> tuple[int, datetime | None]:
    with transaction(_url(app)) as session:
        ep = session.get(m.WebhookEndpoint, ep_id)
        assert ep is not None
        return len(Vault(app.config["HEALTHSCORE"]).decrypt_json(ep.secrets_enc)), ep.rotation_ends_at


def _set_end(app: Any, ep_id: int, ends: datetime) -> None:
    with transaction(_url(app)) as session:
        ep = session.get(m.WebhookEndpoint, ep_id)
        assert ep is not None
        ep.rotation_ends_at = ends


def _note(page: str) -> str:
    return page.split('id="rotation-note"', 1)[1].split("</p>", 1)[0]


def test_the_page_says_when_the_old_secret_stops_signing(acme_admin: Any, app: Any) -> None:
    ep_id = _make(acme_admin, app)
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert 'name="hours"' in page  # the rotate form offers the length
    assert 'id="rotation-note"' not in page
    rotated = acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", follow_redirects=True).get_data(as_text=True)
    signing, ends = _row(app, ep_id)
    assert signing == 2
    assert ends is not None
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    assert "The old secret stops signing on " in _note(rotated)
    assert ends.strftime("%d %b %Y %H:%M UTC") in _note(rotated)
    assert "(in 24 hours)" in _note(rotated)
    _set_end(app, ep_id, datetime.now(UTC) + timedelta(hours=23, minutes=10))
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert "(in 23 hours)" in _note(page)
    assert "Stop signing with the old secret" in page  # "Finish now" is still offered
    _set_end(app, ep_id, datetime.now(UTC) + timedelta(days=3, hours=1))
    assert "(in 3 days)" in _note(acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True))
    _set_end(app, ep_id, datetime.now(UTC) + timedelta(minutes=40, seconds=10))
    assert "(in 40 minutes)" in _note(acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True))


def test_the_form_chooses_the_length_and_refuses_one_out_of_bounds(acme_admin: Any, app: Any) -> None:
    ep_id = _make(acme_admin, app)
    for bad in ("0", "169", "abc", "-3"):
        answer = acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", data={"hours": bad})
        assert answer.status_code == 400
        text = answer.get_data(as_text=True)
        assert "between 1 hour and 7 days (168 hours)" in text
        assert 'id="new-secret"' not in text
        assert _row(app, ep_id) == (1, None)
    done = acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", data={"hours": "6"}, follow_redirects=True)
    assert done.status_code == 200
    _, ends = _row(app, ep_id)
    assert ends is not None
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=6))) < timedelta(minutes=1)
    assert "(in 6 hours)" in _note(done.get_data(as_text=True))


def test_a_lapsed_rotation_is_finished_when_the_page_is_read_and_logged_once(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    ep_id = _make(acme_admin, app)
    acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", data={"hours": "1"})
    _set_end(app, ep_id, datetime.now(UTC) - timedelta(seconds=1))
    for _ in range(2):
        page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
        assert 'id="rotation-note"' not in page
        assert "Stop signing with the old secret" not in page
    assert _row(app, ep_id) == (1, None)
    with transaction(_url(app)) as session:
        entries = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.tenant_id == tenants["acme"].id,
                m.AuditEntry.action == "webhook.rotation_finished",
            )
        ).all()
        assert [(e.actor, e.detail["automatic"]) for e in entries] == [("healthscore", True)]


def test_the_api_rotates_for_a_chosen_length_and_says_when_it_ends(
    client: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    key = bearer(tenants["acme"].admin_key)
    created = client.post("/api/v1/webhooks", json={"url": URL}, headers=key).get_json()
    assert created["rotation_ends_at"] is None
    plain = client.post(f"/api/v1/webhooks/{created['id']}/rotate", headers=key)  # no body: 24 hours
    assert plain.status_code == 200
    ends = datetime.fromisoformat(plain.get_json()["rotation_ends_at"])
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    chosen = client.post(f"/api/v1/webhooks/{created['id']}/rotate", json={"hours": 2}, headers=key)
    assert chosen.status_code == 200
    ends = datetime.fromisoformat(chosen.get_json()["rotation_ends_at"])
    assert abs(ends - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)
    got = client.get(f"/api/v1/webhooks/{created['id']}", headers=key).get_json()
    assert got["rotation_ends_at"] == chosen.get_json()["rotation_ends_at"]


@pytest.mark.parametrize("hours", [0, 169])
def test_the_api_refuses_a_length_out_of_bounds(
    client: Any, tenants: dict[str, TenantData], hours: int
) -> None:
    key = bearer(tenants["acme"].admin_key)
    created = client.post("/api/v1/webhooks", json={"url": URL}, headers=key).get_json()
    refused = client.post(f"/api/v1/webhooks/{created['id']}/rotate", json={"hours": hours}, headers=key)
    assert refused.status_code == 400
    assert "hours" in repr(refused.get_json())
    got = client.get(f"/api/v1/webhooks/{created['id']}", headers=key).get_json()
    assert got["rotation_ends_at"] is None


def test_the_endpoints_list_says_which_rotations_are_in_progress(acme_admin: Any, app: Any) -> None:
    ep_id = _make(acme_admin, app)
    listed = acme_admin.get("/admin/webhooks/").get_data(as_text=True)
    assert "rotating" not in listed
    # an end set but one secret (what migration 0017 leaves on every endpoint): no rotation to show
    _set_end(app, ep_id, datetime.now(UTC) + timedelta(hours=20))
    assert "rotating" not in acme_admin.get("/admin/webhooks/").get_data(as_text=True)
    acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", data={"hours": "6"})
    listed = acme_admin.get("/admin/webhooks/").get_data(as_text=True)
    row = listed.split(URL, 1)[1].split("</tr>", 1)[0]
    assert "rotating: old secret stops in 6 hours" in row
