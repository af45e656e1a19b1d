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


def _pending(app: Any, email: str) -> Any:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        user = session.scalars(select(m.User).where(m.User.email == email)).one()
        session.expunge(user)
        return user


def test_a_new_invitation_link_replaces_the_old_one_and_is_shown_once(
    acme_admin: Any, client: Any, tenants: Any, app: Any
) -> None:
    """An invitation link shown once could not be shown again: "New link" on the person's row makes a new
    one (the old one stops working, the week starts again) and shows it once."""
    first = acme_admin.get(_make_invite(acme_admin).location).get_data(as_text=True)
    old = _secret_between(first, 'id="invite-link"').rsplit("/invite/", 1)[1]
    pending = _pending(app, "new.person@acme.test")
    users = acme_admin.get("/admin/users").get_data(as_text=True)
    action = f'action="/admin/users/{pending.id}/new-invite-link"'
    assert action in users
    assert "The link sent before stops working" in users.split(action, 1)[1].split("</form>", 1)[0]
    assert f'action="/admin/users/{tenants["acme"].viewer_id}/new-invite-link"' not in users  # active
    # the link has expired meanwhile: the new one gets a week of its own
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        user = session.get(m.User, pending.id)
        user.created_at = user.created_at - auth.INVITE_TTL - timedelta(minutes=1)
    assert "expired" in auth.invite_problems(_session(app), old)[0]
    sent = acme_admin.post(f"/admin/users/{pending.id}/new-invite-link")
    assert sent.status_code == 303
    assert "reveal=" in sent.location
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert "New invitation link for new.person@acme.test" in page
    assert "will not be shown again" in page
    new = _secret_between(page, 'id="invite-link"').rsplit("/invite/", 1)[1]
    assert new != old
    assert auth.invite_problems(_session(app), new) == []
    assert "invalid or was already used" in auth.invite_problems(_session(app), old)[0]
    reloaded = acme_admin.get(sent.location).get_data(as_text=True)
    assert new not in reloaded
    assert "click “New link” in the person" in reloaded
    assert "user.invite_renewed" in acme_admin.get("/admin/audit").get_data(as_text=True)
    # an active person has no invitation to renew; another workspace's pending person is not found
    refused = acme_admin.post(
        f"/admin/users/{tenants['acme'].viewer_id}/new-invite-link", follow_redirects=True
    ).get_data(as_text=True)
    assert "no open invitation for that user" in refused
    sign_in_as(client, tenants["globex"], "admin")
    assert "no open invitation" in client.post(
        f"/admin/users/{pending.id}/new-invite-link", follow_redirects=True
    ).get_data(as_text=True)
    assert auth.invite_problems(_session(app), new) == []  # unchanged by globex's attempt
