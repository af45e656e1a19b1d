"""The support lead's workbench: filters, search, paging, links into the help desk, CSV, totals that add up,
HubSpot tickets included, sentiment per group over time."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest

from connector.clock import set_tenant_clock
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData


@pytest.fixture
def desk(app: Any, tenants: dict[str, TenantData]) -> TenantData:
    """Acme with its clock at NOW, a Zendesk install (links) and a few more tickets, one from HubSpot."""
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        set_tenant_clock(session, acme.id, NOW)
        session.add(
            m.Installation(
                tenant_id=acme.id, vendor="zendesk", base_url="https://acme.zendesk.example", token_url="x",
                client_id="x", client_secret_enc="x", created_at=NOW,
            )
        )  # fmt: skip
        red = acme.accounts["Acme Red Corp"]
        for i in range(60):
            session.add(
                m.Ticket(
                    tenant_id=acme.id, vendor="zendesk", external_id=f"Z{i}", crm_account_id=red,
                    subject=f"Billing question {i}", status="open" if i % 2 else "solved", priority="normal",
                    group_name="Billing", vendor_created_at=NOW - timedelta(days=i % 20, hours=1),
                    vendor_updated_at=NOW, sentiment_label="negative" if i % 3 == 0 else "neutral",
                    sentiment_score=-0.7 if i % 3 == 0 else 0.0, sentiment_excerpt=f"refund please {i}",
                )
            )  # fmt: skip
        session.add(
            m.Ticket(
                tenant_id=acme.id, vendor="hubspot", external_id="HS-1", subject="Portal login broken",
                status="open", priority="high", group_name=None, vendor_created_at=NOW - timedelta(days=3),
                vendor_updated_at=NOW, sentiment_label=None,
            )
        )  # fmt: skip
        session.add(
            m.Ticket(
                tenant_id=acme.id, vendor="zendesk", external_id="OLD", subject="Ancient history",
                status="closed", priority="low", group_name="Billing",
                vendor_created_at=NOW - timedelta(days=200), vendor_updated_at=NOW, sentiment_label="negative",
            )
        )  # fmt: skip
    return acme


def _subjects(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'class="strong"[^>]*>([^<]+?)(?: <span| ·|</)', body)


def test_defaults_to_the_last_30_days_and_totals_add_up(acme_viewer: Any, desk: TenantData) -> None:
    page = acme_viewer.get("/support").data.decode()
    assert "Ancient history" not in page
    # 60 Billing + 3 seeded (Tier 1) + 1 HubSpot = 64 tickets in the window; labels and groups both sum to it
    assert "64 tickets" in page
    foot = page.split("<tfoot>")[1].split("</tfoot>")[0]
    numbers = [int(x) for x in re.findall(r'class="num">(\d+)<', foot)]
    assert numbers[0] == 64
    assert sum(numbers[1:]) == 64
    assert "No group" in page  # the HubSpot ticket is counted, under no group
    assert "Portal login broken" in page or "Page 1 of 2" in page


def test_filters_negative_billing_last_30_days_and_opens_in_help_desk(
    acme_viewer: Any, desk: TenantData
) -> None:
    page = acme_viewer.get("/support?group=Billing&sentiment=negative").data.decode()
    assert "20 tickets" in page  # i % 3 == 0 of 60
    assert "Tier 1" not in page.split("<tbody>")[1].split("</tbody>")[0]
    assert 'href="https://acme.zendesk.example/agent/tickets/Z0"' in page
    assert 'target="_blank"' in page


def test_search_paging_and_hubspot(acme_viewer: Any, desk: TenantData) -> None:
    first = acme_viewer.get("/support").data.decode()
    assert "Page 1 of 2" in first
    second = acme_viewer.get("/support?page=2").data.decode()
    assert "Page 2 of 2" in second
    assert acme_viewer.get("/support?page=9").status_code == 404
    found = acme_viewer.get("/support?q=portal+login").data.decode()
    assert "Portal login broken" in found
    assert "1 ticket " in found
    hub = acme_viewer.get("/support?vendor=hubspot").data.decode()
    assert "Portal login broken" in hub


def test_band_and_date_filters(acme_viewer: Any, desk: TenantData) -> None:
    red = acme_viewer.get("/support?band=green").data.decode()
    assert "Billing question" not in red  # Billing tickets belong to the red account
    old = acme_viewer.get("/support?from=2026-04-01&to=2026-05-31").data.decode()
    assert "Ancient history" in old


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=yesterday", "is not a date"),
        ("sentiment=angry", "Unknown sentiment"),
        ("band=purple", "no band"),
        ("to=9999-12-31", "out of range"),  # was a 500: the day after date.max overflows
        ("to=0001-01-01", "out of range"),
    ],
)
def test_bad_parameters_get_their_own_message(
    acme_viewer: Any, desk: TenantData, query: str, message: str
) -> None:
    resp = acme_viewer.get(f"/support?{query}")
    assert resp.status_code == 400
    assert message in resp.data.decode()


def test_csv_follows_the_filters(acme_viewer: Any, desk: TenantData) -> None:
    resp = acme_viewer.get("/support.csv?group=Billing&sentiment=negative")
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert len(rows) == 20
    assert {r["group"] for r in rows} == {"Billing"}
    assert rows[0]["url"].startswith("https://acme.zendesk.example/agent/tickets/")
    assert rows[0]["account_band"] == "Red (At risk)"


def test_sentiment_per_group_over_time(acme_viewer: Any, desk: TenantData) -> None:
    page = acme_viewer.get("/support").data.decode()
    data = page.split('id="chart-data">')[1].split("</script>")[0]
    assert '"Billing"' in data
    assert '"Tier 1"' in data


def test_a_page_past_the_end_leads_back_to_the_last_page(acme_viewer: Any, desk: TenantData) -> None:
    """Page 999 offered only 'Start over' (dropping the filters) and '← Previous' to page 998, past the end too."""
    resp = acme_viewer.get("/support?group=Billing&page=999")
    page = resp.data.decode()
    assert resp.status_code == 404
    last = re.search(r'href="([^"]*)">Go to the last page', page)
    previous = re.search(r'href="([^"]*)">← Previous', page)
    assert last is not None
    assert previous is not None
    assert "group=Billing" in last.group(1)
    assert "page=2" in last.group(1)  # 61 Billing tickets in the dates, 50 a page
    assert "page=2" in previous.group(1)
