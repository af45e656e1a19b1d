"""What a new user met walking the demo's pages and forms in Chromium (report-walk.md), each pinned by a test."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from connector.store.db import transaction
from tests.connector.web.seed import TenantData
from tests.connector.web.test_admin_write_rule import crm  # noqa: F401 - Salesforce connected in acme


def _db(app: Any) -> Any:
    return transaction(app.config["HEALTHSCORE"].sqlalchemy_url)


def _endpoint(app: Any, tenants: dict[str, TenantData]) -> int:
    """acme's webhook endpoint https://hooks.example.com/hs with one signing secret; its id."""
    from connector.installs.vault import Vault
    from tests.connector import builders

    with _db(app) as s:
        return int(
            builders.endpoint(
                s,
                Vault(app.config["HEALTHSCORE"]),
                tenants["acme"].id,
                "https://hooks.example.com/hs",
                ["whsec_" + "A" * 44],
            )
        )


def test_the_audit_log_shows_a_rotations_end_as_a_date_not_iso_text(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A rotation's entry read 'old secret until: 2026-12-07T16:35:29.768877+00:00' next to a When column
    that says '07 Dec 2026 13:35 UTC'; the automatic finish's 'ended at' alike."""
    from connector.store import models as m
    from connector.store.repo import audit

    ep_id = _endpoint(app, tenants)
    assert acme_admin.post(f"/admin/webhooks/{ep_id}/rotate", data={"hours": "3"}).status_code == 303
    with _db(app) as s:
        ends = s.get(m.WebhookEndpoint, ep_id).rotation_ends_at
        audit(s, tenants["acme"].id, "healthscore", "webhook.rotation_finished", f"endpoint:{ep_id}",
              automatic=True, ended_at=datetime(2026, 12, 8, 9, 5, 7, 123456, tzinfo=UTC).isoformat())  # fmt: skip
    ends = ends if ends.tzinfo else ends.replace(tzinfo=UTC)
    page = acme_admin.get("/admin/audit").get_data(as_text=True)
    assert f"old secret until:</span> {ends:%d %b %Y %H:%M} UTC" in page
    assert "ended at:</span> 08 Dec 2026 09:05 UTC" in page
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page)  # no ISO moment left anywhere
    assert "hours:</span> 3" in page  # other values as they are


def test_audit_value_leaves_what_is_not_a_moment_alone() -> None:
    from connector.web.formatting import audit_value

    assert audit_value("2026-12-07T16:35:29.768877+02:00") == "07 Dec 2026 14:35 UTC"
    assert audit_value("2026-12-07T16:35:29") == "07 Dec 2026 16:35 UTC"
    assert audit_value("2026-12-07") == "2026-12-07"  # a day stays a day
    assert audit_value("2026-99-07T16:35:29") == "2026-99-07T16:35:29"  # not a real moment: as typed
    assert audit_value("default-2026.12.2-edit1") == "default-2026.12.2-edit1"
    assert audit_value(24) == "24"


def test_each_weight_box_of_the_model_editor_has_a_name_a_screen_reader_reads(acme_admin: Any) -> None:
    """A weight's slider and its number box share one <label>, which names only its first control (the
    slider): the number boxes, where the value is typed, were read out as a bare 'spin button'."""
    page = acme_admin.get("/admin/model").get_data(as_text=True)
    boxes = re.findall(r'<input type="number"[^>]*name="w:[^"]+"[^>]*>', page)
    assert boxes  # the weights form is there
    for box in boxes:
        assert re.search(r'aria-label="[^"]+ weight \([^"]+\), as a number"', box), box


def test_the_write_rules_refusals_are_said_in_the_forms_order(
    acme_admin: Any,
    app: Any,
    crm: dict[str, int],  # noqa: F811
) -> None:
    """A value that is not a number was said before every other problem: 'Trend points: “abc” is not a
    number' above 'Score points: “-1” is not allowed', though Score points is the form's first box."""
    form = {"score_points": "-1", "trend_points": "abc", "max_age_days": "5", "refresh_spread_days": "x"}
    sent = acme_admin.post("/admin/integrations/salesforce/write-rule", data=form)
    assert sent.status_code == 400
    part = sent.get_data(as_text=True).split('id="write-rule-salesforce"', 1)[1].split("</ul>", 1)[0]
    said = [part.index(label) for label in ("Score points:", "Trend points:", "Refresh spread (days):")]
    assert said == sorted(said), part


