"""Journeys per role in a real browser (Debian's Chromium), on a seeded book (no sandbox, no sync):

- rep: finds their at-risk accounts and exports them as CSV;
- support lead: filters negative Billing tickets of the last 30 days and opens one in the help desk;
- admin: adjusts a weight, previews the backtest and publishes;
- admin: resolves three review items and undoes one.

Screenshots land in test-artifacts/screenshots/roles-*.png.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, Served, shot

pytestmark = [pytest.mark.e2e]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HELPDESK_PATH = "/helpdesk-stub"  # the Zendesk install points back at the served app: the popup loads
OWNERS = [("Rita Rep", "rita@acme.test"), ("Olaf Other", "olaf@acme.test")]
BANDS = [("red", 30.0), ("yellow", 60.0), ("green", 85.0)]


def _seed(session: Any, helpdesk: str) -> None:
    from connector.clock import set_tenant_clock
    from connector.installs import users as auth
    from connector.store import models as m
    from connector.store import repo as store

    tenant = store.ensure_tenant(session, "acme", "Acme Inc", primary_crm="salesforce")
    set_tenant_clock(session, tenant.id, NOW)
    for email, role, name in [
        ("admin@acme.test", "admin", "Ada Admin"),
        ("rita@acme.test", "rep", "Rita Rep"),
        ("sam@acme.test", "support_lead", "Sam Support"),
    ]:
        auth.create_user(session, tenant.id, email, role, password=PASSWORD, name=name)
    session.add(
        m.Installation(
            tenant_id=tenant.id, vendor="zendesk", base_url=helpdesk, token_url=f"{helpdesk}/oauth/tokens",
            client_id="e2e", client_secret_enc="x", created_at=NOW,
        )
    )  # fmt: skip
    for i in range(24):
        band, base = BANDS[i % 3]
        owner, owner_email = OWNERS[i % 2]
        acc = m.Account(
            tenant_id=tenant.id, vendor="salesforce", external_id=f"001E2E{i:012d}", name=f"Customer {i:02d} Ltd",
            domains=[f"customer{i}.example"], segment="enterprise" if i % 4 == 0 else "smb", owner=owner,
            owner_email=owner_email, arr=Decimal(10_000 * (i + 1)), renewal_date=date(2027, 1 + i % 12, 1),
            vendor_updated_at=NOW, metrics={},
        )  # fmt: skip
        session.add(acc)
        session.flush()
        for d in range(4):
            session.add(
                m.ScoreSnapshot(
                    tenant_id=tenant.id, account_id=acc.id, as_of=NOW - timedelta(days=9 * (3 - d)),
                    score=base + i % 5 - d, band=band, band_since=NOW - timedelta(days=40), segment=acc.segment,
                    dimensions={"support": base}, confidence=0.8, trend_30d=-3.0 if band == "red" else 1.0,
                    drivers=[{"metric": "sentiment_30d", "dimension": "support", "direction": "down",
                              "impact": -6.0, "value": -0.6, "text": "support sentiment"}],
                    metrics={}, model_version="default", recommended_action="Call the sponsor",
                )
            )  # fmt: skip
        for t in range(3):
            session.add(
                m.Ticket(
                    tenant_id=tenant.id, vendor="zendesk", external_id=f"{1000 + i * 10 + t}", crm_account_id=acc.id,
                    subject=f"{'Invoice' if t == 0 else 'Login'} problem for customer {i}", status="open",
                    priority="high" if t == 0 else "normal", group_name="Billing" if t == 0 else "Technical",
                    vendor_created_at=NOW - timedelta(days=3 + i + 20 * t), vendor_updated_at=NOW,
                    sentiment_label="negative" if band == "red" or t == 0 else "neutral",
                    sentiment_score=-0.7 if band == "red" or t == 0 else 0.0,
                    sentiment_excerpt="We were charged twice and nobody answers",
                )
            )  # fmt: skip
    # Four help-desk organizations nobody could match: each looks like one CRM account.
    for k in range(4):
        org = m.Account(
            tenant_id=tenant.id, vendor="zendesk", external_id=f"ORG-{k}", name=f"Customer {k:02d} Limited",
            domains=[], vendor_updated_at=NOW, metrics={},
        )  # fmt: skip
        session.add(org)
        session.flush()
        session.add(
            m.AccountLink(
                tenant_id=tenant.id, source_account_id=org.id, crm_account_id=None, method="unmatched",
                confidence=0.0, status="review", reason="no rule matched", updated_at=NOW,
            )
        )  # fmt: skip


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Served]:
    from werkzeug.serving import make_server

    from connector import create_app
    from connector.store import migrate
    from connector.store.db import transaction

    db_url = f"sqlite:///{tmp_path / 'roles.db'}"
    migrate.upgrade(db_url)
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "env": "test",
            "instance_path": str(tmp_path / "instance"),
            "database_url": db_url,
            "public_base_url": base,
        }
    )
    holder["app"] = app
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        _seed(session, base + HELPDESK_PATH)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(base, app, app.config["HEALTHSCORE"])
    server.shutdown()
    thread.join(timeout=10)


def sign_in(page: Any, base: str, email: str, lands_on: str = "/") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


def test_rep_finds_and_exports_their_at_risk_accounts(book: Served, page: Any) -> None:
    base = book.base_url
    sign_in(page, base, "rita@acme.test")
    assert page.is_visible("h1:has-text('My accounts')")
    shot(page, "roles-rep-1-my-accounts")
    page.click(".bandcard-red")
    page.wait_for_url(re.compile(r".*band=red.*"))
    rows = page.locator("table.portfolio tbody tr")
    assert rows.count() == 4  # 24 accounts: a third red, half of those Rita's
    assert page.locator("table.portfolio tbody .band-red").count() == 4
    shot(page, "roles-rep-2-at-risk")
    with page.expect_download() as info:
        page.click("text=Export CSV")
    body = Path(info.value.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert len(exported) == 4
    assert {r["band"] for r in exported} == {"Red (At risk)"}
    assert {r["owner_email"] for r in exported} == {"rita@acme.test"}
    page.click("nav.tabs >> text=All accounts")
    page.wait_for_url(re.compile(r".*view=all.*"))
    assert page.locator("table.portfolio tbody tr").count() == 8  # every red account
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "roles-rep-3-all-at-risk-390px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1 or page.is_visible(
        "table.portfolio"
    )


def test_support_lead_filters_negative_billing_and_opens_a_ticket(book: Served, page: Any) -> None:
    base = book.base_url
    sign_in(page, base, "sam@acme.test", lands_on="/support")  # a support lead starts at the workbench
    shot(page, "roles-support-1-workbench")
    page.select_option("select[name=group]", "Billing")
    page.select_option("select[name=sentiment]", "negative")
    page.click("form.filters >> text=Apply")
    page.wait_for_url(re.compile(r".*group=Billing.*sentiment=negative.*"))
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() > 0
    assert page.locator("table.tickets tbody tr:has-text('Login problem')").count() == 0
    from_date = page.input_value("input[name=from]")
    assert from_date == (NOW.date() - timedelta(days=29)).isoformat()  # the last 30 days
    shot(page, "roles-support-2-negative-billing")
    link = rows.first.locator("a.strong")
    href = link.get_attribute("href")
    assert href is not None
    assert href.startswith(f"{base}{HELPDESK_PATH}/agent/tickets/")
    with page.context.expect_page() as opened:
        link.click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.url == href  # the ticket opens in its help desk, in a new tab
    popup.close()


def test_admin_adjusts_a_weight_previews_and_publishes(book: Served, page: Any) -> None:
    base = book.base_url
    sign_in(page, base, "admin@acme.test")
    page.goto(f"{base}/admin/model")
    shot(page, "roles-admin-model-1-form")
    field = page.locator("input[name='w:default:product']")
    field.fill("0.6")
    page.fill("input[name=version]", "acme-e2e-1")
    page.click("button[value=preview]")
    page.wait_for_selector("text=Changes against the live model")
    assert page.is_visible("td:has-text('default · product weight')")
    shot(page, "roles-admin-model-2-preview")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/admin/model/\d+"))
    shot(page, "roles-admin-model-3-draft")
    page.once("dialog", lambda d: d.accept())
    page.click("text=Publish acme-e2e-1")
    page.wait_for_selector(".flash-success")
    assert "acme-e2e-1 is published" in page.inner_text(".flash-success")
    shot(page, "roles-admin-model-4-published")


def test_admin_resolves_three_review_items_and_undoes_one(book: Served, page: Any) -> None:
    base = book.base_url
    sign_in(page, base, "admin@acme.test")
    page.goto(f"{base}/admin/review")
    shot(page, "roles-admin-review-1-queue")
    assert page.locator("table.review tbody tr").count() == 4
    page.on("dialog", lambda d: d.accept())
    for _ in range(3):
        row = page.locator("table.review tbody tr").first
        select = row.locator("select[name=crm_account_id]")
        if select.input_value() == "":
            select.select_option(index=1)
        row.locator("button[value=link]").click()
        page.wait_for_selector(".flash-success")
    assert page.locator("table.review tbody tr").count() == 1
    shot(page, "roles-admin-review-2-three-decided")
    undone = page.locator("section.card table tbody tr").first
    name = undone.locator("td").first.inner_text()
    undone.locator("text=Undo").click()
    page.wait_for_selector("text=Undone")
    assert page.locator(f"table.review tbody tr:has-text('{name}')").count() == 1
    assert page.locator("table.review tbody tr").count() == 2
    shot(page, "roles-admin-review-3-undone")


def test_admin_pages_fit_a_phone(book: Served, page: Any) -> None:
    """At 390 px no page scrolls sideways: wide tables scroll inside their card, grids stack (issue 13's
    layout). Side-by-side cards (1fr would not shrink below a table) and screen-reader labels inside a
    scrolling table (placed past the page edge) widened the support, account, model and review pages."""
    base = book.base_url
    sign_in(page, base, "admin@acme.test")
    page.set_viewport_size({"width": 390, "height": 844})
    account = page.locator("table.portfolio tbody a").first.get_attribute("href")
    assert account is not None
    wide = {}
    for path in (
        "/",
        "/support",
        account,
        "/admin/model",
        "/admin/review",
        "/admin/integrations",
        "/admin/users",
    ):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
            shot(page, f"roles-admin-390px-{path.strip('/').replace('/', '-') or 'portfolio'}")
    assert wide == {}
