"""Portfolio, account and support pages: content, filters, sort, search, empty states, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import TenantData, sign_in_as


def test_portfolio_lists_scores_bands_and_totals(acme_viewer: Any) -> None:
    page = acme_viewer.get("/").data.decode()
    for name in ("Acme Green Corp", "Acme Yellow Corp", "Acme Red Corp"):
        assert name in page
    assert "Healthy" in page
    assert "At risk" in page
    assert "Watch" in page
    assert "$300k" in page  # ARR of the red account
    assert '<svg class="spark' in page
    assert "Globex" not in page


def test_portfolio_sorts_worst_first_by_default(acme_viewer: Any) -> None:
    page = acme_viewer.get("/").data.decode()
    assert page.index("Acme Red Corp") < page.index("Acme Yellow Corp") < page.index("Acme Green Corp")
    by_arr = acme_viewer.get("/?sort=-arr").data.decode()
    assert by_arr.index("Acme Red Corp") < by_arr.index("Acme Green Corp")
    by_name = acme_viewer.get("/?sort=name").data.decode()
    assert by_name.index("Acme Green Corp") < by_name.index("Acme Red Corp")


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("band=red", "Acme Red Corp", "Acme Green Corp"),
        ("segment=enterprise", "Acme Green Corp", "Acme Red Corp"),
        ("q=yellow", "Acme Yellow Corp", "Acme Red Corp"),
        ("q=001Acme000000000002", "Acme Red Corp", "Acme Green Corp"),
    ],
)
def test_portfolio_filters(acme_viewer: Any, query: str, present: str, absent: str) -> None:
    page = acme_viewer.get(f"/?{query}").data.decode()
    table = page.split("<tbody>")[1]
    assert present in table
    assert absent not in table


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("sort=evil", 400, "Cannot sort by &#39;evil&#39;"),
        ("page=abc", 400, "is not a number"),
        ("page=-3", 400, "pages start at 1"),
        ("page=999", 404, "Page 999 does not exist: this list has 1 page."),
        ("band=purple", 400, "There is no band &#39;purple&#39;"),
        ("customers=everyone", 400, "Unknown customer filter"),
        ("q=" + "x" * 500, 200, "Nothing matches"),
    ],
)
def test_portfolio_bad_input_gets_the_right_message(
    acme_viewer: Any, query: str, status: int, message: str
) -> None:
    resp = acme_viewer.get(f"/?{query}")
    page = resp.data.decode()
    assert resp.status_code == status
    assert message in page
    assert "first sync is still running" not in page


def test_portfolio_no_match_empty_state(acme_viewer: Any) -> None:
    page = acme_viewer.get("/?q=doesnotexist").data
    assert b"Nothing matches" in page


def test_portfolio_empty_state_tells_admin_to_connect(client: Any, app: Any) -> None:
    from connector.installs import users as auth
    from connector.store import repo as store
    from connector.store.db import transaction

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        tenant = store.ensure_tenant(session, "empty", "Empty")
        user = auth.create_user(session, tenant.id, "a@empty.test", "admin", password="x" * 12)
        uid, tid = user.id, tenant.id
    from tests.connector.web.seed import sign_in_user

    sign_in_user(client, uid, tid)
    page = client.get("/").data
    assert b"Connect an integration" in page


def test_account_page_shows_history_drivers_tickets_surveys_deals(
    acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    acc = tenants["acme"].accounts["Acme Red Corp"]
    page = acme_viewer.get(f"/accounts/{acc}").data.decode()
    assert "Acme drivers text 2" in page
    assert "Acme excerpt 2" in page  # the excerpt behind the sentiment
    assert "Acme renewal 2" in page
    assert "history-chart" in page
    assert "survey-chart" in page
    assert "Call the sponsor" in page
    assert '"scores": [29, 30, 31]' in page  # whole points, like everywhere else
    # dimensions by the model's labels, as on the model page (the key "financial" showed as "Financial"
    # beside "Commercial" in the week-on-week table)
    why = page.split("Why this score")[1].split("</section>")[0]
    assert "<th>Support experience</th>" in why
    assert "<th>Product usage</th>" in why
    assert "points, Support experience)" in why
    # ticket status and priority read as on the support workbench ("Open", "High"), not raw values
    tickets = page.split("Recent tickets")[1]
    assert "<td>Open</td>" in tickets
    assert "· High</div>" in tickets


def test_account_page_links_zendesk_org_and_crm(
    acme_viewer: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector.web.seed import NOW

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for vendor, base in (
            ("salesforce", "https://acme.my.salesforce.com"),
            ("zendesk", "https://acme.zendesk.com"),
        ):
            session.add(
                m.Installation(
                    tenant_id=tenants["acme"].id,
                    vendor=vendor,
                    base_url=base,
                    token_url=base,
                    client_id="c",
                    client_secret_enc="x",
                    created_at=NOW,
                )
            )
    acc = tenants["acme"].accounts["Acme Green Corp"]
    page = acme_viewer.get(f"/accounts/{acc}").data.decode()
    assert "https://acme.my.salesforce.com/lightning/r/Account/001Acme000000000000/view" in page
    assert "https://acme.zendesk.com/agent/organizations/Acme-ORG-1" in page


def test_other_tenants_account_is_404(acme_viewer: Any, tenants: dict[str, TenantData]) -> None:
    other = tenants["globex"].accounts["Globex Red Corp"]
    resp = acme_viewer.get(f"/accounts/{other}")
    assert resp.status_code == 404
    assert b"Globex" not in resp.data


def test_support_page(acme_viewer: Any) -> None:
    page = acme_viewer.get("/support?from=2026-10-01&to=2026-11-30").data.decode()
    assert "Support workbench" in page
    assert "Acme ticket 2" in page  # the negative one
    assert "Tier 1" in page
    assert "group-sentiment-chart" in page
    assert "Globex" not in page


def test_each_tenant_sees_only_its_own(client: Any, tenants: dict[str, TenantData]) -> None:
    sign_in_as(client, tenants["globex"], "viewer")
    for path in ["/", "/support"]:
        page = client.get(path).data.decode()
        assert "Globex" in page
        assert "Acme" not in page


def test_viewer_has_no_admin(acme_viewer: Any) -> None:
    assert b">Admin<" not in acme_viewer.get("/").data
    for path in [
        "/admin/integrations",
        "/admin/model",
        "/admin/webhooks/",
        "/admin/review",
        "/admin/users",
        "/admin/keys",
        "/admin/audit",
    ]:
        assert acme_viewer.get(path).status_code == 403, path


def test_formatting_filters() -> None:
    from connector.readmodels import jsonable
    from connector.web.formatting import human, money, ratio

    assert "∞" not in ratio(float("inf"))
    assert ratio(3.04) == "3.0\u00d7"
    assert ratio(None) == "—"
    assert human("mid_market") == "Mid market"
    assert human("smb") == "SMB"
    assert money(1_250_000) == "$1.2M"
    assert money(42_000) == "$42k"
    assert jsonable({"lift": float("inf"), "auc": float("nan"), "x": 1.5}) == {
        "lift": None,
        "auc": None,
        "x": 1.5,
    }
