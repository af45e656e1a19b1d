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
    assert f'<th title="id">Record ID</th><td>{company.id}</td>' in resp.text
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


def _api(http: requests.Session, creds: dict[str, Any], method: str, path: str, body: Any) -> Any:
    resp = http.request(
        method,
        f"{creds['base_url']}{path}",
        json=body,
        headers={"Authorization": f"Bearer {creds['access_token']}"},
    )
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def test_record_pages_show_picklist_labels_from_the_emulators_field_metadata(
    sandbox: Any, sandbox_http: requests.Session
) -> None:
    """A vendor's UI shows a picklist value's label ("Red"), not its API value (`red`): the pages take the
    label from the field metadata our product created (the same payloads as ensure_fields), HTML-escaped,
    and show a value the metadata does not list as is."""
    from integrations.hubspot.mapping import SCORE_PROPERTIES, Settings, property_definition
    from integrations.salesforce.mapping import FIELD_METADATA
    from integrations.zendesk.mapping import field_specs

    creds = sandbox.credentials()
    ctx = sandbox.ctx

    sf = creds["salesforce"]
    metadata = {**FIELD_METADATA["health_band"]}
    metadata["valueSet"] = {  # the product's picklist, plus a label that needs escaping
        "valueSetDefinition": {
            "value": [*metadata["valueSet"]["valueSetDefinition"]["value"], {"fullName": "x", "label": "<X>"}]
        }
    }
    body = {"FullName": "Account.Health_Band__c", "Metadata": metadata}
    _api(sandbox_http, sf, "POST", "/services/data/v59.0/tooling/sobjects/CustomField", body)
    accounts = [r for r in rendered(ctx, "Account") if not r.get("IsDeleted")][:3]
    for account, value in zip(accounts, ("red", "x", "purple"), strict=True):
        path = f"/services/data/v59.0/sobjects/Account/{account['Id']}"
        _api(sandbox_http, sf, "PATCH", path, {"Health_Band__c": value})
    pages = [_get(sandbox, f"/lightning/r/Account/{a['Id']}/view").text for a in accounts]
    # rows headed by the field's label, as Salesforce shows them; the API name stays as the tooltip
    assert '<th title="Health_Band__c">Health Band</th><td>Red</td>' in pages[0]
    assert '<th title="Health_Band__c">Health Band</th><td>&lt;X&gt;</td>' in pages[1]
    assert '<th title="Health_Band__c">Health Band</th><td>purple</td>' in pages[2]  # not in the picklist

    hs = creds["hubspot"]
    s = Settings()
    _api(
        sandbox_http,
        hs,
        "POST",
        "/crm/v3/properties/companies/groups",
        {"name": s.property_group, "label": "H"},
    )
    prop = next(p for p in SCORE_PROPERTIES if p.key == "health_band")
    _api(sandbox_http, hs, "POST", "/crm/v3/properties/companies", property_definition(prop, s))
    with ctx.lock:
        company = next(o for o in render(ctx, "companies") if o.archived_at is None)
    update = {"inputs": [{"id": company.id, "properties": {prop.name: "yellow"}}]}
    _api(sandbox_http, hs, "POST", "/crm/v3/objects/companies/batch/update", update)
    portal = ctx.vendors["hubspot"].extra["portal_id"]
    assert (
        f'<th title="{prop.name}">{prop.label}</th><td>Yellow</td>'
        in _get(sandbox, f"/contacts/{portal}/company/{company.id}").text
    )

    zd = creds["zendesk"]
    spec = next(f for f in field_specs() if f.logical == "health_band")
    _api(sandbox_http, zd, "POST", "/api/v2/organization_fields.json", {"organization_field": spec.payload()})
    c = next(c for c in ctx.book.customers.values() if c.zendesk.present and c.created_at <= ctx.book.now)
    item = {"id": org_id(c.key), "organization_fields": {spec.key: "healthscore_band_green"}}
    _api(sandbox_http, zd, "PUT", "/api/v2/organizations/update_many.json", {"organizations": [item]})
    assert (
        f'<th title="{spec.key}">{spec.payload()["title"]}</th><td>Green</td>'
        in _get(sandbox, f"/agent/organizations/{org_id(c.key)}").text
    )


