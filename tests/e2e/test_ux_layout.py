"""Layout a new user met walking the demo in Chromium (report-ux.md) that only a browser shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import Served, shot
from tests.e2e.test_roles import book, sign_in  # noqa: F401 - the seeded book fixture, no sandbox

pytestmark = [pytest.mark.e2e]

# The demo's backtest preview (300 accounts, seed 0): three bands, two with a verdict line.
_BAND = {"verdict": "sample too small to conclude (18 accounts, at least 20 needed)"}
PREVIEW = {
    "available": True, "as_of": "2026-09-09T00:00:00+00:00", "horizon_days": 90, "truth": "sandbox ground truth",
    "model_version": "default-2026.12.3-edit1", "auc": 0.7283, "accounts": 60, "churned": 13, "churn_rate": 0.2167,
    "lift_red_over_green": 6.0, "auc_interval": {"value": 0.7283, "low": 0.5635, "high": 0.8692},
    "sample": {"accounts": 60, "churned": 13, "renewed": 47, "too_small": False, "bootstrap_draws": 1000},
    "auc_verdict": "ranks churners above renewals better than chance (95 % interval 0.56 to 0.87)",
    "bands": [
        {"band": "green", "accounts": 18, "churned": 1, "rate": 0.0556, "rate_low": 0.0, "rate_high": 0.1925, **_BAND},
        {"band": "yellow", "accounts": 24, "churned": 6, "rate": 0.25, "rate_low": 0.0869, "rate_high": 0.4349,
         "verdict": None},
        {"band": "red", "accounts": 18, "churned": 6, "rate": 0.3333, "rate_low": 0.1053, "rate_high": 0.5557, **_BAND},
    ],
    "compare_live": {
        "live_version": "default-2026.12.3", "accounts": 60, "draft_auc": {"value": 0.7283, "low": 0.56, "high": 0.87},
        "live_auc": {"value": 0.7283, "low": 0.56, "high": 0.87}, "difference": {"value": 0.0, "low": 0.0, "high": 0.0},
        "verdict": "no clear difference from the live model (+0.000 to +0.000)",
    },
}  # fmt: skip


def _preview_and_a_draft(book: Served) -> int:  # noqa: F811
    """A stored backtest preview (what 'Preview backtest' leaves for the GET) and a saved draft; its id."""
    from importlib.resources import files

    from sqlalchemy import select

    from connector.store import models as m
    from connector.store.db import transaction

    now = datetime.now(UTC)
    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    with transaction(book.settings.sqlalchemy_url) as s:
        acme = s.scalars(select(m.Tenant.id).where(m.Tenant.slug == "acme")).one()
        s.add(
            m.ScoringModelVersion(
                tenant_id=acme, version="default-2026.12.3-edit1", yaml=text, status="draft",
                created_by="admin@acme.test", created_at=now, backtest=PREVIEW,
            )
        )  # fmt: skip
        row = m.ModelPreview(
            tenant_id=acme, created_by="admin@acme.test", mode="form", version="default-2026.12.3-edit2",
            yaml=text, result=PREVIEW, created_at=now,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return int(row.id)


_WIDER_THAN_THE_PAGE = """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
    [...document.querySelectorAll('section.card')].filter(c => c.scrollWidth > c.clientWidth + 1)
      .map(c => (c.querySelector('h2') || c).innerText.slice(0, 40))]"""


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_scoring_model_pages_never_scroll_sideways(book: Served, page: Any, width: int) -> None:  # noqa: F811
    """At 1280 px the backtest preview's band table ran 17 px past its card and the page scrolled sideways
    ('95 % INTERVAL' on one line); at 1024 px the Versions table did too on every model page."""
    preview = _preview_and_a_draft(book)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, book.base_url, "admin@acme.test")
    from sqlalchemy import select

    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(book.settings.sqlalchemy_url) as s:
        draft = s.scalars(
            select(m.ScoringModelVersion.id).where(m.ScoringModelVersion.status == "draft")
        ).one()
    for path in (
        f"/admin/model?preview={preview}",
        "/admin/model",
        "/admin/model?view=yaml",
        f"/admin/model/{draft}",
    ):
        page.goto(f"{book.base_url}{path}")
        shot(page, f"ux-model-{width}-{path.split('/')[-1].replace('?', '-').replace('=', '-')}")
        scroll, room, cards = page.evaluate(_WIDER_THAN_THE_PAGE)
        assert scroll <= room, (path, width, scroll, room)
        if width >= 1280:  # a laptop's width: every table fits its card (narrower, one may scroll inside it)
            assert cards == [], (path, width, cards)


def test_the_support_chart_dates_read_as_the_page_dates(book: Served, page: Any) -> None:  # noqa: F811
    """The support workbench's 'Sentiment over time per group' chart was labelled 2026-11-09, 2026-11-16 …
    under a page that writes '09 Nov 2026 to 08 Dec 2026'."""
    sign_in(page, book.base_url, "admin@acme.test")
    page.goto(f"{book.base_url}/support?from=2026-01-01&to=2026-12-31")
    page.wait_for_function("() => window.Chart && Chart.getChart('group-sentiment-chart')")
    shot(page, "ux-support-chart-dates")
    ticks = page.evaluate("() => Chart.getChart('group-sentiment-chart').scales.x.ticks.map(t => t.label)")
    assert ticks, ticks
    for label in ticks:
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", label), ticks
