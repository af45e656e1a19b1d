"""Items the UX walk found and left (notes/report-ux.md): the favicon, the week-on-week verdict of
values that read the same, a scoring-model draft identical to the live model, and Reconnect's form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.readmodels.week_on_week import compare
from connector.store import models as m
from scoring.config import load_default_model

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_favicon_is_served_with_caching_headers(client: Any) -> None:
    """Browsers ask for /favicon.ico on raw JSON pages (/api/openapi.json): it answered 404."""
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.mimetype.startswith("image/")
    assert b"<svg" in r.data
    assert "max-age=" in r.headers.get("Cache-Control", "")


def _snap(as_of: datetime, metrics: dict[str, float]) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(as_of=as_of, score=60.0, dimensions={"support": 60.0}, metrics=metrics)


def test_values_that_read_the_same_have_no_better_or_worse(app: Any) -> None:
    """'Ticket rate 2.5 → 2.5 a month, index 99, better': the change (0.03) passed the flat threshold
    but not the rounding of the values shown. The page says 'no change'; the API keeps its verdict."""
    from flask import render_template

    old = _snap(NOW - timedelta(days=7), {"ticket_rate_365d": 2.52, "csat_avg_90d": 4.0})
    new = _snap(NOW, {"ticket_rate_365d": 2.49, "csat_avg_90d": 3.5})
    wow = compare(new, old, load_default_model())
    rate = next(x for x in wow.metrics if x.name == "ticket_rate_365d")
    assert rate.verdict == "better"  # the API's verdict, unchanged
    with app.test_request_context():
        html = render_template("ui/_week_on_week.html", wow=wow)
    row = next(line for line in html.splitlines() if "2.5 a month" in line)
    assert row.count("2.5 a month") == 2
    assert "better" not in row
    assert "worse" not in row
    assert "no change" in row
    csat = next(line for line in html.splitlines() if "4.0/5" in line)
    assert "worse" in csat  # a change that shows keeps its verdict
