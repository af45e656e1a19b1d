"""The notice that a secret shown once is not shown again names what it was for (the API key's name, the
endpoint's URL, the invited person's address), so an admin knows which one to replace or rotate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from connector.store import models as m
from connector.store.db import transaction

ENDPOINT_URL = "https://93.184.216.34/hooks/named"


def _notice(page: str) -> str:
    return page.split('id="reveal-gone">', 1)[1].split("</div>", 1)[0]


def _twice(admin: Any, sent: Any) -> str:
    """Open the address the POST sent to (the secret is shown), then again: the notice."""
    assert sent.status_code == 303
    where = sent.headers["Location"]
    admin.get(where)
    return _notice(admin.get(where).get_data(as_text=True))


def test_a_reloaded_api_key_page_names_the_key(acme_admin: Any) -> None:
    notice = _twice(acme_admin, acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"}))
    assert "already shown once" in notice
    assert notice.startswith("The new key “Warehouse” was already shown once")
    assert "revoke that key and create a new one" in notice


def test_a_reloaded_endpoint_page_names_the_endpoint(acme_admin: Any) -> None:
    sent = acme_admin.post(
        "/admin/webhooks/", data={"url": ENDPOINT_URL, "event_types": ["account.band_changed"]}
    )
    notice = _twice(acme_admin, sent)
    assert "already shown once" in notice
    assert ENDPOINT_URL in notice


def test_a_reloaded_rotation_page_names_the_endpoint(acme_admin: Any, app: Any) -> None:
    acme_admin.post("/admin/webhooks/", data={"url": ENDPOINT_URL, "event_types": ["account.band_changed"]})
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        ep_id = session.scalar(select(m.WebhookEndpoint.id).where(m.WebhookEndpoint.url == ENDPOINT_URL))
    notice = _twice(acme_admin, acme_admin.post(f"/admin/webhooks/{ep_id}/rotate"))
    assert "already shown once" in notice
    assert ENDPOINT_URL in notice


def test_a_reloaded_invitation_names_the_person(acme_admin: Any) -> None:
    sent = acme_admin.post("/admin/users/invite", data={"email": "new.person@acme.test", "role": "viewer"})
    assert "new.person@acme.test" in _twice(acme_admin, sent)


def test_a_reveal_not_opened_in_time_names_the_key(acme_admin: Any, app: Any) -> None:
    where = acme_admin.post("/admin/keys", data={"name": "Nightly sync", "scope": "read"}).headers["Location"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for row in session.scalars(select(m.OneTimeReveal)):
            session.execute(
                update(m.OneTimeReveal)
                .where(m.OneTimeReveal.id == row.id)
                .values(created_at=row.created_at - timedelta(minutes=11))
            )
    notice = _notice(acme_admin.get(where).get_data(as_text=True))
    assert "not opened within 10 minutes" in notice
    assert "“Nightly sync”" in notice
    assert "hsk_" not in notice


def test_another_person_is_not_told_the_name(client: Any, tenants: Any, app: Any) -> None:
    from tests.connector.web.seed import sign_in_as

    sign_in_as(client, tenants["acme"], "admin")
    where = client.post("/admin/keys", data={"name": "Secret project", "scope": "read"}).headers["Location"]
    client.get(where)
    sign_in_as(client, tenants["globex"], "admin")
    page = client.get(where).get_data(as_text=True)
    assert "Secret project" not in page
