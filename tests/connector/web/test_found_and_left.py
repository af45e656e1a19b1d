"""Items the UX walk found and left (notes/report-ux.md): the favicon, the week-on-week verdict of
values that read the same, a scoring-model draft identical to the live model, and Reconnect's form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.readmodels.week_on_week import compare
from connector.store import models as m
from scoring.config import load_default_model
from tests.connector.web.seed import TenantData

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_favicon_is_served_with_caching_headers(client: Any) -> None:
    """Browsers ask for /favicon.ico on raw JSON pages (/api/openapi.json): it answered 404."""
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.mimetype.startswith("image/")
    assert b"<svg" in r.data
    assert "max-age=" in r.headers.get("Cache-Control", "")


def _snap(as_of: datetime, metrics: dict[str, float]) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(as_of=as_of, score=60.0, dimensions={"support": 60.0}, metrics=metrics)


def test_values_that_read_the_same_have_no_better_or_worse(app: Any) -> None:
    """'Ticket rate 2.5 → 2.5 a month, index 99, better': the change (0.03) passed the flat threshold
    but not the rounding of the values shown. The page says 'no change'; the API keeps its verdict."""
    from flask import render_template

    old = _snap(NOW - timedelta(days=7), {"ticket_rate_365d": 2.52, "csat_avg_90d": 4.0})
    new = _snap(NOW, {"ticket_rate_365d": 2.49, "csat_avg_90d": 3.5})
    wow = compare(new, old, load_default_model())
    rate = next(x for x in wow.metrics if x.name == "ticket_rate_365d")
    assert rate.verdict == "better"  # the API's verdict, unchanged
    with app.test_request_context():
        html = render_template("ui/_week_on_week.html", wow=wow)
    row = next(line for line in html.splitlines() if "2.5 a month" in line)
    assert row.count("2.5 a month") == 2
    assert "better" not in row
    assert "worse" not in row
    assert "no change" in row
    csat = next(line for line in html.splitlines() if "4.0/5" in line)
    assert "worse" in csat  # a change that shows keeps its verdict


# --- Reconnect without oauth-apps.json / OAUTH_APPS: the installation's own URL, client id and secret ---


def _saved_zendesk(app: Any, tenant: TenantData, sandbox: Any) -> dict[str, str]:
    """A Zendesk installation saved by an earlier connect (the sandbox's app), as the callback stores it."""
    from connector.installs.vault import Vault
    from connector.store.db import transaction

    creds = sandbox.credentials()
    base = creds["zendesk"]["base_url"].rstrip("/")
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=tenant.id,
                vendor="zendesk",
                base_url=base,
                token_url=base + "/oauth/tokens",
                client_id=creds["zendesk"]["client_id"],
                client_secret_enc=Vault(app.config["HEALTHSCORE"]).encrypt(creds["zendesk"]["client_secret"]),
                ca_file=creds["ca_file"],
                status="reconnect",
                created_at=NOW,
            )
        )
    return {
        "base_url": base,
        "client_id": creds["zendesk"]["client_id"],
        "secret": creds["zendesk"]["client_secret"],
        "ca_file": creds["ca_file"],
    }


def test_reconnect_prefills_the_saved_app_and_never_shows_its_secret(
    acme_admin: Any, app: Any, tenants: dict[str, TenantData], sandbox: Any
) -> None:
    saved = _saved_zendesk(app, tenants["acme"], sandbox)
    page = acme_admin.get("/admin/integrations/zendesk/connect").get_data(as_text=True)
    assert f'value="{saved["base_url"]}"' in page
    assert f'value="{saved["client_id"]}"' in page
    assert saved["secret"] not in page
    assert "Leave blank to keep the secret saved on 01 Nov 2026" in page


