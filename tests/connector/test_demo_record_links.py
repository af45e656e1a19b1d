"""'Open in Salesforce / HubSpot / Zendesk' in the demo: the links on the account and support pages pointed
at the emulators' API servers, which answered 404 for the vendors' deep-link paths and served TLS with a CA
no browser trusts. Now the demo points each installation's `web_url` at the emulators' plain-HTTP record
pages (integrations/sandbox/pages.py): the link, fetched over real HTTP, is a 200 page showing the record as
the emulator holds it, our written-back health fields included. Outside the demo the links stay the vendors'
own deep links (tests/connector/web/test_ui.py)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connector.demo.run import prepare, subscribe_sandbox_webhooks
from connector.installs.provision import ensure_all
from connector.pipeline import run as pipeline
from connector.store import models as m
from connector.store.db import transaction
from scoring.band_names import colour
from tests.connector.web.seed import sign_in_user

pytestmark = [pytest.mark.slow]


def _first_pass(app: Any, sandbox: Any, slug: str) -> tuple[int, int]:
    settings = app.config["HEALTHSCORE"]
    prepare(settings, sandbox.credentials(), None)
    # as `healthscore demo` does before serving: it also records the HubSpot portal id HubSpot links carry
    subscribe_sandbox_webhooks(settings, sandbox.credentials(), "http://127.0.0.1:9")
    with transaction(settings.sqlalchemy_url) as s:
        tid, uid = s.execute(
            select(m.Tenant.id, m.User.id)
            .join(m.User, m.User.tenant_id == m.Tenant.id)
            .where(m.Tenant.slug == slug, m.User.email == f"admin@{slug}.demo")
        ).one()
    ensure_all(settings, tid)
    assert pipeline.run_tenant(settings, tid)["status"] == "ok"
    return tid, uid


def _scored_account(app: Any, tid: int, vendor: str) -> tuple[int, str, str]:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        acc_id, name, external = s.execute(
            select(m.Account.id, m.Account.name, m.Account.external_id)
            .join(m.ScoreSnapshot, m.ScoreSnapshot.account_id == m.Account.id)
            .where(m.Account.tenant_id == tid, m.Account.vendor == vendor)
            .order_by(m.Account.id)
            .limit(1)
        ).one()
    return acc_id, name, external


def _link(page: str, label: str) -> str:
    found = re.search(r'href="([^"]+)"[^>]*>' + re.escape(label), page)
    assert found, f"no {label!r} link on the page"
    return html.unescape(found.group(1))


def test_salesforce_and_zendesk_links_open_the_emulators_record_pages(app: Any, sandbox: Any) -> None:
    tid, uid = _first_pass(app, sandbox, "northwind")
    acc_id, name, external = _scored_account(app, tid, "salesforce")
    client = app.test_client()
    sign_in_user(client, uid, tid)
    page = client.get(f"/accounts/{acc_id}").get_data(as_text=True)
    url = _link(page, "Open in Salesforce")
    assert url == f"{sandbox.control_url}/lightning/r/Account/{external}/view"  # plain http, vendor's path
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200
    assert "text/html" in resp.headers["Content-Type"]
    assert html.escape(name) in resp.text
    written = sandbox.ctx.vendors["salesforce"].written[external]
    band = written["Health_Band__c"]
    # what our write-back put there, read as the picklist label our field definition gave it (eab38f5)
    assert f'<th title="Health_Band__c">Health Band</th><td>{colour(band)}</td>' in resp.text
    # the support workbench's ticket links (Zendesk agent view) land on a ticket page too
    support = client.get("/support").get_data(as_text=True)
    ticket = re.search(r'href="(' + re.escape(sandbox.control_url) + r'/agent/tickets/\d+)"', support)
    assert ticket, "no Zendesk ticket link on the support page"
    answer = requests.get(ticket.group(1), timeout=10)
    assert answer.status_code == 200
    assert "Ticket #" in answer.text


def test_hubspot_link_opens_the_emulators_company_page(app: Any, sandbox: Any) -> None:
    tid, uid = _first_pass(app, sandbox, "contoso")
    acc_id, name, external = _scored_account(app, tid, "hubspot")
    client = app.test_client()
    sign_in_user(client, uid, tid)
    page = client.get(f"/accounts/{acc_id}").get_data(as_text=True)
    url = _link(page, "Open in HubSpot")
    portal = sandbox.ctx.vendors["hubspot"].extra["portal_id"]
    assert url == f"{sandbox.control_url}/contacts/{portal}/company/{external}"
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200
    assert html.escape(name) in resp.text
    assert '<th title="healthscore_band">Health band</th><td>' in resp.text
