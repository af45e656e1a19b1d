"""HubSpot task notes (`hs_task_body`) are rich text: HubSpot stores and shows the value as HTML (its
editor saves `<div …><br></div>`; markup sent over the API is rendered, sanitised). Our body is plain text
joined from CRM data (account names, driver texts, the play's next step) with newlines: a company named
`<img src=x onerror=alert(1)>` or `A & B <Ltd>` was rendered as markup, and the line breaks were lost.
The body is now sent HTML-escaped with `<br>` for each newline, and the HubSpot emulator's company page
renders task notes as HubSpot does (sanitised HTML), so the demo shows what a HubSpot user sees."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import requests

from integrations.hubspot import tasks as hstasks
from integrations.sandbox.hubspot.render import render
from integrations.tasks import TaskCreate

HOSTILE = "Renewal risk: <img src=x onerror=alert(1)>\nA & B <Ltd>\n\nNext step: call them"


def _task(body: str) -> TaskCreate:
    return TaskCreate(key="k1", account_external_id="42", subject="Call", body=body, due=date(2026, 12, 1))


def test_the_body_is_sent_as_escaped_html_with_line_breaks() -> None:
    sent = hstasks.task_input(_task(HOSTILE), "10001")["properties"]["hs_task_body"]
    assert sent == (
        "Renewal risk: &lt;img src=x onerror=alert(1)&gt;<br>A &amp; B &lt;Ltd&gt;<br><br>Next step: call them"
    )
    assert hstasks.task_input(_task("a\r\nb"), None)["properties"]["hs_task_body"] == "a<br>b"


def test_a_long_body_is_cut_without_breaking_an_entity_or_a_tag() -> None:
    for filler in ("&", "<", "\n", "x&"):
        sent = hstasks.task_input(_task(filler * 40_000), None)["properties"]["hs_task_body"]
        assert len(sent) <= hstasks.BODY_LIMIT
        assert not re.search(r"&[a-z#0-9]*$|<[^>]*$", sent), sent[-12:]


def test_the_emulator_renders_notes_as_hubspot_does() -> None:
    from integrations.sandbox.hubspot.tasks_api import notes_html

    assert str(notes_html("A &amp; B &lt;Ltd&gt;<br>next")) == "A &amp; B &lt;Ltd&gt;<br>next"
    shown = str(
        notes_html(
            '<p onclick="x()">Hi <b>there</b></p><script>alert(1)</script><img src=x onerror=alert(1)>'
            '<a href="javascript:alert(1)">j</a><a href="https://example.com/?a=1&amp;b=2">ok</a>'
        )
    )
    assert shown == (
        '<p>Hi <b>there</b></p><a>j</a><a href="https://example.com/?a=1&amp;b=2" rel="noopener">ok</a>'
    )
    assert str(notes_html("plain & simple")) == "plain &amp; simple"


def test_the_company_page_shows_the_task_body_as_text(sandbox: Any, sandbox_http: requests.Session) -> None:
    from tests.sandbox.test_record_pages import _api, _get

    creds, ctx = sandbox.credentials(), sandbox.ctx
    with ctx.lock:
        company = next(o for o in render(ctx, "companies") if o.archived_at is None)
    task = TaskCreate(
        key="k1", account_external_id=company.id, subject="Call", body=HOSTILE, due=date(2026, 12, 1)
    )
    _api(sandbox_http, creds["hubspot"], "POST", "/crm/v3/objects/tasks/batch/create",
         {"inputs": [hstasks.task_input(task, None)]})  # fmt: skip
    portal = ctx.vendors["hubspot"].extra["portal_id"]
    page = _get(sandbox, f"/contacts/{portal}/company/{company.id}").text
    tasks = page[page.index("<h2>Tasks</h2>") :]
    assert (
        "Renewal risk: &lt;img src=x onerror=alert(1)&gt;<br>A &amp; B &lt;Ltd&gt;<br><br>Next step" in tasks
    )
    assert "<img" not in tasks
    assert "&amp;lt;" not in tasks  # not escaped twice
