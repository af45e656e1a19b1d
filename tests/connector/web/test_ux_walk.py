"""A new user's walk through every page of the demo (report-ux.md), one section per finding.
Each finding's test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData


def _set(app: Any, tenant: TenantData, name: str, **values: Any) -> None:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        acc = session.get(m.Account, tenant.accounts[name])
        for key, value in values.items():
            setattr(acc, key, value)


# ------------------------------------------- finding: 'N former customers hidden' ignored the filters


def test_the_former_customers_hidden_count_is_of_the_list_shown(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """Every rep's My accounts said '21 accounts match your filters · 44 former customers hidden (show)':
    44 was the whole workspace's former customers, and 'show' then listed none of theirs. The count is of
    the accounts the other filters (my accounts, segment, owner, band, search) leave (129c2c8)."""
    acme = tenants["acme"]
    _set(app, acme, "Acme Red Corp", owner="Vera Viewer", owner_email="viewer@acme.test")
    _set(app, acme, "Acme Yellow Corp", owner="Bob Boss", status="churned")
    everyone = acme_viewer.get("/?view=all").get_data(as_text=True)
    assert "1 former customer hidden" in everyone
    mine = acme_viewer.get("/?view=mine").get_data(as_text=True)
    assert "1 account owned by you<" in mine
    assert "former customer" not in mine.split("</p>")[0].split("<h1")[1]  # none of mine is one
    assert "former customer" not in acme_viewer.get("/?view=all&segment=enterprise").get_data(as_text=True)
    assert "1 former customer hidden" in acme_viewer.get("/?view=all&owner=Bob+Boss").get_data(as_text=True)
    assert "former customers hidden" not in acme_viewer.get("/?view=all&q=Green").get_data(as_text=True)
    assert "former customer" not in acme_viewer.get("/?view=all&band=red").get_data(as_text=True)
    assert "1 former customer hidden" in acme_viewer.get("/?view=all&band=yellow").get_data(as_text=True)


# ------------------------------------------- finding: the delivery log named no account


def test_the_delivery_log_names_the_account_and_what_changed(
    app: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """Each row of an endpoint's delivery log read 'account.band_changed msg_01M99NM6HW…': which customer
    changed, and how, was only in the receiver's copy. Now the account's name (a link to its page) and the
    change in words, the event type and id under them."""
    from connector.installs.vault import Vault
    from tests.connector import builders

    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        ep_id = builders.endpoint(
            s,
            Vault(app.config["HEALTHSCORE"]),
            acme.id,
            "https://hooks.example.com/hs",
            ["whsec_" + "A" * 44],
        )
        changes = {
            "msg_band": ("account.band_changed", red, {"name": "Acme Red Corp", "old_band": "yellow",
                                                       "new_band": "red", "old_score": 52.4, "new_score": 31.0}),
            "msg_score": ("account.score_changed", red, {"name": "Acme Red Corp", "old_band": "red",
                                                         "new_band": "red", "old_score": 35.2, "new_score": 31.0}),
            "msg_gone": ("account.band_changed", None, {"name": "Gone Ltd", "old_band": "green",
                                                        "new_band": "yellow", "old_score": 80, "new_score": 70}),
            "msg_bare": ("account.band_changed", None, {}),
        }  # fmt: skip
        for msg_id, (etype, account_id, data) in changes.items():
            event_id = builders.event(s, acme.id, [ep_id], msg_id=msg_id)
            event = s.get(m.WebhookEvent, event_id)
            event.type, event.account_id, event.payload = etype, account_id, {"type": etype, "data": data}
    resp = acme_admin.get(f"/admin/webhooks/{ep_id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    log = page[page.index("Delivery log") :]
    rows = {msg: log.split(msg)[0].rsplit("<tr>", 1)[1] for msg in changes}
    assert f'<a href="/accounts/{red}">Acme Red Corp</a>' in rows["msg_band"]
    assert "Yellow (Watch) → Red (At risk)" in rows["msg_band"]
    assert "score 52 → 31" in rows["msg_band"]
    assert f'<a href="/accounts/{red}">Acme Red Corp</a>' in rows["msg_score"]
    assert "score 35 → 31" in rows["msg_score"]
    assert "→" not in rows["msg_score"].split("score 35")[0]  # no band change to tell
    assert "Gone Ltd" in rows["msg_gone"]  # an account no longer in the store: its name from the event
    assert "/accounts/" not in rows["msg_gone"]
    assert "Green (Healthy) → Yellow (Watch)" in rows["msg_gone"]
    assert "account.band_changed" in rows["msg_bare"]  # an event without data still reads as its type
    # the API's delivery rows keep their keys
    api = acme_admin.get(f"/api/v1/webhooks/{ep_id}", headers={"Authorization": f"Bearer {acme.admin_key}"})
    keys = set(api.get_json()["deliveries"][0])
    assert "account" not in keys
    assert "account_name" not in keys


# ------------------------------------------- finding: dates in ISO form among '08 Dec 2026' everywhere else


def test_the_week_on_week_section_dates_read_as_the_rest_of_the_page(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """'Now (2026-12-08) against 2026-11-23' under a 'Week ago' column, on a page that writes every other
    date '08 Dec 2026'; passes 15 days apart (the demo's) made 'Week ago' a fortnight. The column is headed
    by the date compared with."""
    from datetime import timedelta

    from tests.connector.web.seed import NOW

    acme = tenants["acme"]
    acc = acme.accounts["Acme Yellow Corp"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        s.add(
            m.ScoreSnapshot(
                tenant_id=acme.id, account_id=acc, as_of=NOW - timedelta(days=15), score=70.0, band="yellow",
                band_since=NOW - timedelta(days=30), segment="smb", dimensions={"support": 70.0, "product": 55.0},
                drivers=[], metrics={}, confidence=0.9, model_version="test-1",
            )
        )  # fmt: skip
    page = acme_viewer.get(f"/accounts/{acc}").get_data(as_text=True)
    section = page.split("This week vs last week")[1].split("</section>")[0]
    assert "Now (20 Nov 2026) against 05 Nov 2026 (15 days earlier)" in section
    assert '<th class="num">05 Nov 2026</th>' in section
    assert "Week ago" not in section
    assert "2026-11" not in section


def test_the_backtest_preview_date_reads_as_a_date(app: Any) -> None:
    """'Scored as of 2026-09-09, outcomes over 90 days' in the model editor's backtest preview."""
    from flask import render_template

    preview = {"available": True, "as_of": "2026-09-09T00:00:00+00:00", "horizon_days": 90, "auc": 0.7,
               "accounts": 60, "churned": 13, "lift_red_over_green": 6.0, "truth": "sandbox ground truth"}  # fmt: skip
    with app.test_request_context():
        html = render_template("admin/_backtest.html", preview=preview)
    assert "Scored as of 09 Sep 2026, outcomes over 90 days" in html


# ------------------------------------------- finding: a URL check's code without detail was shown as the code


def test_a_webhook_url_with_a_password_is_refused_in_words(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """'The URL cannot receive webhooks: credentials_in_url.': a refusal whose code carries no detail was not
    turned into words (only 'code: detail' was)."""
    resp = acme_admin.post(
        "/admin/webhooks/",
        data={"url": "https://user:pw@hooks.example.com/x", "event_types": ["account.band_changed"]},
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "credentials_in_url" not in page
    assert "remove the user name and password from the address" in page.lower()


# ------------------------------------------- finding: My accounts spoke of filters nobody set


def test_my_accounts_says_whose_they_are(app: Any, acme_viewer: Any, tenants: dict[str, TenantData]) -> None:
    """A rep opening the page read '21 accounts match your filters': none set, My accounts is where a rep
    starts (and '1 account match your filters')."""
    acme = tenants["acme"]
    _set(app, acme, "Acme Red Corp", owner="Vera Viewer", owner_email="viewer@acme.test")
    mine = acme_viewer.get("/?view=mine").get_data(as_text=True)
    assert "1 account owned by you<" in mine
    assert "match your filters" not in mine
    assert "1 account matches your filters" in acme_viewer.get("/?view=mine&band=red").get_data(as_text=True)
    assert "1 account matches your filters" in acme_viewer.get("/?view=all&q=Red").get_data(as_text=True)


def test_an_admin_without_accounts_is_told_what_an_admin_can_do(acme_admin: Any) -> None:
    """An admin on an empty My accounts was told to 'Ask an admin to check your e-mail matches your CRM
    user'."""
    page = acme_admin.get("/?view=mine").get_data(as_text=True)
    assert "0 accounts owned by you<" in page
    assert "Ask an admin" not in page
    assert 'invite their CRM e-mail from <a href="/admin/users">Users</a>' in page
    assert 'href="/?view=all"' in page


def test_the_by_group_table_says_its_order(acme_admin: Any) -> None:
    """'By group' listed No group (65 tickets), Integrations (22), Technical Support (55), Billing (26): an
    order nobody could read off the table (the share of negative tickets, largest first)."""
    page = acme_admin.get("/support?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    card = page.split("<h2>By group</h2>")[1].split("</section>")[0]
    assert "The group with the largest share of negative tickets comes first." in card


def test_the_keys_page_links_the_api_reference_people_read(acme_admin: Any) -> None:
    """'For the REST API (OpenAPI document)' opened 34 kB of raw JSON; the readable reference is the API tab."""
    head = acme_admin.get("/admin/keys").get_data(as_text=True).split("</h1>")[1].split("</p>")[0]
    assert '<a href="/docs/api">API reference</a>' in head
    assert '<a href="/api/openapi.json">openapi.json</a>' in head  # still there, named for what it is


def test_the_survey_count_under_the_chart_agrees_in_number(
    acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """'0 NPS answers (0 to 10), 1 CSAT ratings (1 to 5).' under the CSAT and NPS chart."""
    page = acme_viewer.get(f"/accounts/{tenants['acme'].accounts['Acme Red Corp']}").get_data(as_text=True)
    assert "1 NPS answer (0\u201310), 0 CSAT ratings (1\u20135)." in page


def test_clear_clears_the_filters_and_keeps_the_tab(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """My accounts with no filter set showed 'Clear', which switched to All accounts; with a filter set,
    'Clear' (and the empty state's 'Clear filters') left My accounts too."""
    acme = tenants["acme"]
    _set(app, acme, "Acme Red Corp", owner="Vera Viewer", owner_email="viewer@acme.test")

    mine = acme_viewer.get("/?view=mine").get_data(as_text=True)
    assert ">Clear</a>" not in mine
    banded = acme_viewer.get("/?view=mine&band=red").get_data(as_text=True)
    assert '<a class="muted" href="/?view=mine">Clear</a>' in banded
    nothing = acme_viewer.get("/?view=mine&q=zzzz").get_data(as_text=True)
    assert 'href="/?view=mine">Clear filters</a>' in nothing
    assert '<a class="muted" href="/?view=all">Clear</a>' in acme_viewer.get("/?view=all&band=red").get_data(
        as_text=True
    )


def test_a_refused_sign_in_puts_the_cursor_in_the_password_box(
    client: Any, tenants: dict[str, TenantData]
) -> None:
    """After 'That e-mail and password do not match' the cursor sat in the e-mail box, which was kept filled
    in: the password is what has to be typed again."""
    first = client.get("/login").get_data(as_text=True)
    assert 'name="email" value="" autocomplete="username" required autofocus>' in first
    wrong = client.post("/login", data={"email": tenants["acme"].admin_email, "password": "not it at all"})
    page = wrong.get_data(as_text=True)
    assert 'autocomplete="current-password" required autofocus>' in page
    assert 'autocomplete="username" required autofocus>' not in page


def test_a_used_invitation_opened_while_signed_in_does_not_ask_to_sign_in(
    acme_admin: Any, client: Any, tenants: dict[str, TenantData]
) -> None:
    """Opening the invitation link again right after setting the password said 'Already set your password?
    Sign in.' to someone signed in already."""
    made = acme_admin.post("/admin/users/invite", data={"email": "jo@acme.test", "role": "viewer"})
    assert made.status_code in (302, 303)
    link = acme_admin.get(made.location).get_data(as_text=True).split("/invite/")[1].split("<")[0]
    client.post("/logout")
    client.get(f"/invite/{link}")
    done = client.post(
        "/invite/", data={"password": "three unrelated words", "confirm": "three unrelated words"}
    )
    assert done.status_code == 302
    again = client.get(f"/invite/{link}").get_data(as_text=True)
    assert "This invitation link does not work" in again
    assert "Sign in</a>" not in again
    assert 'You are signed in as <strong class="wrap">jo@acme.test</strong>' in again
    client.post("/logout")
    assert "Already set your password?" in client.get(f"/invite/{link}").get_data(as_text=True)


# ------------------------------------------- finding: the audit log's search did not find what it shows


def test_the_audit_search_finds_entries_by_the_names_the_log_shows(
    app: Any, acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """The log shows 'Acme Red Corp', '“Warehouse” (hsk_…)', a play's name and an endpoint's URL where
    entries store `account:57`, `key:<prefix>`, `play 3`, `endpoint:12`; 'Target contains' searched the
    stored text only, so typing a name the page shows found nothing (its placeholder said 'account:42')."""
    from sqlalchemy import select

    from connector.installs.vault import Vault
    from connector.store.repo import audit
    from tests.connector import builders

    acme = tenants["acme"]
    acme_admin.post("/admin/keys", data={"name": "Warehouse", "scope": "read"})
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as s:
        ep = builders.endpoint(
            s,
            Vault(app.config["HEALTHSCORE"]),
            acme.id,
            "https://hooks.example.com/hs",
            ["whsec_" + "A" * 44],
        )
        play = s.scalars(select(m.Play.id).where(m.Play.tenant_id == acme.id)).first()
        audit(s, acme.id, "admin@acme.test", "link.confirmed", f"account:{acme.accounts['Acme Red Corp']}")
        audit(s, acme.id, "admin@acme.test", "webhook.endpoint_paused", f"endpoint:{ep}")
        audit(s, acme.id, "admin@acme.test", "play.enabled", f"play {play}")
        other = tenants["globex"]
        audit(
            s, other.id, "admin@globex.test", "link.confirmed", f"account:{other.accounts['Globex Red Corp']}"
        )

    def rows(q: str) -> str:
        page = acme_admin.get("/admin/audit", query_string={"q": q}).get_data(as_text=True)
        return page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""

    assert "Acme Red Corp" in rows("red corp")
    assert "hooks.example.com" in rows("hooks.example")
    assert "Warehouse" in rows("warehouse")
    assert "Globex" not in rows("red corp")  # another workspace's account of that name: not searched
    assert rows("no such name anywhere") == ""
    assert "account:42" not in acme_admin.get("/admin/audit").get_data(as_text=True)  # the placeholder
