"""Styled error pages with navigation, the API reference served from our own files, audit filters/paging,
long text that wraps, and a layout for 390 px wide screens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData


def test_404_and_403_are_styled_pages_with_navigation(acme_viewer: Any) -> None:
    missing = acme_viewer.get("/accounts/999999")
    page = missing.data.decode()
    assert missing.status_code == 404
    assert "We could not find that page" in page or "No such account" in page
    assert 'class="mainnav"' in page
    assert "Portfolio" in page
    forbidden = acme_viewer.get("/admin/users")
    assert forbidden.status_code == 403
    assert "Only admins can do this" in forbidden.data.decode()
    assert 'class="mainnav"' in forbidden.data.decode()
    nowhere = acme_viewer.get("/no/such/page")
    assert nowhere.status_code == 404
    assert "We could not find that page" in nowhere.data.decode()
    assert "The requested URL" not in nowhere.data.decode()


def test_opening_a_buttons_address_links_the_page_it_belongs_to(acme_admin: Any) -> None:
    """A GET of a POST-only address (bookmarked, from the history, shared or typed) said 'That action is not
    possible here' and 'The method is not allowed for the requested URL.' with no way to the page."""
    for button, page_url in (
        ("/admin/webhooks/7/rotate", "/admin/webhooks/7"),
        ("/admin/users/invite", "/admin/users"),
        ("/admin/users/3/role", "/admin/users"),
        ("/admin/integrations/zendesk/sync", "/admin/integrations"),
        ("/admin/keys/2/revoke", "/admin/keys"),
        ("/admin/review/5/undo", "/admin/review"),
        ("/admin/model/1/publish", "/admin/model/1"),
    ):
        resp = acme_admin.get(button)
        page = resp.data.decode()
        assert resp.status_code == 405, button
        assert "POST" in resp.headers["Allow"]
        assert "This address is a button, not a page" in page
        assert f'href="{page_url}">Open the page</a>' in page, button
        assert "The method is not allowed" not in page
    other = acme_admin.delete("/admin/users", headers={"Accept": "text/html"})  # not a GET: as before
    assert "That action is not possible here" in other.data.decode()
    assert "Open the page" not in other.data.decode()


def test_logout_typed_or_bookmarked_offers_the_buttons(app: Any, acme_viewer: Any) -> None:
    """GET /logout was the 405 'not possible here' page; it now asks, and signs out only on the button (a
    link elsewhere still cannot sign anyone out)."""
    for path in ("/logout", "/logout/everywhere"):
        resp = acme_viewer.get(path)
        page = resp.data.decode()
        assert resp.status_code == 200
        assert "Sign out?" in page
        assert 'action="/logout"' in page
        assert 'action="/logout/everywhere"' in page
        assert acme_viewer.get("/").status_code == 200  # still signed in
    acme_viewer.post("/logout")
    gone = acme_viewer.get("/logout")
    assert gone.status_code == 302
    assert gone.headers["Location"].endswith("/login")


def test_api_errors_stay_json(client: Any) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code in {401, 404}
    assert resp.is_json


def test_api_reference_is_rendered_from_local_files(acme_viewer: Any) -> None:
    page = acme_viewer.get("/").data.decode()
    assert 'href="/docs/api"' in page  # linked from the nav
    resp = acme_viewer.get("/docs/api")
    html = resp.data.decode()
    assert resp.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert 'data-spec-url="/api/openapi.json"' in html
    assert "https://" not in html.split("<main")[1].split("</main>")[0].replace("https://…", "")
    assert acme_viewer.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert acme_viewer.get("/api/openapi.json").is_json


def test_api_reference_tells_a_rep_where_a_key_comes_from(acme_viewer: Any) -> None:
    """A rep cannot open Admin → API keys: the page says an admin creates keys instead of linking there."""
    html = acme_viewer.get("/docs/api").data.decode()
    assert "/admin/keys" not in html
    assert "keys are created by a workspace admin" in html


