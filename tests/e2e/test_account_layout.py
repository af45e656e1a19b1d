"""Layout a person sees in the browser (Debian's Chromium) that HTML alone does not show: where the survey
chart places answers, and how the backtest table's verdicts fit. Seeded book of test_roles.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Served, shot
from tests.e2e.test_roles import NOW, book, sign_in  # noqa: F401 - `book` is a fixture

pytestmark = [pytest.mark.e2e]


def test_survey_chart_places_answers_by_date(book: Served, page: Any) -> None:  # noqa: F811
    """NPS answered on day 0, day 2 and day 62: on a time axis the first two sit close together and the
    third far away (a category axis spaced the three dates evenly, so 2 days looked like 2 months)."""
    from sqlalchemy import select

    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(book.settings.sqlalchemy_url) as session:
        acc = session.scalars(select(m.Account).where(m.Account.name == "Customer 00 Ltd")).one()
        account_id = acc.id
        start = NOW - timedelta(days=70)
        for i, (days, kind, value) in enumerate(
            ((0, "nps", 9.0), (2, "nps", 7.0), (62, "nps", 3.0), (30, "csat", 4.0), (31, "csat", 2.0))
        ):
            session.add(
                m.SurveyResponse(
                    tenant_id=acc.tenant_id, vendor="salesforce", external_id=f"S-{i}", kind=kind, score=value,
                    account_external_id=acc.external_id, responded_at=start + timedelta(days=days),
                    vendor_updated_at=NOW,
                )
            )  # fmt: skip
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/accounts/{account_id}")
    page.wait_for_function("window.Chart && Chart.getChart('survey-chart')")
    # where each point ends up (its animation's target), in pixels from the canvas' left edge
    xs = "i => Chart.getChart('survey-chart').getDatasetMeta(i).data.map(p => p.getProps(['x'], true).x)"
    nps, csat = page.evaluate(f"[0, 1].map({xs})")
    ticks = page.evaluate("Chart.getChart('survey-chart').scales.x.ticks.map(t => t.label)")
    page.wait_for_timeout(1500)  # the chart's animation, for the screenshot
    shot(page, "account-survey-chart")
    assert len(nps) == 3
    assert len(csat) == 2
    short, long = nps[1] - nps[0], nps[2] - nps[1]
    assert short > 0
    assert long / short == pytest.approx(60 / 2, rel=0.05)  # pixels in proportion to days
    assert csat[0] == pytest.approx(nps[0] + (nps[2] - nps[0]) * 30 / 62, abs=1.5)  # one time line for both
    assert len(ticks) == len(set(ticks)) >= 2  # dates, each once
    shown = [datetime.strptime(t, "%d %b %Y").replace(tzinfo=UTC).date() for t in ticks]  # two weeks apart
    assert {(b - a).days for a, b in itertools.pairwise(shown)} == {14}
    assert shown[0] >= (start - timedelta(days=2)).date()
    assert shown[-1] <= (start + timedelta(days=64)).date()


def test_score_history_places_passes_by_time(book: Served, page: Any) -> None:  # noqa: F811
    """The seeded passes 27, 18 and 9 days ago and now, plus a refresh 2 hours before now: on a time axis
    the refresh sits beside the last pass (a category axis put it as far from it as 9 days)."""
    from sqlalchemy import select

    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(book.settings.sqlalchemy_url) as session:
        acc = session.scalars(select(m.Account).where(m.Account.name == "Customer 00 Ltd")).one()
        account_id = acc.id
        last = session.scalars(
            select(m.ScoreSnapshot)
            .where(m.ScoreSnapshot.account_id == acc.id)
            .order_by(m.ScoreSnapshot.as_of.desc())
        ).first()
        assert last is not None
        session.add(
            m.ScoreSnapshot(
                tenant_id=acc.tenant_id, account_id=acc.id, as_of=NOW - timedelta(hours=2), score=last.score + 1,
                band=last.band, band_since=last.band_since, segment=last.segment, dimensions=last.dimensions,
                confidence=0.8, trend_30d=0.0, drivers=[], metrics={}, model_version="default",
            )
        )  # fmt: skip
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/accounts/{account_id}")
    page.wait_for_function("window.Chart && Chart.getChart('history-chart')")
    xs = page.evaluate(
        "Chart.getChart('history-chart').getDatasetMeta(0).data.map(p => p.getProps(['x'], true).x)"
    )
    assert len(xs) == 5
    gaps = [b - a for a, b in itertools.pairwise(xs)]  # 9 d, 9 d, 9 d - 2 h, 2 h
    assert gaps[0] == pytest.approx(gaps[1], rel=0.01)
    assert gaps[3] / gaps[0] == pytest.approx(2 / (9 * 24), abs=0.01)
    ticks = page.evaluate("Chart.getChart('history-chart').scales.x.ticks.map(t => t.label)")
    assert len(ticks) == len(set(ticks)) >= 2


# Where an element's text is drawn (left, right) and on how many lines.
TEXT = """e => {
  const s = getComputedStyle(e), line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.25;
  const r = document.createRange();
  r.selectNodeContents(e);
  const b = r.getBoundingClientRect();
  return [b.left, b.right, b.height / line];
}"""


def test_backtest_verdicts_do_not_wrap_into_a_column_of_words(book: Served, page: Any) -> None:  # noqa: F811
    """The backtest preview's per-band verdict ('sample too small to conclude (0 accounts, at least 20
    needed)') sat in a sixth, headerless column beside five number columns of a half-width card: it wrapped
    a word or two per line (8 lines, 173 px high) and stuck out past the card's right edge."""
    sign_in(page, book.base_url, "admin@acme.test")
    for width in (1360, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{book.base_url}/admin/model")
        page.click("button[value=preview]")
        page.wait_for_selector("text=Changes against the live model")
        shot(page, f"backtest-verdicts-{width}px")
        table = page.locator("table:has(th:has-text('Churn rate'))")
        verdicts = table.locator("td", has_text="needed)")
        assert verdicts.count() == 3  # the seeded book has no outcomes: every band is too small to read
        card = page.locator("section.card:has(h2:has-text('Backtest preview'))").bounding_box()
        for i in range(verdicts.count()):
            left, right, lines = verdicts.nth(i).evaluate(TEXT)
            assert lines <= 2.2, (width, i, lines)  # a sentence on one or two lines
            assert card["x"] <= left, (width, i, left, card)  # and all of it inside the card
            assert right <= card["x"] + card["width"], (width, i, right, card)
        assert table.locator("td:has-text('0.0%')").count() == 0  # no churn rate for a band of 0 accounts
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_connect_pages_fit_a_phone(book: Served, page: Any) -> None:  # noqa: F811
    """HubSpot's scope crm.objects.feedback_submissions.read (one unbreakable word) widened the Connect page
    to 416 px at 390."""
    sign_in(page, book.base_url, "admin@acme.test")
    page.set_viewport_size({"width": 390, "height": 844})
    wide = {}
    for vendor in ("hubspot", "salesforce", "zendesk"):
        page.goto(f"{book.base_url}/admin/integrations/{vendor}/connect")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[vendor] = width
            shot(page, f"connect-{vendor}-390px")
    assert wide == {}


def test_former_customers_fit_a_phone(book: Served, page: Any) -> None:  # noqa: F811
    """The 'Former customer — not scored' label (one unbreakable line) widened the former-customers view of
    the portfolio to 426 px at 390."""
    from sqlalchemy import select

    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(book.settings.sqlalchemy_url) as session:
        acc = session.scalars(select(m.Account).where(m.Account.name == "Customer 03 Ltd")).one()
        acc.status = "churned"
        session.add(
            m.Account(
                tenant_id=acc.tenant_id, vendor="salesforce", external_id="001GONE", name="Gone Ltd", domains=[],
                status="churned", vendor_updated_at=acc.vendor_updated_at, metrics={},
            )
        )  # fmt: skip
    sign_in(page, book.base_url, "admin@acme.test")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/?view=all&customers=former", "/?view=all&customers=all"):
        page.goto(f"{book.base_url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator(".bandcard-none:has-text('Former customer')").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            shot(page, "former-customers-390px")
        assert width <= 390, path
