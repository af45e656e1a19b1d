"""An error page says what to do next and links where to do it: a 404 for an item that is not in the
workspace (a deleted webhook endpoint, model version or key, an old link) offered only the portfolio and the
support workbench; it now links the page the item would be listed on. A too-large form said "Error 413"."""

from __future__ import annotations

from typing import Any


def test_a_missing_items_404_links_the_list_it_would_be_on(acme_admin: Any) -> None:
    for path, above in (
        ("/admin/webhooks/999", "/admin/webhooks/"),
        ("/admin/webhooks/999/deliveries/5/replay", "/admin/webhooks/"),
        ("/admin/model/999", "/admin/model"),
    ):
        resp = acme_admin.get(path) if path.count("/") < 5 else acme_admin.post(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 404, path
        assert f'href="{above}">Open the page above</a>' in page, path
    nowhere = acme_admin.get("/no/such/page").get_data(as_text=True)
    assert "Open the page above" not in nowhere  # nothing above it: the menu and the usual buttons


def test_a_too_large_form_says_what_to_do(acme_admin: Any) -> None:
    from connector.web import MAX_FORM_FIELDS

    data = {f"f{i}": "x" for i in range(MAX_FORM_FIELDS + 1)}
    resp = acme_admin.post("/admin/users/invite", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert "That form is too large" in page
    assert "What to do:" in page
