"""Layout a new user met walking the demo in Chromium (report-walk.md) that only a browser shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Served, shot
from tests.e2e.test_roles import book, sign_in  # noqa: F401 - the seeded book fixture, no sandbox

pytestmark = [pytest.mark.e2e]


def _endpoint(book: Served) -> int:  # noqa: F811
    from sqlalchemy import select

    from connector.installs.vault import Vault
    from connector.store import models as m
    from connector.store.db import transaction
    from tests.connector import builders

    with transaction(book.settings.sqlalchemy_url) as s:
        acme = s.scalars(select(m.Tenant.id).where(m.Tenant.slug == "acme")).one()
        return int(
            builders.endpoint(
                s, Vault(book.settings), acme, "https://hooks.example.com/hs", ["whsec_" + "A" * 44]
            )
        )


def test_the_rotate_form_reads_as_one_line_among_the_endpoint_buttons(book: Served, page: Any) -> None:  # noqa: F811
    """'Old secret keeps signing for' sat above a full-width number box, 'hours' under it and 'Rotate
    secret' on a line of its own below, while the other buttons stood beside them."""
    ep_id = _endpoint(book)
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/admin/webhooks/{ep_id}")
    shot(page, "walk-webhook-rotate-form")
    hours = page.locator("input[name=hours]").bounding_box()
    rotate = page.locator("button:has-text('Rotate secret')").bounding_box()
    pause = page.locator("button:has-text('Pause')").bounding_box()
    label = page.locator("label:has(input[name=hours])").bounding_box()
    assert hours["width"] < 150  # a box for a few digits, not the card's width
    assert label["height"] < 2 * hours["height"]  # words, box and 'hours' on one line
    middle = hours["y"] + hours["height"] / 2
    for button in (rotate, pause):  # the button it belongs to, and the others, on the same line
        assert button["y"] < middle < button["y"] + button["height"]
    assert hours["x"] < rotate["x"] < pause["x"]


def test_date_boxes_look_like_the_other_filter_boxes(book: Served, page: Any) -> None:  # noqa: F811
    """The support workbench's and the audit log's From/To were the browser's bare date boxes (black border,
    no padding, shorter than the search box beside them)."""
    sign_in(page, book.base_url, "admin@acme.test")
    for path in ("/support", "/admin/audit"):
        page.goto(f"{book.base_url}{path}")
        shot(page, f"walk-date-boxes{path.replace('/', '-')}")
        looks = page.evaluate(
            """() => [...document.querySelectorAll('form.filters input[type=date], form.filters input[type=search]')]
                 .map(e => { const s = getComputedStyle(e);
                   return [e.type, s.borderTopColor, s.paddingLeft, s.borderRadius, Math.round(e.getBoundingClientRect().height)]; })"""
        )
        dates = [x for x in looks if x[0] == "date"]
        searches = [x for x in looks if x[0] == "search"]
        assert dates, path
        assert searches, path
        for box in dates:  # the border, padding, corners and height of the search box of the same form
            assert box[1:4] == searches[0][1:4], (path, box, searches[0])
            assert abs(box[4] - searches[0][4]) <= 3, (path, box, searches[0])


def test_the_recent_decisions_card_does_not_touch_the_review_table(book: Served, page: Any) -> None:  # noqa: F811
    """Unmatched review: the 'Recent decisions' card's top border lay on the review table's bottom border."""
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/admin/review")
    page.on("dialog", lambda d: d.accept())
    row = page.locator("table.review tbody tr").first
    if row.locator("select[name=crm_account_id]").input_value() == "":
        row.locator("select[name=crm_account_id]").select_option(index=1)
    row.locator("button[value=link]").click()
    page.wait_for_selector("text=Recent decisions")
    shot(page, "walk-review-recent-decisions")
    table = page.locator(".tablewrap:has(table.review)").bounding_box()
    card = page.locator("section.card:has-text('Recent decisions')").bounding_box()
    assert table is not None
    assert card is not None
    assert card["y"] - (table["y"] + table["height"]) >= 8


def test_the_support_search_box_shows_its_whole_placeholder(book: Served, page: Any) -> None:  # noqa: F811
    """At 1360 px the support workbench's search box was narrower than its placeholder ('Search subject,
    excerpt, account or ticket num…' cut off): the filters beside it took the row."""
    sign_in(page, book.base_url, "admin@acme.test")
    for path in ("/support", "/", "/admin/audit"):  # every filter form with a search box
        page.goto(f"{book.base_url}{path}")
        shot(page, f"walk-search-placeholder{path.replace('/', '-')}")
        need, room = page.locator("form.filters input[name=q]").evaluate(_PLACEHOLDER_ROOM)
        assert need <= room, (path, need, room)


_PLACEHOLDER_ROOM = """e => { const s = getComputedStyle(e); const c = document.createElement('canvas').getContext('2d');
             c.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
             return [c.measureText(e.placeholder).width,
                     e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)]; }"""
