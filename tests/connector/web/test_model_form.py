"""Scoring model as a form: sliders per dimension and segment, backtest preview, diff against the live
model, YAML as the advanced view, a readable version page."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import yaml

from connector.web import model_form

DEFAULT_YAML = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")


def test_summary_and_apply_weights_round_trip() -> None:
    s = model_form.summary(DEFAULT_YAML)
    names = [d.name for d in s.dimensions]
    assert "product" in names
    assert "enterprise" in s.segments
    form = {f"w:default:{n}": str(s.segments["default"][n]) for n in names}
    form["w:default:product"] = "0.5"
    form.update({f"w:enterprise:{n}": str(s.segments["enterprise"][n]) for n in names})  # as the form shows
    form["w:enterprise:support"] = "9"  # clamped to the maximum
    text = model_form.apply_weights(DEFAULT_YAML, form, "draft-1")
    data = yaml.safe_load(text)
    assert data["version"] == "draft-1"
    assert data["dimensions"]["product"]["weight"] == 0.5
    # enterprise's untouched (inherited) product weight follows the new default; only support is its own
    assert data["segments"]["enterprise"]["weights"] == {"support": model_form.MAX_WEIGHT}
    assert model_form.summary(text).segments["enterprise"]["product"] == 0.5
    diff = {c.what: (c.live, c.draft) for c in model_form.changes(DEFAULT_YAML, text)}
    live = yaml.safe_load(DEFAULT_YAML)["dimensions"]["product"]["weight"]
    assert diff["default · product weight"] == (f"{live:g}", "0.5")
    assert diff["enterprise · support weight"][1] == "5"


def _form(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(w:[^"]+)" id="[^"]+" value="([^"]+)"', page))


def test_sliders_span_the_weights_in_use() -> None:
    """The default model's weights are fractions: a 0..5 slider would park every one at its left edge."""
    default = model_form.summary(DEFAULT_YAML)
    assert model_form.slider_max(default) == 1.0
    heavy = yaml.safe_load(DEFAULT_YAML)
    heavy["dimensions"]["support"]["weight"] = 3
    assert model_form.slider_max(model_form.summary(yaml.safe_dump(heavy))) == model_form.MAX_WEIGHT


def test_weights_form_previews_diffs_saves_and_publishes(acme_admin: Any) -> None:
    page = acme_admin.get("/admin/model").data.decode()
    assert 'type="range"' in page
    assert "Enterprise" in page
    assert "Advanced (YAML)" in page
    weights = _form(page)
    assert "w:default:product" in weights
    assert "w:enterprise:product" in weights
    weights["w:default:product"] = "0.6"
    preview = acme_admin.post(
        "/admin/model", data={**weights, "mode": "form", "version": "acme-w1", "action": "preview"}
    )
    assert preview.status_code == 303  # Post/Redirect/Get: the preview is read by GET
    preview = acme_admin.get(preview.headers["Location"])
    html = preview.data.decode()
    assert preview.status_code == 200
    assert "Changes against the live model" in html
    assert "default · product weight" in html
    assert "Backtest preview" in html
    saved = acme_admin.post(
        "/admin/model", data={**weights, "mode": "form", "version": "acme-w1", "action": "save"}
    )
    assert saved.status_code == 303
    version_page = acme_admin.get(saved.headers["Location"]).data.decode()
    assert "What this model weighs" in version_page
    assert "default · product weight" in version_page
    assert "<details" in version_page  # the YAML is the advanced view, folded away
    assert "Publish acme-w1" in version_page
    version_id = saved.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    published = acme_admin.post(f"/admin/model/{version_id}/publish")
    assert published.status_code == 303
    assert "acme-w1" in acme_admin.get("/admin/model").data.decode()


def test_yaml_view_is_still_there(acme_admin: Any) -> None:
    page = acme_admin.get("/admin/model?view=yaml").data.decode()
    assert '<textarea class="code" name="yaml"' in page
    bad = acme_admin.post("/admin/model", data={"mode": "yaml", "yaml": "bands: 3", "action": "validate"})
    assert bad.status_code == 400
    assert "problem" in bad.data.decode()


def test_a_lift_in_words_is_not_set_as_a_big_figure(app: Any) -> None:
    """No churn in the healthiest band: the lift is a sentence, set at text size (at 1.4 rem bold it ran
    to five lines and stretched the three figures beside it)."""
    from flask import render_template

    preview = {
        "auc": 0.76,
        "accounts": 24,
        "churned": 4,
        "lift_red_over_green": float("inf"),
        "horizon_days": 90,
    }
    with app.test_request_context():
        html = render_template("admin/_backtest.html", preview=preview)
        assert '<strong class="words">no churn in the healthiest band to compare with</strong>' in html
        figure = render_template("admin/_backtest.html", preview={**preview, "lift_red_over_green": 3.0})
        assert "<strong>3.0\u00d7</strong>" in figure


def test_preview_is_post_redirect_get(acme_admin: Any, tenants: Any, monkeypatch: Any) -> None:
    """Preview backtest redirects to a GET of the stored preview: a reload or Back shows the same draft and
    figures without sending the form again or running (and paying for) another backtest. Another workspace
    cannot read it; a preview no longer kept says so and leads back to the editor."""
    from connector.admin import actions

    ran: list[int] = []

    def fake(settings: Any, tenant_id: int, yaml_text: str) -> dict[str, Any]:
        ran.append(tenant_id)
        return {
            "available": True,
            "auc": 0.812,
            "accounts": 40,
            "churned": 9,
            "lift_red_over_green": 3.0,
            "as_of": "2026-09-08",
            "horizon_days": 90,
            "truth": "recorded",
            "bands": [],
        }

    monkeypatch.setattr(actions, "backtest_preview", fake)
    weights = _form(acme_admin.get("/admin/model").data.decode())
    weights["w:default:product"] = "0.6"
    sent = acme_admin.post(
        "/admin/model", data={**weights, "mode": "form", "version": "acme-prg", "action": "preview"}
    )
    assert sent.status_code == 303
    where = sent.headers["Location"]
    assert "/admin/model?preview=" in where
    for _reload in range(2):
        page = acme_admin.get(where)
        html = page.data.decode()
        assert page.status_code == 200
        assert "0.812" in html  # the stored figures
        assert 'value="acme-prg"' in html  # the draft name typed
        assert 'name="w:default:product" id="n:default:product" value="0.6"' in html  # the weights sent
        assert "default · product weight" in html
    assert ran == [tenants["acme"].id]  # one backtest for one click, however often the page is reloaded
    yaml_text = DEFAULT_YAML.replace("# healthscore default model", "# my yaml draft")
    sent = acme_admin.post("/admin/model", data={"mode": "yaml", "yaml": yaml_text, "action": "preview"})
    page = acme_admin.get(sent.headers["Location"]).data.decode()
    assert "# my yaml draft" in page  # back on the YAML tab with the text sent
    assert "<textarea" in page
    from tests.connector.web.seed import sign_in_as

    sign_in_as(acme_admin, tenants["globex"], "admin")
    other = acme_admin.get(where)
    assert other.status_code == 303  # not globex's preview: treated as gone
    gone = acme_admin.get(other.headers["Location"]).data.decode()
    assert "no longer kept" in gone
    assert "0.812" not in gone
