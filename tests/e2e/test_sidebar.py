"""The Zendesk sidebar app in Chromium against the real API, with Zendesk's side emulated: a stub ZAF SDK and
a proxy that fills in the secure API-token setting server-side (the key never reaches the page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.installs import users as auth
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from tests.e2e.conftest import Served, shot

pytestmark = pytest.mark.e2e

SIDEBAR = Path(__file__).resolve().parents[2] / "integrations" / "zendesk" / "sidebar" / "assets"
ZAF_URL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"


def _seed(served: Served) -> tuple[str, str, str]:
    """A scored account with a linked Zendesk organization and one negative ticket; an installation key."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with transaction(served.settings.sqlalchemy_url) as session:
        tenant = store.tenants(session, "acme")[0]
        crm = m.Account(
            tenant_id=tenant.id,
            vendor="salesforce",
            external_id="001SIDEBAR",
            name="Sidebar Corp",
            domains=[],
            vendor_updated_at=now,
            metrics={},
        )
        org = m.Account(
            tenant_id=tenant.id,
            vendor="zendesk",
            external_id="9001",
            name="Sidebar Corp (ZD)",
            domains=[],
            vendor_updated_at=now,
            metrics={},
        )
        session.add_all([crm, org])
        session.flush()
        session.add(
            m.AccountLink(
                tenant_id=tenant.id,
                source_account_id=org.id,
                crm_account_id=crm.id,
                method="external_id",
                confidence=1.0,
                status="auto",
                updated_at=now,
            )
        )
        session.add(
            m.ScoreSnapshot(
                tenant_id=tenant.id,
                account_id=crm.id,
                as_of=now,
                score=42.0,
                band="red",
                band_since=now,
                dimensions={},
                metrics={},
                confidence=0.8,
                trend_30d=-7.5,
                drivers=[{"text": "3 escalations in 30 days", "direction": "down", "impact": -8}],
                recommended_action="Call the sponsor this week",
                model_version="t",
            )
        )
        session.add(
            m.Ticket(
                tenant_id=tenant.id,
                vendor="zendesk",
                external_id="555",
                account_external_id="9001",
                crm_account_id=crm.id,
                subject="Export broken",
                status="open",
                vendor_created_at=now,
                vendor_updated_at=now,
                sentiment_label="negative",
                sentiment_score=-0.81,
                sentiment_excerpt="We are seriously considering other vendors.",
            )
        )
        session.add(  # an installation key belongs to the workspace's connected Zendesk
            m.Installation(
                tenant_id=tenant.id,
                vendor="zendesk",
                base_url="https://acme.zendesk.example",
                token_url="https://acme.zendesk.example/oauth/tokens",
                client_id="sidebar-test",
                client_secret_enc="",
                status="connected",
                created_at=now,
            )
        )
        session.flush()
        key = auth.create_api_key(session, tenant.id, "Zendesk sidebar", "installation").secret
    return key, "9001", "555"


def _install_zendesk_side(page: Any, served: Served, key: str, location: str, org: str, ticket: str) -> None:
    page.set_viewport_size({"width": 320, "height": 480})  # Zendesk's sidebar width
    stub = (Path(__file__).parent / "zaf_stub.js").read_text()
    config = {"apiUrl": served.base_url, "location": location, "orgId": org, "ticketId": ticket}

    def proxy(route: Any) -> None:
        body = json.loads(route.request.post_data)
        headers = {
            k: v.replace("{{setting.api_token}}", key) if body["secure"] else v
            for k, v in body["headers"].items()
        }
        resp = requests.get(body["url"], headers=headers, timeout=10)
        route.fulfill(status=resp.status_code, body=resp.text, headers={"Content-Type": "application/json"})

    def asset(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[1]
        text = (SIDEBAR / name).read_text()
        ctype = {"html": "text/html", "js": "application/javascript", "css": "text/css"}[
            name.rsplit(".", 1)[1]
        ]
        route.fulfill(status=200, body=text, headers={"Content-Type": ctype})

    page.route(
        ZAF_URL,
        lambda route: route.fulfill(
            status=200,
            body=f"window.__ZAF__ = {json.dumps(config)};\n{stub}",
            headers={"Content-Type": "application/javascript"},
        ),
    )
    page.route("https://zendesk.test/proxy", proxy)
    page.route("https://zendesk.test/assets/*", asset)


def test_ticket_sidebar_shows_health_and_sentiment(served: Served, page: Any) -> None:
    key, org, ticket = _seed(served)
    _install_zendesk_side(page, served, key, "ticket_sidebar", org, ticket)
    page.goto("https://zendesk.test/assets/iframe.html")
    page.wait_for_selector("text=This ticket")
    shot(page, "20-zendesk-ticket-sidebar")
    text = page.inner_text("#app")
    assert "42" in text
    assert "At risk" in text
    assert "-7.5 points in 30 days" in text
    assert "3 escalations in 30 days" in text
    assert "negative" in text
    assert "considering other vendors" in text
    assert key not in page.content()


def test_organization_sidebar_and_revoked_key(served: Served, page: Any) -> None:
    key, org, ticket = _seed(served)
    _install_zendesk_side(page, served, key, "organization_sidebar", org, ticket)
    page.goto("https://zendesk.test/assets/iframe.html")
    page.wait_for_selector("text=Customer health")
    shot(page, "21-zendesk-organization-sidebar")
    assert "This ticket" not in page.inner_text("#app")
    with transaction(served.settings.sqlalchemy_url) as session:
        row = session.query(m.ApiKey).filter_by(name="Zendesk sidebar").one()
        auth.revoke_api_key(session, row.tenant_id, row.id)
    page.reload()
    page.wait_for_selector("text=invalid or revoked")
    shot(page, "22-zendesk-sidebar-revoked-key")


def test_sidebar_names_a_former_customer(served: Served, page: Any) -> None:
    """A customer that has left (scoring skips it) read 'Not scored', as one waiting for its first score;
    healthscore's own pages say 'Former customer — not scored'."""
    key, org, ticket = _seed(served)
    with transaction(served.settings.sqlalchemy_url) as session:
        crm = session.query(m.Account).filter_by(external_id="001SIDEBAR").one()
        crm.status = "churned"
        session.query(m.ScoreSnapshot).filter_by(account_id=crm.id).delete()
    _install_zendesk_side(page, served, key, "organization_sidebar", org, ticket)
    page.goto("https://zendesk.test/assets/iframe.html")
    page.wait_for_selector("text=Customer health")
    assert "Former customer — not scored" in page.inner_text("#app")