def test_disconnect_or_sync_from_a_page_older_than_the_disconnect_says_so(acme_admin: Any) -> None:
    """A second tab (or a double click) on Disconnect, or Sync now (Make inbound URL, the write-back form) on a
    page from before Disconnect, led to
    'We could not find that page … the link is wrong' with 'Salesforce is not connected.' or a bare
    'Not connected.'; now back to Integrations, which says what happened and shows Connect."""
    for action, said in (
        ("disconnect", "Salesforce is not connected (disconnected already?)"),
        ("sync", "Salesforce is not connected, so there is nothing to sync: connect it first."),
        ("rotate-inbound", "Salesforce is not connected, so it has no inbound URL: connect it first."),
        ("write-rule", "Salesforce is not connected, so it has no write-back rule: connect it first."),
    ):
        sent = acme_admin.post(f"/admin/integrations/salesforce/{action}")
        assert (sent.status_code, sent.location) == (303, "/admin/integrations"), action
        page = acme_admin.get("/admin/integrations").get_data(as_text=True)
        assert said in page
        assert "Connect Salesforce" in page
    assert acme_admin.post("/admin/integrations/nope/sync").status_code == 404  # an unknown vendor still is


def test_a_support_lead_who_accepts_an_invitation_starts_at_the_workbench(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    """Signing in takes a support lead to the support workbench; accepting the invitation, their very first
    page, took them to the portfolio instead. Other roles still start at the portfolio."""
    from connector.installs import users as auth

    with _db(app) as s:
        _, lead = auth.invite(s, tenants["acme"].id, "sam@acme.test", "support_lead")
        _, rep = auth.invite(s, tenants["acme"].id, "rita@acme.test", "rep")
    password = "walk password long enough"
    for token, lands in ((lead, "/support"), (rep, "/")):
        sent = client.post(f"/invite/{token}", data={"password": password, "confirm": password})
        assert (sent.status_code, sent.location) == (302, lands)
        assert "Welcome! Your password is set." in client.get(lands).get_data(as_text=True)
        client.post("/logout")


def test_the_sign_in_page_opened_while_signed_in_goes_on_and_says_who(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    """/login opened while signed in (a bookmark, an old tab's Sign in link) showed an empty sign-in form
    under a top bar naming the person and their role: signed in or not? Now it goes where signing in goes."""
    from connector.installs import users as auth
    from tests.connector.web.seed import sign_in_as, sign_in_user

    sign_in_as(client, tenants["acme"], "viewer")
    for asked, lands in (
        ("/login", "/"),
        ("/login?next=/support", "/support"),
        ("/login?next=https://evil.example/", "/"),  # only same-site paths, as after a sign-in
    ):
        sent = client.get(asked)
        assert (sent.status_code, sent.location) == (302, lands), asked
    page = client.get("/").get_data(as_text=True)
    assert "You are signed in as viewer@acme.test. To use another account, sign out first." in page
    with _db(app) as s:
        lead = auth.create_user(s, tenants["acme"].id, "sam@acme.test", "support_lead", password="x" * 16)
        lead_id = lead.id
    sign_in_user(client, lead_id, tenants["acme"].id)
    assert client.get("/login").location == "/support"  # a support lead's sign-in lands there too
    client.post("/logout")
    assert client.get("/login").status_code == 200  # signed out: the form


def test_a_filter_no_row_has_stays_shown_in_its_list(acme_admin: Any) -> None:
    """A link or bookmark filtering on an owner, segment, group, priority, status or help desk that no row
    has (an owner who left, a renamed group) answered '0 accounts' / '0 tickets' while the filter's list
    said 'All owners' / 'Any': the filter that emptied the page was nowhere to be seen or undone."""
    portfolio = acme_admin.get("/?owner=Jane+Gone&segment=strategic").get_data(as_text=True)
    assert '<option value="Jane Gone" selected>Jane Gone (no accounts)</option>' in portfolio
    assert '<option value="strategic" selected>Strategic (no accounts)</option>' in portfolio
    support = acme_admin.get(
        "/support?group=Old+Queue&priority=urgent&status=on-hold&vendor=hubspot"
    ).get_data(as_text=True)
    for value in ("Old Queue", "urgent", "on-hold", "hubspot"):
        assert re.search(rf'<option value="{value}" selected>[^<]+ \(no tickets\)</option>', support), value
    plain = acme_admin.get("/support?priority=high").get_data(as_text=True)  # a value rows have: as before
    assert "(no tickets)" not in plain
    assert '<option value="high" selected>' in plain


def test_the_delivery_log_says_what_a_failed_attempt_means(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A delivery to a receiver that was down read 'ConnectionError' (a Python class name) in Last answer,
    and an HTTP failure '500 HTTP 500'; now what happened, and for a network failure what to check."""
    from connector.store import models as m
    from tests.connector import builders

    acme = tenants["acme"]
    ep_id = _endpoint(app, tenants)
    answers = [
        (None, "ConnectionError"),
        (None, "ReadTimeout"),
        (500, "HTTP 500"),
        (200, None),
        (None, "ProxyError"),
    ]
    with _db(app) as s:
        for i, (code, error) in enumerate(answers):
            event_id = builders.event(s, acme.id, [ep_id], msg_id=f"msg_answer{i}")
            d = s.query(m.WebhookDelivery).filter_by(event_id=event_id).one()
            d.attempts, d.last_status_code, d.last_error = 1, code, error
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    cells = re.findall(r'<td class="small">([^<]*)</td>', page)
    assert (
        "Could not connect: nothing answered at this address. Check the URL and that the receiver is running."
        in cells
    )
    assert "The receiver took too long to answer. Answer 2xx at once and do the work afterwards." in cells
    assert "HTTP 500" in cells
    assert "HTTP 200" in cells
    assert "The request failed before an answer came back (ProxyError)." in cells
    assert not any(
        cell.strip() in {"ConnectionError", "ReadTimeout"} or "500 HTTP 500" in cell for cell in cells
    )


def test_a_run_whose_process_died_reads_stopped_not_running_for_ever(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A pass or sync whose process stopped (a restart, Ctrl+C on `healthscore demo`) stayed 'running' with
    no end on Integrations, and its progress page polled for ever without the buttons that lead on."""
    from datetime import timedelta

    from connector.store import models as m

    now = datetime.now(UTC)
    with _db(app) as s:
        for run_id, started in (
            ("run-dead", now - timedelta(hours=3)),
            ("run-live", now - timedelta(minutes=5)),
        ):
            s.add(m.Run(tenant_id=tenants["acme"].id, run_id=run_id, kind="install", status="running",
                        started_at=started, report={"vendor": "zendesk", "steps": {}}))  # fmt: skip
    page = acme_admin.get("/admin/integrations").get_data(as_text=True)
    assert re.search(
        r'<span class="chip chip-stopped" title="No end was recorded: [^"]+">stopped</span>', page
    )
    assert "no end recorded" in page
    assert '<span class="chip chip-running">running</span>' in page  # five minutes in: still running
    dead = acme_admin.get("/admin/integrations/zendesk/progress/run-dead").get_data(as_text=True)
    assert 'id="run-status" class="chip chip-stopped">stopped<' in dead
    assert 'id="run-stopped"' in dead
    assert '<div id="done"  class="actions">' in dead  # the way on is shown
    assert acme_admin.get("/admin/runs/run-dead.json").get_json()["status"] == "stopped"
    live = acme_admin.get("/admin/integrations/zendesk/progress/run-live").get_data(as_text=True)
    assert 'id="run-status" class="chip chip-running">running<' in live
    assert acme_admin.get("/admin/runs/run-live.json").get_json()["status"] == "running"


def test_a_dry_run_ending_with_a_name_that_ends_with_a_dot_has_one_dot(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """'… Oakdale Travel PLC, Rivercore Pharma Inc..': the sentence's full stop after a company name that
    ends with one; and a list cut short read 'Corp ….'."""
    from connector.store import models as m
    from tests.connector.web.test_admin_plays import _connect_salesforce, _snap, _starter

    acme = tenants["acme"]
    acme_admin.get("/admin/plays")  # the starter play
    _connect_salesforce(app, acme.id)
    play = _starter(app, acme.id)
    green = acme.accounts["Acme Green Corp"]
    with _db(app) as s:
        s.get(m.Account, green).name = "Acme Green Inc."
        s.add(_snap(acme.id, green, 1, "red", 30.0))
    shown = acme_admin.get(f"/admin/plays?dry={play.id}").get_data(as_text=True)
    said = re.search(r'id="dry-run">(.*?)</div>', shown, re.S)
    assert said is not None
    assert said.group(1).endswith("— Acme Green Inc."), said.group(1)


def test_the_audit_log_reads_an_undone_link_and_a_write_rule_in_words(
    acme_admin: Any,
    tenants: dict[str, TenantData],
    crm: dict[str, int],  # noqa: F811
) -> None:
    """An undone review decision read 'restored: crm account id None, method unmatched, confidence 0.0,
    status review, reason None'; a write-rule change 'installation id: 1 · old: score points 5.0, …, max age
    days 14.0', neither the page's words nor its numbers."""
    acme = tenants["acme"]
    target = acme.accounts["Acme Yellow Corp"]
    linked = acme_admin.post(
        f"/admin/review/{acme.org_id}", data={"crm_account_id": str(target), "decision": "link"}
    )
    assert linked.status_code in (302, 303)
    assert acme_admin.post(f"/admin/review/{acme.org_id}/undo").status_code in (302, 303)
    form = {"score_points": "5", "max_age_days": "14", "action": "save"}
    assert acme_admin.post("/admin/integrations/salesforce/write-rule", data=form).status_code == 303
    page = acme_admin.get("/admin/audit").get_data(as_text=True)
    assert "back to:</span> not linked, waiting for review" in page
    assert "crm account id" not in page
    assert "None" not in page
    assert "installation id:" not in page
    assert "installation:</span> Salesforce 00D5g000004ABCD" in page
    assert (
        "score points 5, trend points 1, sentiment change 0.05, refresh age (days) 14, refresh spread (days) 2"
        in page
    )
    assert "5.0" not in page


def test_the_weights_form_says_a_segment_follows_default_until_set(acme_admin: Any) -> None:
    """Changing Default's Support weight to 0.5 saved Enterprise's as 0.5 too (an unset segment weight
    follows Default, by design), with nothing on the page saying so: the draft's changes then listed an
    Enterprise change nobody typed."""
    page = acme_admin.get("/admin/model").get_data(as_text=True)
    assert 'name="w:enterprise:support"' in page  # the default model has a segment column
    assert (
        "A segment's weight that you have not set in its own column follows Default's: change Default and "
        "it changes too." in page
    )


def test_the_portfolio_says_why_a_row_can_sit_outside_its_cards_range(acme_admin: Any) -> None:
    """A rep's book showed an Enterprise account 'At risk' at 51 under a card reading 'At risk · score below
    50': Enterprise has its own thresholds (Watch from 55) and a band holds until a score clears its edge,
    and the portfolio said neither."""
    page = acme_admin.get("/").get_data(as_text=True)
    note = re.search(r'<p class="muted small" id="band-note">([^<]+)</p>', page)
    assert note is not None
    assert (
        "These ranges are for most accounts; Enterprise: Green (Healthy) from 75, Yellow (Watch) from 55."
        in note.group(1)
    )
    assert "An account leaves its band only 2 points past an edge and after 3 days in it" in note.group(1)


def test_a_driver_counted_zero_or_one_reads_as_said() -> None:
    """'▲ last contact 0 days ago' in the portfolio's Top drivers (the model's text filled with 0)."""
    from connector.web.formatting import driver_text

    said = {
        "last contact 0 days ago": "last contact today",
        "last contact 1 days ago": "last contact 1 day ago",
        "last contact 10 days ago": "last contact 10 days ago",
        "1 tickets reopened": "1 ticket reopened",
        "21 tickets reopened": "21 tickets reopened",
    }
    for text, words in said.items():
        assert driver_text({"metric": "days_since_last_contact", "value": 0, "text": text}) == words


def test_a_ticket_without_a_group_has_no_dash_in_its_account_page_line(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """A Salesforce case (no help-desk group) read 'Salesforce · — · High' under its subject."""
    from sqlalchemy import select

    from connector.store import models as m

    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    with _db(app) as s:
        ticket = s.scalars(select(m.Ticket).where(m.Ticket.crm_account_id == red)).one()
        ticket.vendor, ticket.group_name = "salesforce", None
    page = acme_admin.get(f"/accounts/{red}").get_data(as_text=True)
    assert '<div class="muted small">Salesforce · High</div>' in page
    assert "· — ·" not in page


def test_pausing_an_endpoint_says_so_once(acme_admin: Any, tenants: dict[str, TenantData], app: Any) -> None:
    """Pause answered with two boxes saying the same: 'Endpoint paused; events queue until you enable it.'
    and 'Paused by admin@…; events queue until it is enabled again.'"""
    ep_id = _endpoint(app, tenants)
    acme_admin.post(f"/admin/webhooks/{ep_id}/toggle")
    page = acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)
    assert page.count("events queue until") == 1
    assert "Paused by admin@acme.test; events queue until it is enabled again." in page
    acme_admin.post(f"/admin/webhooks/{ep_id}/toggle")
    assert "Endpoint enabled." in acme_admin.get(f"/admin/webhooks/{ep_id}").get_data(as_text=True)


def test_two_equally_likely_accounts_are_not_preselected_in_review(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """'Quantum Dental PLC' (several CRM accounts have this name) came with 'Quantum Dental PLC (80 %)'
    preselected over 'Quantum Dental S.A. (80 %)': one click on Link picked one of two equal guesses."""
    from connector.store import models as m

    acme = tenants["acme"]
    with _db(app) as s:
        for name in ("Acme Green Corp", "Acme Yellow Corp"):
            s.get(m.Account, acme.accounts[name]).name = "Acme Mystery Org"
    page = acme_admin.get("/admin/review?min=0.5").get_data(as_text=True)
    row = page.split(f'id="review-{acme.org_id}"', 1)[1].split("</tr>", 1)[0]
    choices = row.split("<select", 1)[1].split("</select>", 1)[0]
    assert "selected disabled>Choose an account" in choices
    assert choices.count(" selected") == 1  # the placeholder only
    assert "Two CRM accounts named Acme Mystery Org are equally likely: choose one." in row
    for name in ("Acme Green Corp", "Acme Yellow Corp"):  # same name: their CRM ids tell them apart
        with _db(app) as s:
            external = s.get(m.Account, acme.accounts[name]).external_id
        assert f">Acme Mystery Org · Salesforce {external} (" in choices


def test_a_page_address_with_a_trailing_slash_goes_to_the_page(
    acme_admin: Any, tenants: dict[str, TenantData]
) -> None:
    """/accounts/12/, /docs/api/ (typed or pasted with a slash) were 'We could not find that page', while
    /admin/webhooks went on to /admin/webhooks/."""
    account = tenants["acme"].accounts["Acme Red Corp"]
    for asked, page in (
        (f"/accounts/{account}/", f"/accounts/{account}"),
        ("/docs/api/", "/docs/api"),
        ("/support/?group=Tier+1", "/support?group=Tier+1"),
    ):
        sent = acme_admin.get(asked, headers={"Accept": "text/html"})
        assert (sent.status_code, sent.location) == (308, page), asked
    assert acme_admin.get("/no/such/page/", headers={"Accept": "text/html"}).status_code == 404
    assert (
        acme_admin.get("/accounts/999999/", follow_redirects=True).status_code == 404
    )  # still no such account
    assert acme_admin.post(f"/accounts/{account}/").status_code in (404, 405)  # buttons are not redirected


def test_week_on_week_gives_no_index_for_values_below_zero(app: Any) -> None:
    """'Sentiment (365 days) -0.08 → +0.09, index -110, better' and 'NPS score -67 → -33, index 49, better':
    100 x now / week ago means nothing once a value is below zero."""
    from datetime import timedelta

    from flask import render_template

    from connector.readmodels.week_on_week import compare
    from connector.store import models as m
    from scoring.config import load_default_model

    now = datetime(2026, 11, 1, tzinfo=UTC)

    def snap(at: datetime, metrics: dict[str, float]) -> m.ScoreSnapshot:
        return m.ScoreSnapshot(as_of=at, score=60.0, dimensions={"sentiment": 40.0}, metrics=metrics)

    old = snap(now - timedelta(days=7), {"sentiment_365d": -0.08, "nps_score": -67.0, "csat_avg_90d": 4.0})
    new = snap(now, {"sentiment_365d": 0.09, "nps_score": -33.0, "csat_avg_90d": 3.0})
    with app.test_request_context():
        html = render_template("ui/_week_on_week.html", wow=compare(new, old, load_default_model()))
    rows = {
        re.sub(r"<[^>]+>|&nbsp;", "", r.split("</td>", 1)[0]).strip(): r
        for r in re.findall(r'<tr class="small">(.*?)</tr>', html, re.S)
    }
    assert ">-112<" not in rows["Sentiment (365 days)"]  # 100 x 0.09 / -0.08
    assert "No index for a value below zero" in rows["Sentiment (365 days)"]
    assert ">49<" not in rows["NPS score"]
    assert ">75<" in rows["CSAT average (90 days)"]  # positive values keep their index


def test_a_hubspot_task_on_the_account_page_names_hubspot_as_it_is_spelt(
    acme_admin: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    """The Plays card read '(Hubspot 80000000001)' where every other page says HubSpot."""
    from datetime import timedelta

    from connector.store import models as m
    from tests.connector.web.seed import NOW
    from tests.connector.web.test_admin_plays import _starter

    acme_admin.get("/admin/plays")
    acme = tenants["acme"]
    account = acme.accounts["Acme Red Corp"]
    play = _starter(app, acme.id)
    with _db(app) as s:
        s.add(m.PlayTask(tenant_id=acme.id, play_id=play.id, account_id=account, vendor="hubspot",
                         vendor_task_id="80000000001", state="open", subject="Health score: Acme Red Corp entered red",
                         body="b", due_at=NOW + timedelta(days=3), created_at=NOW))  # fmt: skip
    page = acme_admin.get(f"/accounts/{account}").get_data(as_text=True)
    assert "(HubSpot 80000000001)" in page
    assert "Hubspot" not in page


def test_an_invitation_opened_while_signed_in_says_whose_it_is(
    client: Any, app: Any, tenants: dict[str, TenantData]
) -> None:
    """An admin opening the link they had just made saw 'Set your password' for someone else under their own
    top bar; setting it would have signed them out and in as the invitee without a word."""
    from connector.installs import users as auth
    from tests.connector.web.seed import sign_in_as

    with _db(app) as s:
        _, token = auth.invite(s, tenants["acme"].id, "newbie@acme.test", "viewer")
    signed_out = client.get(f"/invite/{token}").get_data(as_text=True)
    assert 'id="someone-else"' not in signed_out
    sign_in_as(client, tenants["acme"], "admin")
    page = client.get(f"/invite/{token}").get_data(as_text=True)
    assert 'id="someone-else"' in page
    assert "this link is for <strong" in page
    assert "setting the password here signs you out and signs you in as newbie@acme.test" in page


def test_a_number_far_too_large_is_not_called_not_a_number(
    acme_admin: Any,
    crm: dict[str, int],  # noqa: F811
) -> None:
    """A pasted row of 100,000 digits or '1e309' in the write-back form read '… is not a number: enter a
    number such as 2': it is a number, only far too large."""
    for typed, shown in (("9" * 100_000, "9" * 40 + "…"), ("1e309", "1e309")):
        sent = acme_admin.post("/admin/integrations/salesforce/write-rule", data={"score_points": typed})
        assert sent.status_code == 400
        page = sent.get_data(as_text=True)
        assert (
            f"Score points: “{shown}” is far out of range: enter a number above 0 and at most 100 (or leave it "
            "blank for the default, 1)." in page
        )
        assert "is not a number" not in page
    sent = acme_admin.post("/admin/integrations/salesforce/write-rule", data={"score_points": "abc"})
    assert "Score points: “abc” is not a number" in sent.get_data(as_text=True)  # words still are not