def test_task_and_ticket_lists_show_option_labels_not_api_codes(
    sandbox: Any, sandbox_http: requests.Session
) -> None:
    """A HubSpot task's `NOT_STARTED`/`HIGH`/`TODO` and a Zendesk ticket's `hold`/`urgent`/`task` read as the
    vendors' UIs name them ("Not started", "On-hold"), on the company, organization and ticket pages."""
    from integrations.sandbox.hubspot.tasks_api import OPTION_LABELS, PRIORITIES, STATUSES, TYPES
    from integrations.sandbox.zendesk import tickets_api

    assert set(OPTION_LABELS["hs_task_status"]) == set(STATUSES)  # every allowed option has its label
    assert set(OPTION_LABELS["hs_task_priority"]) == set(PRIORITIES)
    assert set(OPTION_LABELS["hs_task_type"]) == set(TYPES)
    for name, allowed in (("type", tickets_api.TYPES), ("priority", tickets_api.PRIORITIES)):
        assert set(tickets_api.FIELD_LABELS[name]) == set(allowed) - {None}
    assert set(tickets_api.FIELD_LABELS["status"]) == set(tickets_api.STATUSES) - {None}

    creds, ctx = sandbox.credentials(), sandbox.ctx
    with ctx.lock:
        company = next(o for o in render(ctx, "companies") if o.archived_at is None)
    props = {"hs_timestamp": "2026-03-01T00:00:00Z", "hs_task_subject": "Call them", "hs_task_status": "NOT_STARTED",
             "hs_task_priority": "HIGH", "hs_task_type": "TODO"}  # fmt: skip
    assoc = [
        {
            "to": {"id": company.id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
        }
    ]
    _api(sandbox_http, creds["hubspot"], "POST", "/crm/v3/objects/tasks/batch/create",
         {"inputs": [{"properties": props, "associations": assoc}]})  # fmt: skip
    portal = ctx.vendors["hubspot"].extra["portal_id"]
    page = _get(sandbox, f"/contacts/{portal}/company/{company.id}").text
    tasks = page[page.index("<h2>Tasks</h2>") :]
    for shown in ("<td>Not started</td>", "<td>High</td>", "<td>To-do</td>"):
        assert shown in tasks
    assert "NOT_STARTED" not in tasks

    c = next(c for c in ctx.book.customers.values() if c.zendesk.present and c.created_at <= ctx.book.now)
    ticket = {"subject": "Renewal risk", "comment": {"body": "Call them"}, "organization_id": org_id(c.key),
              "type": "task", "priority": "urgent", "status": "hold", "due_at": "2026-03-08T00:00:00Z"}  # fmt: skip
    _api(sandbox_http, creds["zendesk"], "POST", "/api/v2/tickets/create_many.json", {"tickets": [ticket]})
    org = _get(sandbox, f"/agent/organizations/{org_id(c.key)}").text
    created = org[org.index("Tickets created through the API") :]
    for shown in ("<td>On-hold</td>", "<td>Urgent</td>", "<td>Task</td>"):
        assert shown in created
    tid = next(iter(ctx.vendors["zendesk"].extra["created_tickets"]))
    assert "<th>status</th><td>On-hold</td>" in _get(sandbox, f"/agent/tickets/{tid}").text


def test_hubspot_built_in_options_read_as_hubspot_labels_them(sandbox: Any) -> None:
    """Built-in enumeration labels were the value's title(): a deal page read "Closedwon", a ticket's stage
    "2", a segment "Mid_Market", a survey type "Nps". Stages take their pipeline's labels (the pipelines API),
    booleans Yes/No, acronyms stay."""
    from integrations.sandbox.hubspot.names_api import DEAL_PIPELINE
    from integrations.sandbox.hubspot.render import property_defs

    ctx = sandbox.ctx
    with ctx.lock:
        labels = {
            (t, name): {o["value"]: o["label"] for o in p["options"]}
            for t in ("deals", "tickets", "companies", "feedback_submissions")
            for name, p in property_defs(ctx, t).items()
            if p["options"]
        }
        deal = next(
            o for o in render(ctx, "deals") if o.archived_at is None and o.properties.get("dealstage")
        )
    stage = deal.properties["dealstage"]
    assert labels[("deals", "dealstage")][stage] == DEAL_PIPELINE[stage][0]
    assert labels[("deals", "dealstage")]["closedwon"] == "Closed Won"
    assert labels[("tickets", "hs_pipeline_stage")]["2"] == "Waiting on contact"
    assert labels[("companies", "customer_segment")]["mid_market"] == "Mid market"
    assert labels[("feedback_submissions", "hs_survey_type")]["NPS"] == "NPS"
    assert labels[("deals", "hs_is_closed")] == {"true": "Yes", "false": "No"}
    portal = ctx.vendors["hubspot"].extra["portal_id"]
    page = _get(sandbox, f"/contacts/{portal}/record/0-3/{deal.id}").text
    assert f'<th title="dealstage">Deal Stage</th><td>{DEAL_PIPELINE[stage][0]}</td>' in page


def test_salesforce_standard_fields_carry_salesforces_own_labels(sandbox: Any) -> None:
    """The Account page headed its standard fields with API names run together ('AnnualRevenue', 'OwnerId',
    'IsDeleted', 'CreatedDate') while custom fields read 'Health Band': describe gave a standard field its
    API name as label. Salesforce labels them 'Annual Revenue', 'Owner ID', 'Deleted', 'Created Date'."""
    from integrations.sandbox.salesforce.writes import describe

    with sandbox.ctx.lock:
        labels = {f["name"]: f["label"] for f in describe(sandbox.ctx, "Account")["fields"]}
        case = {f["name"]: f["label"] for f in describe(sandbox.ctx, "Opportunity")["fields"]}
    assert labels["Id"] == "Account ID"
    assert labels["IsDeleted"] == "Deleted"
    assert labels["AnnualRevenue"] == "Annual Revenue"
    assert labels["OwnerId"] == "Owner ID"
    assert labels["CreatedDate"] == "Created Date"
    assert labels["LastModifiedDate"] == "Last Modified Date"
    assert labels["SystemModstamp"] == "System Modstamp"
    assert case.get("StageName") in (None, "Stage")
    assert case.get("AccountId") in (None, "Account ID")
    assert case.get("IsWon") in (None, "Won")
    account = next(r for r in rendered(sandbox.ctx, "Account") if not r.get("IsDeleted"))
    page = _get(sandbox, f"/lightning/r/Account/{account['Id']}/view").text
    assert '<th title="AnnualRevenue">Annual Revenue</th>' in page
    assert '<th title="Id">Account ID</th>' in page
