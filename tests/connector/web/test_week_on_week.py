"""Week-on-week index: directions from the model, flat below a threshold, no comparison without a week of
history; served by the API and on the account page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.readmodels.week_on_week import compare
from connector.store import models as m
from scoring.config import load_default_model
from tests.connector.web.seed import TenantData, bearer

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _snap(as_of: datetime, dims: dict[str, float], metrics: dict[str, float]) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(as_of=as_of, score=60.0, dimensions=dims, metrics=metrics)


def test_compare_directions_and_index() -> None:
    model = load_default_model()
    old = _snap(
        NOW - timedelta(days=7),
        {"support": 60.0, "relationship": 70.0},
        {"high_priority_share_90d": 0.30, "csat_avg_90d": 4.0, "nps_avg_365d": 7.0},
    )
    new = _snap(
        NOW,
        {"support": 50.0, "relationship": 70.4},
        {"high_priority_share_90d": 0.20, "csat_avg_90d": 3.5, "nps_avg_365d": 7.0, "open_tickets": 3},
    )
    w = compare(new, old, model)
    assert w.compared_with == NOW - timedelta(days=7)
    dims = {d.name: d for d in w.dimensions}
    assert (dims["support"].change, dims["support"].index, dims["support"].verdict) == (-10.0, 83.3, "worse")
    assert dims["relationship"].verdict == "flat"  # 0.4 points
    assert dims["sentiment"].verdict == "no data"
    metrics = {x.name: x for x in w.metrics}
    assert metrics["high_priority_share_90d"].verdict == "better"  # lower is better for this metric
    assert metrics["csat_avg_90d"].verdict == "worse"
    assert metrics["nps_avg_365d"].verdict == "flat"
    assert metrics["open_tickets"].verdict == "new"
    assert metrics["open_tickets"].index is None
    assert "seat_utilisation" not in metrics  # no data either week: not listed


def test_compare_without_a_week_old_snapshot() -> None:
    w = compare(_snap(NOW, {"support": 50.0}, {}), None, load_default_model())
    assert w.compared_with is None
    assert {d.verdict for d in w.dimensions} <= {"new", "no data"}
    assert compare(None, None, load_default_model()).dimensions == []


def test_api_serves_the_index(client: Any, tenants: dict[str, TenantData]) -> None:
    acme = tenants["acme"]
    acc = acme.accounts["Acme Yellow Corp"]
    r = client.get(f"/api/v1/accounts/{acc}/week-on-week", headers=bearer(acme.read_key))
    assert r.status_code == 200
    body = r.get_json()
    assert body["compared_with"] is None  # the seeded history spans two days
    assert {d["name"] for d in body["dimensions"]} >= {"support", "product"}
    other = tenants["globex"].accounts["Globex Red Corp"]
    assert (
        client.get(f"/api/v1/accounts/{other}/week-on-week", headers=bearer(acme.read_key)).status_code == 404
    )


def test_account_page_shows_the_section(acme_viewer: Any, tenants: dict[str, TenantData]) -> None:
    acc = tenants["acme"].accounts["Acme Yellow Corp"]
    page = acme_viewer.get(f"/accounts/{acc}").get_data(as_text=True)
    assert "This week vs last week" in page
    assert "at least a week old" in page


def test_metrics_read_as_words_on_the_page(app: Any) -> None:
    """The table listed model keys with spaces ('csat avg 90d', 'arr change pct'); now they read as words."""
    from flask import render_template

    from connector.web.formatting import metric_name

    assert metric_name("csat_avg_90d") == "CSAT average (90 days)"
    assert metric_name("arr_change_pct") == "ARR change %"
    assert metric_name("days_since_last_contact") == "Days since last contact"
    old = _snap(NOW - timedelta(days=7), {"support": 60.0}, {"csat_avg_90d": 4.0})
    new = _snap(NOW, {"support": 50.0}, {"csat_avg_90d": 3.5})
    with app.test_request_context():
        html = render_template("ui/_week_on_week.html", wow=compare(new, old, load_default_model()))
    assert "CSAT average (90 days)" in html
    assert "csat avg 90d" not in html


def test_every_default_metric_unit_has_a_format() -> None:
    """Each unit text of the packaged model matches a row of the unit table, so no metric falls back to
    a bare 2-decimal number; a new metric whose unit reads differently fails here until it has a format."""
    from connector.web.formatting import _UNIT_FORMATS

    model = load_default_model()
    units = {metric.unit for dim in model.dimensions for metric in dim.metrics if metric.unit}
    assert len(units) >= 20
    unformatted = sorted(u for u in units if not any(matches(u.lower()) for matches, _ in _UNIT_FORMATS))
    assert unformatted == []