def test_reconnect_with_a_blank_secret_keeps_the_saved_one(
    acme_admin: Any,
    app: Any,
    tenants: dict[str, TenantData],
    sandbox: Any,
    sandbox_http: Any,
    caplog: Any,
    monkeypatch: Any,
) -> None:
    """Same workspace, same URL and client id: the state-bound, PKCE start goes to the vendor with the
    saved secret, and the callback's token exchange (which checks the secret) succeeds."""
    from urllib.parse import parse_qs, urlsplit

    from connector.installs import onboarding

    monkeypatch.setattr(onboarding, "start", lambda *a, **k: "run-x")
    caplog.set_level("DEBUG")
    saved = _saved_zendesk(app, tenants["acme"], sandbox)
    form = {"base_url": saved["base_url"], "client_id": saved["client_id"], "client_secret": ""}
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data={**form, "ca_file": saved["ca_file"]})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    assert resp.location.startswith(saved["base_url"] + "/oauth/authorizations/new?")
    query = parse_qs(urlsplit(resp.location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert saved["secret"] not in resp.location
    parts = urlsplit(resp.location)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    consent = sandbox_http.post(
        f"{parts.scheme}://{parts.netloc}/oauth/authorizations/new",
        data={**params, "decision": "allow"},
        allow_redirects=False,
    )
    back = urlsplit(consent.headers["Location"])
    done = acme_admin.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    assert "/progress/" in done.location
    assert saved["secret"] not in caplog.text


@pytest.mark.parametrize("changed", ["client_id", "base_url"])
def test_a_changed_app_with_a_blank_secret_asks_for_the_secret(
    changed: str, acme_admin: Any, app: Any, tenants: dict[str, TenantData], sandbox: Any
) -> None:
    saved = _saved_zendesk(app, tenants["acme"], sandbox)
    form = {"base_url": saved["base_url"], "client_id": saved["client_id"], "client_secret": ""}
    form[changed] = "other-client" if changed == "client_id" else "https://other.zendesk.com"
    resp = acme_admin.post("/admin/integrations/zendesk/connect", data={**form, "ca_file": saved["ca_file"]})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "differ from the saved connection" in page
    assert "enter the client secret" in page
    assert saved["secret"] not in page


def test_another_workspaces_saved_secret_is_never_used(
    client: Any, app: Any, tenants: dict[str, TenantData], sandbox: Any
) -> None:
    from tests.connector.web.seed import sign_in_as

    saved = _saved_zendesk(app, tenants["acme"], sandbox)
    sign_in_as(client, tenants["globex"], "admin")
    page = client.get("/admin/integrations/zendesk/connect").get_data(as_text=True)
    assert saved["client_id"] not in page
    assert "keep the secret" not in page
    form = {"base_url": saved["base_url"], "client_id": saved["client_id"], "client_secret": ""}
    resp = client.post("/admin/integrations/zendesk/connect", data={**form, "ca_file": saved["ca_file"]})
    assert resp.status_code == 400
    assert "enter the client secret" in resp.get_data(as_text=True)


def test_a_non_admin_cannot_start_a_reconnect(
    acme_viewer: Any, app: Any, tenants: dict[str, TenantData], sandbox: Any
) -> None:
    saved = _saved_zendesk(app, tenants["acme"], sandbox)
    form = {"base_url": saved["base_url"], "client_id": saved["client_id"], "client_secret": ""}
    resp = acme_viewer.post("/admin/integrations/zendesk/connect", data=form)
    assert resp.status_code in (302, 403)
    assert "authorizations" not in (resp.location or "")


@pytest.mark.parametrize(
    ("vendor", "base_url", "token_url", "shown"),
    [
        # HubSpot stores its API host; the form's URL is the app host (API URL in its own field).
        (
            "hubspot",
            "https://api.hubapi.com",
            "https://api.hubapi.com/oauth/v1/token",
            ['value="https://app.hubspot.com"', 'value="https://api.hubapi.com"'],
        ),
        # Salesforce stores the instance URL; the form's URL is the login host the token URL was on.
        (
            "salesforce",
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/services/oauth2/token",
            ['value="https://login.salesforce.com"'],
        ),
    ],
)
def test_reconnect_prefills_the_forms_own_url(
    vendor: str, base_url: str, token_url: str, shown: list[str], acme_admin: Any, app: Any, tenants: Any
) -> None:
    from connector.installs.vault import Vault
    from connector.store.db import transaction

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        session.add(
            m.Installation(
                tenant_id=tenants["acme"].id,
                vendor=vendor,
                base_url=base_url,
                token_url=token_url,
                client_id="the-client",
                client_secret_enc=Vault(app.config["HEALTHSCORE"]).encrypt("s3cret-value"),
                status="reconnect",
                created_at=NOW,
            )
        )
    page = acme_admin.get(f"/admin/integrations/{vendor}/connect").get_data(as_text=True)
    for value in shown:
        assert value in page
    assert 'value="the-client"' in page
    assert "s3cret-value" not in page


# --- A scoring-model draft identical to the live model: nothing to publish ---


def _default_yaml(version: str) -> str:
    import re
    from importlib.resources import files

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    return re.sub(r"(?m)^version:.*$", f"version: {version}", text, count=1)


def _saved(admin: Any, text: str) -> int:
    saved = admin.post("/admin/model", data={"yaml": text, "action": "save"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:300]
    return int(saved.location.rsplit("/", 1)[1])


def test_a_draft_identical_to_the_live_model_cannot_be_published(acme_admin: Any, app: Any) -> None:
    """The seeded workspace's live model is the packaged default: a draft of it under another name was
    saved with 'No weight or band differs' and could be published."""
    from connector.store.db import transaction

    def published() -> list[int]:
        with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
            return [r.id for r in session.query(m.ScoringModelVersion).filter_by(status="published")]

    same = _saved(acme_admin, _default_yaml("acme-same"))
    live = published()
    assert live  # saving the first draft records the packaged model as the live one
    page = acme_admin.get(f"/admin/model/{same}").get_data(as_text=True)
    assert "identical to the live model" in page
    assert "nothing to publish" in page
    assert f"/admin/model/{same}/publish" not in page  # no Publish form, only a disabled button
    assert "disabled>Publish acme-same</button>" in page
    refused = acme_admin.post(f"/admin/model/{same}/publish", follow_redirects=True)
    assert "nothing to publish" in refused.get_data(as_text=True)
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.get(m.ScoringModelVersion, same).status == "draft"
    assert published() == live
    # A real change publishes as before.
    changed = _saved(acme_admin, _default_yaml("acme-changed").replace("  top_n: 3", "  top_n: 4"))
    page = acme_admin.get(f"/admin/model/{changed}").get_data(as_text=True)
    assert "identical to the live model" not in page
    assert acme_admin.post(f"/admin/model/{changed}/publish").status_code == 303
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        assert session.get(m.ScoringModelVersion, changed).status == "published"


@pytest.mark.parametrize("vendor", ["salesforce", "hubspot", "zendesk"])
def test_reconnect_sends_the_prefilled_form_back_with_a_blank_secret(
    vendor: str, acme_admin: Any, sandbox: Any, sandbox_http: Any, monkeypatch: Any, app: Any
) -> None:
    """Connect through the vendor sandbox with the full form, then Reconnect: the form as prefilled from what
    the callback stored, with the secret left blank, goes through the vendor's consent and token exchange."""
    import re
    from urllib.parse import parse_qs, urlsplit

    from connector.installs import onboarding

    monkeypatch.setattr(onboarding, "start", lambda *a, **k: "run-x")
    creds = sandbox.credentials()

    def connect(form: dict[str, str]) -> Any:
        resp = acme_admin.post(f"/admin/integrations/{vendor}/connect", data=form)
        assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
        parts = urlsplit(resp.location)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        consent = sandbox_http.post(
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            data={**params, "decision": "allow"},
            allow_redirects=False,
        )
        back = urlsplit(consent.headers["Location"])
        return acme_admin.get(f"{back.path}?{back.query}")

    first = connect(
        {
            "base_url": creds[vendor]["base_url"],
            "client_id": creds[vendor]["client_id"],
            "client_secret": creds[vendor]["client_secret"],
            "ca_file": creds["ca_file"],
        }
    )
    assert first.status_code == 302
    page = acme_admin.get(f"/admin/integrations/{vendor}/connect").get_data(as_text=True)
    assert creds[vendor]["client_secret"] not in page
    form = dict(re.findall(r'name="(base_url|api_base_url|client_id|ca_file)" value="([^"]*)"', page))
    assert form["client_id"] == creds[vendor]["client_id"]
    again = connect({**form, "client_secret": ""})
    assert again.status_code == 302, again.get_data(as_text=True)[:800]
    assert "/progress/" in again.location
