"""Secrets shown once are Post/Redirect/Get: the POST keeps the secret (encrypted, bound to the person and
the workspace, ten minutes) and redirects; the GET shows it once; a reload says it was shown already."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from connector.installs import users as auth
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import bearer, sign_in_as, sign_in_user

ENDPOINT_URL = "https://93.184.216.34/hooks/prg"


def _secret_between(html: str, start: str) -> str:
    """The text of the <code class="secret"> after `start` in the page."""
    after = html.split(start, 1)[1]
    return after.split('<code class="secret', 1)[1].split(">", 1)[1].split("</code>", 1)[0]


def _make_key(admin: Any) -> Any:
    return admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})


def _make_endpoint(admin: Any) -> Any:
    return admin.post("/admin/webhooks/", data={"url": ENDPOINT_URL, "event_types": ["account.band_changed"]})


def _make_invite(admin: Any) -> Any:
    return admin.post("/admin/users/invite", data={"email": "new.person@acme.test", "role": "viewer"})


def _endpoint_id(app: Any) -> int:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        return int(session.scalar(select(m.WebhookEndpoint.id).where(m.WebhookEndpoint.url == ENDPOINT_URL)))


def _rotate(admin: Any) -> Any:
    assert _make_endpoint(admin).status_code == 303  # its reveal stays unread: not the one asked below
    return admin.post(f"/admin/webhooks/{_endpoint_id(admin.application)}/rotate")


# (how to make it, the id of the block that shows it, what the secret starts with)
CASES = {
    "api_key": (_make_key, 'id="new-key"', "hsk_"),
    "webhook_endpoint": (_make_endpoint, 'id="new-secret"', "whsec_"),
    "webhook_rotation": (_rotate, 'id="new-secret"', "whsec_"),
    "invitation": (_make_invite, 'id="invite-link"', "http"),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_secret_is_shown_once_by_the_get_after_the_post(
    kind: str, acme_admin: Any, tenants: Any, app: Any
) -> None:
    make, block, starts = CASES[kind]
    sent = make(acme_admin)
    assert sent.status_code == 303  # not the page with the secret: a reload does not send the form again
    where = sent.headers["Location"]
    assert "reveal=" in where
    assert starts not in sent.get_data(as_text=True)
    page = acme_admin.get(where).get_data(as_text=True)
    secret = _secret_between(page, block)
    assert secret.startswith(starts)
    assert "will not be shown again" in page
    # The row that kept it until now is gone, and a reload of the same address shows no secret
    reveal_id = int(parse_qs(urlsplit(where).query)["reveal"][0])
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.get(m.OneTimeReveal, reveal_id) is None
    again = acme_admin.get(where)
    assert again.status_code == 200
    reloaded = again.get_data(as_text=True)
    assert secret not in reloaded
    assert block not in reloaded
    assert 'id="reveal-gone"' in reloaded
    assert "already shown once and is not shown again" in reloaded
    if kind == "api_key":  # the secret shown is the real one
        assert acme_admin.get("/api/v1/accounts", headers=bearer(secret)).status_code == 200
    if kind == "invitation":
        token = secret.rsplit("/invite/", 1)[1]
        assert auth.invite_problems(_session(app), token) == []


def _session(app: Any) -> Any:
    from connector.store.db import session_factory

    return session_factory(app.config["HEALTHSCORE"].sqlalchemy_url)()


@pytest.mark.parametrize("kind", list(CASES))
def test_another_person_or_workspace_cannot_read_a_reveal(
    kind: str, client: Any, tenants: Any, app: Any
) -> None:
    make, block, _starts = CASES[kind]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        other_admin = auth.create_user(
            session, tenants["acme"].id, "second.admin@acme.test", "admin", password="x" * 12
        ).id
    sign_in_as(client, tenants["acme"], "admin")
    where = make(client).headers["Location"]
    seen = []
    for uid, tid in ((other_admin, tenants["acme"].id), (tenants["globex"].admin_id, tenants["globex"].id)):
        sign_in_user(client, uid, tid)  # another admin of the workspace, an admin of another one
        answer = client.get(where)  # globex: 404 for acme's endpoint page, the page without it otherwise
        assert answer.status_code in (200, 404)
        seen.append(answer.get_data(as_text=True))
        assert block not in seen[-1]
    # Their attempts did not use it up: the one who made it still reads it, once
    sign_in_as(client, tenants["acme"], "admin")
    secret = _secret_between(client.get(where).get_data(as_text=True), block)
    assert len(secret) > 20
    assert not any(secret in page for page in seen)


def _age(session: Any, by: timedelta) -> None:
    for row in session.scalars(select(m.OneTimeReveal)):
        session.execute(
            update(m.OneTimeReveal).where(m.OneTimeReveal.id == row.id).values(created_at=row.created_at - by)
        )


def test_a_reveal_not_opened_within_ten_minutes_is_not_shown(acme_admin: Any, app: Any) -> None:
    where = _make_key(acme_admin).headers["Location"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        _age(session, timedelta(minutes=11))
    page = acme_admin.get(where).get_data(as_text=True)
    assert 'id="new-key"' not in page
    assert "hsk_" not in page.split('id="reveal-gone"')[1].split("</div>")[0]
    assert "not opened within 10 minutes" in page
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.scalar(select(m.OneTimeReveal.id)) is None  # deleted all the same


def test_expired_reveals_are_deleted_when_a_new_one_is_kept(acme_admin: Any, app: Any) -> None:
    _make_key(acme_admin)
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        _age(session, timedelta(minutes=11))
    acme_admin.post("/admin/keys", data={"name": "Second", "scope": "read"})
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert len(session.scalars(select(m.OneTimeReveal)).all()) == 1


@pytest.mark.parametrize("kind", list(CASES))
def test_the_kept_secret_is_encrypted(kind: str, acme_admin: Any, app: Any) -> None:
    make = CASES[kind][0]
    where = make(acme_admin).headers["Location"]
    reveal_id = int(parse_qs(urlsplit(where).query)["reveal"][0])
    settings = app.config["HEALTHSCORE"]
    with transaction(settings.sqlalchemy_url) as session:
        row = session.get(m.OneTimeReveal, reveal_id)
        assert row is not None
        stored, user_id = row.payload_enc, row.user_id
    kept = Vault(settings).decrypt_json(stored)
    secret = kept.get("secret") or kept.get("link")
    assert secret
    assert secret not in stored
    for plain in ("whsec_", "hsk_", "/invite/"):
        assert plain not in stored
    with transaction(settings.sqlalchemy_url) as session:
        assert session.get(m.User, user_id).email == "admin@acme.test"
    # and not in the session cookie either
    cookie = acme_admin.get_cookie("session")
    assert cookie is None or secret not in cookie.value
    assert secret in acme_admin.get(where).get_data(as_text=True)
