"""The emulators' read-only record pages at the vendors' deep-link paths (integrations/sandbox/pages.py),
served on the control API's plain-HTTP port: the record as the emulator holds it, the tasks and tickets our
plays made on it, HTML-escaped, 404 for what does not exist, and never counted as a vendor API call."""

from __future__ import annotations

from typing import Any

import requests

from integrations.sandbox.hubspot.render import render
from integrations.sandbox.salesforce.render import rendered
from integrations.sandbox.zendesk.state import org_id, ticket_id


def _get(sandbox: Any, path: str) -> requests.Response:
    assert sandbox.control_url.startswith("http://")  # no certificate for a browser to warn about
    return requests.get(f"{sandbox.control_url}{path}", timeout=10)


def test_salesforce_account_page_shows_fields_written_values_and_play_tasks(sandbox: Any) -> None:
    account = next(r for r in rendered(sandbox.ctx, "Account") if not r.get("IsDeleted"))
    state = sandbox.ctx.vendors["salesforce"]
    state.extra.setdefault("tasks", {})["00T000000000001AAA"] = {
        "Id": "00T000000000001AAA", "WhatId": account["Id"], "Subject": "Health score: <Acme> entered Red (At risk)",
        "Status": "Not Started", "Priority": "High", "ActivityDate": None, "Description": "moved from Yellow (Watch)",
    }  # fmt: skip
    resp = _get(sandbox, f"/lightning/r/Account/{account['Id']}/view")
    assert resp.status_code == 200
    assert "text/html" in resp.headers["Content-Type"]
    assert f"<td>{account['Id']}</td>" in resp.text
    assert "Health score: &lt;Acme&gt; entered Red (At risk)" in resp.text  # escaped, in the Tasks list
    assert "<Acme>" not in resp.text
    assert sandbox.ctx.counters.get("salesforce") == 0  # a person's page view is no API call
    assert _get(sandbox, "/lightning/r/Account/001000000000000AAA/view").status_code == 404
    assert _get(sandbox, "/lightning/r/Nonsense/x/view").status_code == 404


def test_hubspot_company_and_ticket_pages(sandbox: Any) -> None:
    portal = sandbox.ctx.vendors["hubspot"].extra["portal_id"]
    with sandbox.ctx.lock:
        company = next(o for o in render(sandbox.ctx, "companies") if o.archived_at is None)
        ticket = next(o for o in render(sandbox.ctx, "tickets") if o.archived_at is None)
    resp = _get(sandbox, f"/contacts/{portal}/company/{company.id}")
    assert resp.status_code == 200
    assert f"<th>id</th><td>{company.id}</td>" in resp.text
    assert "<h1>Company: " in resp.text
    assert "No tasks on this company." in resp.text
    assert _get(sandbox, f"/contacts/{portal}/record/0-5/{ticket.id}").status_code == 200
    assert _get(sandbox, f"/contacts/{portal}/record/0-2/{company.id}").status_code == 200
    assert _get(sandbox, f"/contacts/1/company/{company.id}").status_code == 404  # another portal


def test_zendesk_ticket_and_organization_pages(sandbox: Any) -> None:
    book = sandbox.ctx.book
    t = next(t for t in book.tickets.values() if t.channel == "zendesk" and t.created_at <= book.now)
    resp = _get(sandbox, f"/agent/tickets/{ticket_id(t.key)}")
    assert resp.status_code == 200
    assert f"Ticket #{ticket_id(t.key)}" in resp.text
    c = next(c for c in book.customers.values() if c.zendesk.present and c.created_at <= book.now)
    org = _get(sandbox, f"/agent/organizations/{org_id(c.key)}")
    assert org.status_code == 200
    assert "Organization:" in org.text
    assert _get(sandbox, "/agent/tickets/1").status_code == 404
