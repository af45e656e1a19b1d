"""Play tickets on Zendesk: create_many jobs (polled) on the organization, visible through unmodified zenpy."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import requests
from zenpy import Zenpy

from integrations.tasks import TicketCreate
from integrations.zendesk import tasks as zd_tasks
from integrations.zendesk.params import split_host
from tests.integrations.zendesk.test_seeded import adapter_for

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet


def test_ticket_payload() -> None:
    body = zd_tasks.ticket_payload(
        TicketCreate(key="1", organization_external_id="360001", subject="S", body="B", due=date(2026, 12, 1))
    )
    assert (body["organization_id"], body["type"], body["due_at"]) == (360001, "task", "2026-12-01T00:00:00Z")
    assert body["comment"] == {"body": "B", "public": False}


def test_tickets_created_on_the_organization_visible_through_zenpy(sandbox_set: SandboxSet) -> None:
    sandbox_set.restore()
    try:
        _created_and_visible(sandbox_set)
    finally:
        sandbox_set.restore()


def _created_and_visible(sandbox: SandboxSet) -> None:
    adapter = adapter_for(sandbox)
    orgs = sorted(zd_org_ids(sandbox))[:2]
    due = date(2026, 12, 1)
    made = adapter.create_tickets(
        [
            TicketCreate(
                key=f"k{n}", organization_external_id=str(o), subject=f"Red {n}", body="why", due=due
            )
            for n, o in enumerate(orgs)
        ]
        + [TicketCreate(key="gone", organization_external_id="1", subject="x", body="y", due=due)]
    )
    assert [(r.key, r.ok) for r in made] == [("k0", True), ("k1", True), ("gone", False)]
    assert made[2].error_code == "RecordInvalid"
    assert sandbox.ctx.counters.get("zendesk", "POST /api/v2/tickets/create_many.json") == 1
    cred = sandbox.credentials()["zendesk"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_file or True
    subdomain, domain = split_host(cred["base_url"])
    zd = Zenpy(subdomain=subdomain, domain=domain, oauth_token=cred["access_token"], session=session)
    ticket = zd.tickets(id=int(str(made[0].external_id)))
    assert (ticket.subject, ticket.organization_id, ticket.type, ticket.status) == (
        "Red 0",
        orgs[0],
        "task",
        "new",
    )
    assert "healthscore_play" in ticket.tags
    adapter.close()


def zd_org_ids(sandbox: SandboxSet) -> list[int]:
    from integrations.sandbox.zendesk.state import org_id

    return [
        org_id(c.key) for c in sandbox.ctx.book.customers.values() if c.zendesk.present and not c.deleted_at
    ]
