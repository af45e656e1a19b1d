"""Walking the one-time secrets as a new admin would: where the page lands, what it says, what it logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connector.installs.vault import Vault
from connector.realtime import inbound as realtime_inbound
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData
from tests.connector.web.test_reveals import CASES


def _salesforce(app: Any, tenant: TenantData, token: str | None) -> None:
    settings = app.config["HEALTHSCORE"]
    vault = Vault(settings)
    with transaction(settings.sqlalchemy_url) as s:
        inst = m.Installation(
            tenant_id=tenant.id, vendor="salesforce", status="connected",
            base_url="https://x.test", token_url="https://x.test/token", client_id="cid",
            client_secret_enc=vault.encrypt("other"), vendor_account="00D5g000004ABCD", settings={},
            created_at=datetime.now(UTC),
        )  # fmt: skip
        if token is not None:
            realtime_inbound.set_inbound_token(inst, vault, token)
        s.add(inst)


@pytest.mark.parametrize("token", [None, "sf-url-token-old-123"], ids=["make", "rotate"])
def test_the_new_inbound_url_is_in_view_and_says_what_stopped(
    token: str | None, acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    _salesforce(app, tenants["acme"], token)
    sent = acme_admin.post("/admin/integrations/salesforce/rotate-inbound")
    assert sent.status_code == 303
    # The redirect lands on the URL shown once (top of the page), not on the Salesforce card below it,
    # which scrolled the only copy of the URL out of a phone's view.
    assert sent.location.endswith("#inbound-url")
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert 'id="inbound-url"' in page
    said = page.split('id="inbound-url"', 1)[1].split("</div>", 1)[0]
    # "the previous URL is refused" only when there was one (Make inbound URL has none)
    assert ("previous URL is refused" in said) is (token is not None)


def test_the_audit_log_reads_the_inbound_url_rotation_as_words(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    _salesforce(app, tenants["acme"], None)
    for _ in range(2):  # made, then replaced
        assert acme_admin.post("/admin/integrations/salesforce/rotate-inbound").status_code == 303
    page = acme_admin.get("/admin/audit").get_data(as_text=True)
    assert "Integration: inbound URL rotated" in page  # as the button says it, not 'inbound url'
    assert "inbound url" not in page
    assert '<span class="muted">replaced:</span> no</td>' in page  # the first made one, replaced nothing
    assert '<span class="muted">replaced:</span> yes</td>' in page
    assert "replaced:</span> True" not in page


def test_the_invitation_page_says_who_it_is_for_and_refusals_read_as_sentences(
    acme_admin: Any, client: Any
) -> None:
    page = acme_admin.post(
        "/admin/users/invite", data={"email": "new.person@acme.test", "role": "viewer"}, follow_redirects=True
    )
    link = page.get_data(as_text=True).split("/invite/")[1].split("<")[0]
    acme_admin.post("/logout")
    shown = client.get(f"/invite/{link}").get_data(as_text=True)
    # The e-mail is the sign-in from now on: the page says it (and gives it to password managers)
    assert "new.person@acme.test" in shown
    assert 'autocomplete="username"' in shown
    assert "hard to guess" in shown  # the rule the form applies, said before a password is typed
    cases = {
        ("violet tractor mango harbor", "violet tractor mango harbxr"): "The two passwords differ.",
        ("short", "short"): "The password needs at least 12 characters.",
        ("password1234", "password1234"): "Choose a password that is harder to guess",
    }
    for (password, confirm), said in cases.items():
        sent = client.post(f"/invite/{link}", data={"password": password, "confirm": confirm})
        assert sent.status_code == 400
        body = sent.get_data(as_text=True)
        assert f'role="alert">{said}' in body  # a sentence, as every other message of the UI
        assert "new.person@acme.test" in body  # still says who it is for
        assert password not in body  # what was typed as a password is never sent back


@pytest.mark.parametrize("kind", [*CASES, "salesforce_inbound"])
def test_every_secret_shown_once_has_a_copy_button(
    kind: str, acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    if kind == "salesforce_inbound":
        _salesforce(app, tenants["acme"], None)
        sent, block = acme_admin.post("/admin/integrations/salesforce/rotate-inbound"), 'id="inbound-url"'
    else:
        make, block, _starts = CASES[kind]
        sent = make(acme_admin)
    shown = acme_admin.get(sent.location).get_data(as_text=True).split(block, 1)[1].split("</div>", 1)[0]
    # The button follows the secret (app.js copies its previous sibling, shows the button and focuses it)
    assert "</code><button" in shown
    assert "data-copy" in shown.split("</code>", 1)[1]


def test_an_expired_secret_says_what_to_do_not_if_you_copied_it(
    acme_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from connector.admin import reveals

    where = acme_admin.post("/admin/keys", data={"name": "Late", "scope": "read"}).location
    later = datetime.now(UTC) + timedelta(minutes=11)  # the admin opens it eleven minutes later
    monkeypatch.setattr(reveals, "utcnow", lambda: later)
    said = acme_admin.get(where).get_data(as_text=True).split('id="reveal-gone">', 1)[1].split("</div>", 1)[0]
    assert "not opened within 10 minutes" in said
    # It was never shown, so "If you did not copy it" cannot apply: the page says what to do instead
    assert "did not copy" not in said
    assert said.endswith("Revoke that key and create a new one.")


def test_a_refused_endpoint_reads_as_a_sentence(acme_admin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.admin import webhooks as webhook_admin

    monkeypatch.setattr(webhook_admin, "MAX_ENDPOINTS", 1)
    form = {"url": "https://93.184.216.34/h1", "event_types": "account.band_changed"}
    assert acme_admin.post("/admin/webhooks/", data=form).status_code == 303
    page = acme_admin.post("/admin/webhooks/", data={**form, "url": "https://93.184.216.34/h2"})
    assert page.status_code == 400
    said = (
        page.get_data(as_text=True).split('class="flash flash-error" role="alert">', 1)[1].split("</div>")[0]
    )
    # as every other message of the page: a capital and a full stop (the CLI prints the same words after 'error: ')
    assert said.startswith("A workspace can have at most 1 webhook endpoints")
    assert said.endswith("send several event types to one endpoint.")
    assert 'value="https://93.184.216.34/h2"' in page.get_data(as_text=True)  # what was typed is kept


def test_the_admin_only_page_says_what_to_do_once(acme_viewer: Any) -> None:
    page = acme_viewer.get("/admin/keys")
    assert page.status_code == 403
    body = page.get_data(as_text=True)
    assert "Only admins can do this." in body
    # 'ask an admin' is the page's "What to do"; the reason said it a second time just above it
    assert body.lower().count("ask an admin of your workspace") == 1


def test_refusals_on_the_users_and_keys_pages_read_as_sentences(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    import re

    def said(answer: Any) -> list[str]:
        return re.findall(r'class="flash flash-error"[^>]*>(.*?)</div>', answer.get_data(as_text=True))

    admin_id, viewer_id = tenants["acme"].admin_id, tenants["acme"].viewer_id
    answers = {
        "invite": acme_admin.post("/admin/users/invite", data={"email": "bad", "role": "viewer"}),
        "taken": acme_admin.post("/admin/users/invite", data={"email": "viewer@acme.test", "role": "viewer"}),
        "key": acme_admin.post("/admin/keys", data={"name": "", "scope": "read"}),
        "last admin": acme_admin.post(
            f"/admin/users/{admin_id}/role", data={"role": "viewer"}, follow_redirects=True
        ),
        "renew": acme_admin.post(f"/admin/users/{viewer_id}/new-invite-link", follow_redirects=True),
    }
    for what, answer in answers.items():
        messages = said(answer)
        assert messages, what
        for text in messages:  # a capital and a full stop, as the UI's own messages
            assert not text[:1].islower(), (what, text)
            assert text.endswith("."), (what, text)


def test_a_message_that_starts_with_a_name_keeps_it_as_written(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    from connector.web.formatting import sentence

    removed = acme_admin.post(f"/admin/users/{tenants['acme'].viewer_id}/remove", follow_redirects=True)
    assert "viewer@acme.test is removed and signed out everywhere." in removed.get_data(as_text=True)
    assert sentence("acme-e2e-1 is published") == "acme-e2e-1 is published."  # a model version
    assert sentence("hsk_ab12 was revoked") == "hsk_ab12 was revoked."
    assert sentence("the two passwords differ") == "The two passwords differ."
