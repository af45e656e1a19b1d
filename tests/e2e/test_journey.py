"""The admin's journey in a real browser: sign in, connect the vendors through the sandboxes' OAuth
consent pages, watch the first sync, read the portfolio, an account, support sentiment, add a webhook and
settle an unmatched organization. Screenshots of every page land in test-artifacts/screenshots/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, Served, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SYNC_TIMEOUT_MS = 600_000


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def connect(page: Any, base: str, vendor: str, label: str, name: str) -> str:
    """Connect one vendor through its consent page and wait for the first sync; returns the run status."""
    page.goto(f"{base}/admin/integrations")
    page.click(f"#integration-{vendor} >> text=Connect {label}")
    page.wait_for_url(re.compile(rf".*/admin/integrations/{vendor}/connect"))
    shot(page, f"{name}-connect")
    page.click("text=Continue to")
    # The sandbox's consent page (a different origin, over TLS with the sandbox CA).
    page.wait_for_selector("button[value=allow]")
    shot(page, f"{name}-consent")
    page.click("button[value=allow]")
    page.wait_for_url(re.compile(r".*/progress/.*"))
    shot(page, f"{name}-progress-running")
    # The page polls the run as JSON and swaps the status chip's class when the run ends (no eval: CSP).
    page.wait_for_selector("#run-status:not(.chip-running)", timeout=SYNC_TIMEOUT_MS)
    shot(page, f"{name}-progress")
    status: str = page.inner_text("#run-status")
    return status


def test_admin_journey(served: Served, page: Any) -> None:
    base = served.base_url
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r".*/login.*"))
    shot(page, "01-login")
    sign_in(page, base, "admin@acme.test")
    shot(page, "02-portfolio-empty")
    assert page.is_visible("text=Connect an integration")

    page.goto(f"{base}/admin/integrations")
    shot(page, "03-integrations-before")
    sf = connect(page, base, "salesforce", "Salesforce", "04-salesforce")
    zd = connect(page, base, "zendesk", "Zendesk", "05-zendesk")
    steps = page.inner_text("#progress")
    assert sf in {"ok", "partial"}, f"salesforce setup: {sf}"
    assert zd in {"ok", "partial"}, f"zendesk setup: {zd}\n{steps}"

    page.goto(f"{base}/admin/integrations")
    shot(page, "06-integrations-connected")
    assert page.inner_text("#integration-salesforce h2").endswith("connected")
    assert page.inner_text("#integration-zendesk h2").endswith("connected")

    page.goto(f"{base}/")
    shot(page, "07-portfolio")
    rows = page.locator("table.portfolio tbody tr")
    assert rows.count() > 10
    page.select_option("select[name=band]", "red")
    page.click("text=Apply")
    page.wait_for_url(re.compile(r".*band=red.*"))
    shot(page, "08-portfolio-red")
    assert (
        page.locator("table.portfolio tbody .band-red").count()
        == page.locator("table.portfolio tbody tr").count()
    )

    page.locator("table.portfolio tbody tr a.strong").first.click()
    page.wait_for_url(re.compile(r".*/accounts/\d+"))
    page.wait_for_timeout(600)  # let Chart.js finish its entry animation before the screenshot
    shot(page, "09-account")
    assert page.is_visible("text=Score history")
    assert page.is_visible("text=Recent tickets")

    page.goto(f"{base}/support")
    page.wait_for_timeout(600)
    shot(page, "10-support")
    assert page.is_visible("text=Support workbench")

    # A webhook endpoint: the secret is shown once.
    page.goto(f"{base}/admin/webhooks/")
    page.fill("input[name=url]", f"{base}/healthz")
    page.fill("input[name=description]", "ops channel")
    page.click("text=Add endpoint")
    page.wait_for_selector("#new-secret")
    shot(page, "11-webhook-added")
    assert "whsec_" in page.inner_text("#new-secret")

    # Unmatched review: settle the first organization by searching its CRM account.
    page.goto(f"{base}/admin/review")
    shot(page, "12-review")
    first = page.locator("table.review tbody tr").first
    if first.count():
        org_name = first.locator(".strong").first.inner_text()
        word = org_name.split()[0]
        first.locator("input[name=q]").fill(word)  # each row searches on its own
        first.locator("button:has-text('Search')").click()
        row = page.locator("table.review tbody tr").first
        options = row.locator("select[name=crm_account_id] option:not([disabled])")
        page.once("dialog", lambda d: d.accept())  # the confirm before a sticky link
        if options.count():
            row.locator("select[name=crm_account_id]").select_option(index=1)
            row.locator("button[value=link]").click()
        else:
            row.locator("text=Not a customer").click()
        page.wait_for_selector(".flash-success")
        shot(page, "13-review-decided")
        assert page.locator(f"table.review tbody tr:has-text('{org_name}')").count() == 0

    # Scoring model: validate and preview before publishing.
    page.goto(f"{base}/admin/model?view=yaml")
    page.click("button[value=preview]")
    page.wait_for_selector("text=Backtest preview")
    shot(page, "14a-model-preview")
    assert page.is_visible("text=The model is valid")

    # An API key for the Zendesk sidebar: shown once.
    page.goto(f"{base}/admin/keys")
    page.fill("input[name=name]", "Zendesk sidebar")
    page.select_option("select[name=scope]", "installation")
    page.click("text=Create key")
    page.wait_for_selector("#new-key")
    shot(page, "14b-api-key-created")
    assert "hsk_" in page.inner_text("#new-key")

    page.goto(f"{base}/admin/audit")
    shot(page, "14-audit")
    assert page.locator("table td:has-text('Integration: connected')").count() > 0

    # The other tenant connects HubSpot, and sees none of Acme's data.
    page.click("text=Sign out")
    sign_in(page, base, "admin@globex.test")
    # First the admin declines HubSpot's consent screen: the page says what happened and what to do.
    page.goto(f"{base}/admin/integrations/hubspot/connect")
    page.click("text=Continue to")
    page.wait_for_selector("button[value=deny]")
    page.click("button[value=deny]")
    page.wait_for_selector("[data-error-kind=denied]")
    shot(page, "15a-hubspot-denied")
    assert page.is_visible("text=You did not allow access")
    hs = connect(page, base, "hubspot", "HubSpot", "15-hubspot")
    assert hs in {"ok", "partial"}, f"hubspot setup: {hs}\n{page.inner_text('#progress')}"
    page.goto(f"{base}/")
    shot(page, "16-portfolio-hubspot-tenant")
    assert page.locator("table.portfolio tbody tr").count() > 10
    assert "Salesforce ·" not in page.inner_text("table.portfolio")