def test_api_reference_links_an_admin_to_the_keys_page(acme_admin: Any) -> None:
    html = acme_admin.get("/docs/api").data.decode()
    assert 'href="/admin/keys"' in html
    assert "keys are created by a workspace admin" not in html


def test_audit_log_filters_and_pages(app: Any, acme_admin: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    now = datetime.now(UTC)
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for i in range(120):
            session.add(
                m.AuditEntry(
                    tenant_id=acme.id, actor="bot@acme.test" if i % 2 else "admin@acme.test",
                    action="user.invited" if i % 3 else "api_key.created", target=f"person{i}@acme.test",
                    detail={}, created_at=now - timedelta(days=i),
                )
            )  # fmt: skip
    first = acme_admin.get("/admin/audit").data.decode()
    assert "Page 1 of 3" in first
    assert "Older" in first
    assert "Page 3 of 3" in acme_admin.get("/admin/audit?page=3").data.decode()
    past = acme_admin.get("/admin/audit?page=9")
    assert past.status_code == 404
    assert 'page=3">Go to the last page' in past.data.decode()  # not 'Start over' (it drops the filters)
    assert "Nothing yet" not in past.data.decode()  # said "Sign-ins … appear here" over 120 entries
    bots = acme_admin.get("/admin/audit?actor=bot@acme.test&action=api_key.").data.decode()
    assert "20 entries" in bots  # odd i and i % 3 == 0 → 20 of 120
    # actions as people read them, not the stored keys (api_key.created, user.invited)
    assert "<td>API key: created</td>" in bots
    assert ">API key (all)</option>" in bots
    assert ">User: invited</option>" in bots
    assert "<td>api_key.created</td>" not in bots
    one = acme_admin.get("/admin/audit?q=person7@").data.decode()
    assert "person7@acme.test" in one
    assert "person8@" not in one
    recent = acme_admin.get(f"/admin/audit?from={(now - timedelta(days=4)).date().isoformat()}").data.decode()
    assert "person10@" not in recent
    assert acme_admin.get("/admin/audit?from=soon").status_code == 400
    far = acme_admin.get("/admin/audit?to=9999-12-31")  # was a 500: the day after date.max overflows
    assert far.status_code == 400
    assert "out of range" in far.data.decode()


def test_long_text_wraps_and_small_screens_have_a_layout(acme_viewer: Any) -> None:
    css = acme_viewer.get("/static/app.css").data.decode()
    assert "overflow-wrap: anywhere" in css
    assert "@media (max-width: 700px)" in css
    # number columns: header and totals right-aligned over the numbers, totals read like numbers
    assert "table.data th.num { text-align: right; }" in css
    assert "table.data tfoot th {" in css
    # a row heading (week-on-week dimensions) has the same line under it as the cells beside it
    assert "table.data tbody th { border-bottom-color: #eef1f5;" in css
    # a pill (band, deal stage "Closed Won", status) never breaks over two lines
    chip = next(line for line in css.splitlines() if line.startswith(".chip {"))
    assert "white-space: nowrap" in chip
    page = acme_viewer.get("/").data.decode()
    assert 'name="viewport" content="width=device-width' in page
    assert '<td class="wrap">' in page


def test_integrations_name_what_the_vendor_id_is(
    app: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """The Salesforce card said 'Account 00D5g0000000001EAA' (an org id read as an account name), Zendesk's
    'Account —'."""
    from connector.installs.vault import Vault
    from tests.connector import builders

    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        sf = builders.installation(session, Vault(app.config["HEALTHSCORE"]), tenants["acme"].id)
        sf.vendor_account = "00D5g0000000001EAA"
        builders.installation(session, Vault(app.config["HEALTHSCORE"]), tenants["acme"].id, "zendesk")
    page = acme_admin.get("/admin/integrations").data.decode()
    assert "<dt>Org ID</dt><dd>00D5g0000000001EAA</dd>" in page
    assert "<dt>Account</dt>" not in page  # no 'Account —' for Zendesk
