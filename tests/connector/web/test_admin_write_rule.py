"""Admin → Integrations → CRM write-back: see and change an installation's write rule
(`installation.settings["write_rule"]`, connector.pipeline.materiality) per CRM, admins only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from connector.installs import users as auth
from connector.installs.vault import Vault
from connector.pipeline import materiality as mat
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import PASSWORD, TenantData, sign_in_as, sign_in_user

URL = "/admin/integrations/salesforce/write-rule"


def _url(app: Any) -> str:
    return str(app.config["HEALTHSCORE"].sqlalchemy_url)


@pytest.fixture
def crm(app: Any, tenants: dict[str, TenantData]) -> dict[str, int]:
    """Salesforce and Zendesk connected in acme (Salesforce with another setting the form must keep)."""
    settings = app.config["HEALTHSCORE"]
    vault = Vault(settings)
    ids = {}
    with transaction(settings.sqlalchemy_url) as s:
        for vendor, extra in (("salesforce", {"write_back": True}), ("zendesk", {})):
            inst = m.Installation(
                tenant_id=tenants["acme"].id, vendor=vendor, status="connected",
                base_url=f"https://{vendor}.test", token_url=f"https://{vendor}.test/token", client_id="cid",
                client_secret_enc=vault.encrypt("secret"), vendor_account="00D5g000004ABCD" if vendor == "salesforce" else None,
                settings=dict(extra), created_at=datetime.now(UTC),
            )  # fmt: skip
            s.add(inst)
            s.flush()
            ids[vendor] = inst.id
    return ids


def _settings(app: Any, inst_id: int) -> dict[str, Any]:
    with transaction(_url(app)) as s:
        inst = s.get(m.Installation, inst_id)
        assert inst is not None
        return dict(inst.settings or {})


def _set(app: Any, inst_id: int, **settings: Any) -> None:
    with transaction(_url(app)) as s:
        inst = s.get(m.Installation, inst_id)
        assert inst is not None
        inst.settings = {**(inst.settings or {}), **settings}


def _entries(app: Any, prefix: str = "integration.write_rule") -> list[m.AuditEntry]:
    with transaction(_url(app)) as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.action.startswith(prefix))))
        s.expunge_all()
        return rows


def _section(page: str, vendor: str = "salesforce") -> str:
    assert f'id="write-rule-{vendor}"' in page, page
    return page.split(f'id="write-rule-{vendor}"', 1)[1].split("</details>", 1)[0]


def test_the_page_shows_each_crm_rule_with_defaults_and_what_they_mean(
    acme_admin: Any, crm: dict[str, int]
) -> None:
    page = acme_admin.get("/admin/integrations").get_data(as_text=True)
    part = _section(page)
    assert "CRM write-back" in part
    assert "All values are the defaults." in part
    for label in (
        "Score points",
        "Trend points",
        "Sentiment change",
        "Refresh age (days)",
        "Refresh spread (days)",
    ):
        assert label in part
    assert part.count('<span class="chip">default</span>') == 5
    assert "A record is rewritten when its score moves 1 point or more." in part
    assert "Every record is rewritten at least every 7 days" in part
    assert "refreshed over 2 days" in part
    assert 'name="score_points" value=""' in part  # blank: the default
    assert 'placeholder="1 (default)"' in part
    assert 'id="write-rule-zendesk"' not in page  # Zendesk is not written back by this rule
    assert "Reset to defaults" not in part  # nothing to reset


def test_a_good_rule_is_saved_audited_and_said(acme_admin: Any, app: Any, crm: dict[str, int]) -> None:
    form = {"score_points": "2", "trend_points": "", "sentiment": " 0,1 ", "max_age_days": "3",
            "refresh_spread_days": "", "action": "save"}  # fmt: skip
    sent = acme_admin.post(URL, data=form)
    assert sent.status_code == 303
    assert sent.location.endswith("/admin/integrations#write-rule-salesforce")
    stored = _settings(app, crm["salesforce"])
    assert stored["write_rule"] == {"score_points": 2.0, "sentiment": 0.1, "max_age_days": 3.0}
    assert stored["write_back"] is True  # the installation's other settings stay
    # the pipeline then uses the saved rule (outbox._rules reads it with rule_from)
    rule, problems = mat.rule_from(stored)
    assert problems == []
    assert rule == mat.WriteRule(score_points=2, sentiment=0.1, max_age_days=3)
    (entry,) = _entries(app)
    assert entry.action == "integration.write_rule_changed"
    assert entry.actor == "admin@acme.test"
    assert entry.target == "salesforce"
    assert entry.detail["installation"] == "Salesforce 00D5g000004ABCD"
    assert entry.detail["old"] == {"score_points": 1.0, "trend_points": 1.0, "sentiment": 0.05,
                                   "max_age_days": 7.0, "refresh_spread_days": 2.0}  # fmt: skip
    assert entry.detail["new"] == {"score_points": 2.0, "trend_points": 1.0, "sentiment": 0.1,
                                   "max_age_days": 3.0, "refresh_spread_days": 2.0}  # fmt: skip
    assert entry.detail["changes"] == [
        "score points 1 (default) → 2",
        "sentiment change 0.05 (default) → 0.1",
        "refresh age (days) 7 (default) → 3",
    ]
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert "The Salesforce write-back rule is saved: score points 1 (default) → 2;" in page
    part = _section(page)
    assert "3 of 5 values set here" in part
    assert "A record is rewritten when its score moves 2 points or more." in part
    assert "Every record is rewritten at least every 3 days" in part
    assert 'name="score_points" value="2"' in part
    assert part.count('<span class="chip">default</span>') == 2
    # the same form again: nothing changes, nothing is logged
    again = acme_admin.post(URL, data=form, follow_redirects=True).get_data(as_text=True)
    assert "Nothing changed: the Salesforce write-back rule already has these values." in again
    assert len(_entries(app)) == 1
    # the audit page shows the entry
    log = acme_admin.get("/admin/audit").get_data(as_text=True)
    assert "integration.write_rule_changed" in log
    # the old and new rules read as values, not as Python dicts
    assert "{&#39;score_points&#39;" not in log
    assert "{'score_points'" not in log
    assert (  # the page's names and numbers (test_walk_forms: not 'max age days 3.0')
        "score points 2, trend points 1, sentiment change 0.1, refresh age (days) 3, refresh spread (days) 2"
        in log
    )


@pytest.mark.parametrize(
    ("field", "typed", "says"),
    [
        ("score_points", "-1", "enter a number above 0 and at most 100"),
        ("score_points", "0", "enter a number above 0 and at most 100"),
        ("score_points", "abc", "is not a number: enter a number such as 2"),
        ("trend_points", "nan", "is not a number"),
        ("sentiment", "inf", "is not a number"),
        ("sentiment", "1e309", "is far out of range: enter a number above 0 and at most 2"),
        ("max_age_days", "10000", "enter a number above 0 and at most 365"),
        ("max_age_days", "10,000", "is not a number"),
        ("refresh_spread_days", "-0.5", "enter 0 or more, less than the refresh age"),
        ("refresh_spread_days", "7", "must be fewer days than the refresh age (7)"),
        ("score_points", "9" * 5000, "is far out of range: enter a number above 0 and at most 100"),
    ],
)
def test_a_bad_value_is_refused_keeps_what_was_typed_and_saves_nothing(
    acme_admin: Any, app: Any, crm: dict[str, int], field: str, typed: str, says: str
) -> None:
    _set(app, crm["salesforce"], write_rule={"trend_points": 3})
    form = {
        "score_points": "4",
        "trend_points": "5",
        "sentiment": "0.2",
        "max_age_days": "",
        "action": "save",
    }
    form[field] = typed
    sent = acme_admin.post(URL, data=form)
    assert sent.status_code == 400
    page = sent.get_data(as_text=True)
    assert "Traceback" not in page
    assert "The Salesforce write-back rule was not saved" in page
    part = _section(page)
    assert "Not saved; nothing changed." in part
    assert says in part
    assert "<details open>" in page
    for name, value in form.items():
        if name != "action":
            assert f'name="{name}" value="{value[:40]}"' in part, name
    # the values in use are still the saved ones
    assert "A record is rewritten when its 30-day trend moves 3 points or more" in part
    assert _settings(app, crm["salesforce"])["write_rule"] == {"trend_points": 3}
    assert _entries(app) == []


def test_reset_to_defaults(acme_admin: Any, app: Any, crm: dict[str, int]) -> None:
    _set(app, crm["salesforce"], write_rule={"score_points": 5, "max_age_days": 3})
    card = acme_admin.get("/admin/integrations").get_data(as_text=True).split('id="write-rule-salesforce"')[1]
    assert "Reset to defaults" in card.split("</section>")[0]
    sent = acme_admin.post(URL, data={"action": "reset"})
    assert sent.status_code == 303
    stored = _settings(app, crm["salesforce"])
    assert "write_rule" not in stored
    assert stored["write_back"] is True
    assert mat.rule_from(stored) == (mat.DEFAULT_RULE, [])
    (entry,) = _entries(app)
    assert entry.action == "integration.write_rule_reset"
    assert entry.detail["old"]["score_points"] == 5.0
    assert entry.detail["new"] == {"score_points": 1.0, "trend_points": 1.0, "sentiment": 0.05,
                                   "max_age_days": 7.0, "refresh_spread_days": 2.0}  # fmt: skip
    page = acme_admin.get(sent.location).get_data(as_text=True)
    assert "The Salesforce write-back rule is back to its defaults: score points 5 → 1 (default)" in page
    # a second reset changes nothing and logs nothing
    again = acme_admin.post(URL, data={"action": "reset"}, follow_redirects=True).get_data(as_text=True)
    assert "Nothing changed: the Salesforce write-back rule already uses the defaults." in again
    assert len(_entries(app)) == 1


def test_all_blank_saves_the_defaults(acme_admin: Any, app: Any, crm: dict[str, int]) -> None:
    _set(app, crm["salesforce"], write_rule={"score_points": 5})
    assert acme_admin.post(URL, data={"score_points": "", "action": "save"}).status_code == 303
    assert "write_rule" not in _settings(app, crm["salesforce"])


@pytest.mark.parametrize("role", ["viewer", "rep", "support_lead"])
def test_other_roles_cannot_see_or_send_the_form(
    client: Any, app: Any, tenants: dict[str, TenantData], crm: dict[str, int], role: str
) -> None:
    tenant = tenants["acme"]
    with transaction(_url(app)) as s:
        user = auth.create_user(s, tenant.id, f"{role}-x@acme.test", role, password=PASSWORD)
        uid = user.id
    sign_in_user(client, uid, tenant.id)
    page = client.get("/admin/integrations")
    assert page.status_code == 403
    assert b"write-rule" not in page.data
    sent = client.post(URL, data={"score_points": "50", "action": "save"})
    assert sent.status_code == 403
    assert client.post(URL, data={"action": "reset"}).status_code == 403
    assert "write_rule" not in _settings(app, crm["salesforce"])
    assert _entries(app) == []


def test_another_workspace_cannot_change_it(
    client: Any, app: Any, tenants: dict[str, TenantData], crm: dict[str, int]
) -> None:
    sign_in_as(client, tenants["globex"], "admin")  # globex has no Salesforce installation
    sent = client.post(URL, data={"score_points": "50", "action": "save"})  # to Integrations, saying why
    assert (sent.status_code, sent.location) == (303, "/admin/integrations")
    assert "write_rule" not in _settings(app, crm["salesforce"])


def test_the_form_needs_its_csrf_token(
    settings_overrides: dict[str, object], tenants: dict[str, TenantData], crm: dict[str, int], app: Any
) -> None:
    from connector import create_app

    live = create_app(settings_overrides)
    assert live.config["WTF_CSRF_ENABLED"] is True
    client = live.test_client()
    sign_in_as(client, tenants["acme"], "admin")
    refused = client.post(URL, data={"score_points": "2", "action": "save"})
    assert refused.status_code == 400
    assert "write_rule" not in _settings(app, crm["salesforce"])
    page = client.get("/admin/integrations").get_data(as_text=True)
    token = _section(page).split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post(URL, data={"score_points": "2", "action": "save", "csrf_token": token})
    assert ok.status_code == 303
    assert _settings(app, crm["salesforce"])["write_rule"] == {"score_points": 2.0}


@pytest.mark.parametrize(
    "stored",
    [
        "x",
        [1, 2],
        {"score_points": "2", "bogus": 1},
        {"max_age_days": 1e12},
        {"refresh_spread_days": 9},
        None,
    ],
)
def test_a_saved_rule_set_elsewhere_never_breaks_the_page(
    acme_admin: Any, app: Any, crm: dict[str, int], stored: Any
) -> None:
    """Values set in the database by hand: the page shows what the write-back uses and what it ignores."""
    _set(app, crm["salesforce"], write_rule=stored)
    page = acme_admin.get("/admin/integrations")
    assert page.status_code == 200
    part = _section(page.get_data(as_text=True))
    if stored is not None:
        assert "The saved rule has values the write-back ignores" in part
    # saving the form replaces them
    assert acme_admin.post(URL, data={"score_points": "2", "action": "save"}).status_code == 303
    assert _settings(app, crm["salesforce"])["write_rule"] == {"score_points": 2.0}


def test_odd_requests_answer_without_a_500(acme_admin: Any, app: Any, crm: dict[str, int]) -> None:
    assert (
        acme_admin.post("/admin/integrations/zendesk/write-rule", data={"score_points": "2"}).status_code
        == 404
    )
    assert (
        acme_admin.post("/admin/integrations/hubspot/write-rule", data={"score_points": "2"}).status_code
        == 303  # not connected: Integrations says so
    )
    assert acme_admin.post("/admin/integrations/nope/write-rule", data={}).status_code == 404
    opened = acme_admin.get(URL)  # the form's address opened as a page
    assert opened.status_code == 303
    assert opened.location.endswith("#write-rule-salesforce")
    assert acme_admin.post(URL, data={}).status_code == 303  # nothing sent: the defaults, nothing changed
    weird = acme_admin.post(URL, data={"score_points": ["1", "2"], "sentiment": "\u0661", "action": "bogus"})
    assert weird.status_code in {303, 400}


def test_rule_from_refuses_absurd_values() -> None:
    """10,000 days (or a score move above 100 points) is no rule: refused, the default kept; a huge age
    overflowed the score step's timedelta."""
    for name, value in [
        ("max_age_days", 10_000),
        ("max_age_days", 1e12),
        ("score_points", 101),
        ("sentiment", 3),
    ]:
        rule, problems = mat.rule_from({"write_rule": {name: value}})
        assert getattr(rule, name) == getattr(mat.DEFAULT_RULE, name)
        assert len(problems) == 1, problems
        assert "must be ≤" in problems[0]
    rule, problems = mat.rule_from({"write_rule": {"max_age_days": 365, "score_points": 100, "sentiment": 2}})
    assert problems == []
    assert mat.refresh_age("001X", rule).days >= 363


def test_every_problem_is_said_at_once(acme_admin: Any, app: Any, crm: dict[str, int]) -> None:
    form = {"score_points": "abc", "max_age_days": "x", "refresh_spread_days": "9", "action": "save"}
    sent = acme_admin.post(URL, data=form)
    assert sent.status_code == 400
    part = _section(sent.get_data(as_text=True))
    assert "Score points: “abc” is not a number" in part
    assert "Refresh age (days): “x” is not a number" in part
    assert "Refresh spread (days): “9” must be fewer days than the refresh age (7)" in part
    assert part.count('aria-invalid="true"') == 3
    assert "write_rule" not in _settings(app, crm["salesforce"])
