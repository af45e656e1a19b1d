"""Play tickets are not support signals: the Zendesk emulator exports the tickets our plays created (as
Zendesk does, tags and external_id intact), the adapter leaves them out of the TICKETS stream, and syncing
them back changes no stored ticket and no ticket metric of the account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import requests
from sqlalchemy import func, select

from connector.pipeline.signals import load_signals
from connector.store import models as m
from connector.store import repo as store
from integrations.base import Stream
from integrations.tasks import TicketCreate
from integrations.zendesk import tasks as zd_tasks
from tests.connector import builders as b
from tests.integrations.zendesk.test_seeded import adapter_for
from tests.integrations.zendesk.test_tickets import zd_org_ids


def test_is_play_ticket_on_the_wire_format() -> None:
    assert zd_tasks.is_play_ticket({"tags": ["support", "healthscore_play"], "external_id": None})
    assert zd_tasks.is_play_ticket({"tags": ["HealthScore_Play"]})
    assert zd_tasks.is_play_ticket(
        {"tags": [], "external_id": "healthscore-play:17"}
    )  # tag removed by an agent
    assert not zd_tasks.is_play_ticket({"tags": ["healthscore", "billing"], "external_id": "SF-42"})
    assert not zd_tasks.is_play_ticket({"tags": None, "external_id": None})
    payload = zd_tasks.ticket_payload(
        TicketCreate(key="9", organization_external_id="1", subject="S", body="B", due=date(2026, 12, 1),
                     reference="314")
    )  # fmt: skip
    assert (payload["tags"], payload["external_id"]) == (
        ["healthscore", "healthscore_play"],
        "healthscore-play:314",
    )
    assert zd_tasks.is_play_ticket(payload)


def _raw_export(sandbox: Any, start: int) -> list[dict[str, Any]]:
    cred = sandbox.credentials()["zendesk"]
    http = requests.Session()
    http.trust_env = False
    http.verify = sandbox.ca_file or True
    url: str | None = (
        f"{cred['base_url']}/api/v2/incremental/tickets/cursor.json?start_time={start}&include=metric_sets"
    )
    out: list[dict[str, Any]] = []
    while url:
        body = http.get(url, headers={"Authorization": f"Bearer {cred['access_token']}"}, timeout=30).json()
        out += body["tickets"]
        assert len(body["metric_sets"]) == len(body["tickets"])
        url = None if body["end_of_stream"] else body["after_url"]
    http.close()
    return out


def _sync(db_url: str, tenant_id: int, records: list[Any], org: str, crm_id: int) -> None:
    """Store what the adapter read and link the org's tickets to the CRM account (as the link step would)."""
    with b.session(db_url) as s:
        store.upsert_records(s, tenant_id, records)
        s.flush()
        for t in s.scalars(select(m.Ticket).where(m.Ticket.account_external_id == org)):
            t.crm_account_id = crm_id


def _ticket_metrics(db_url: str, tenant_id: int, crm_id: int, as_of: Any) -> tuple[int, dict[str, Any]]:
    with b.session(db_url) as s:
        n = int(
            s.scalar(select(func.count()).select_from(m.Ticket).where(m.Ticket.crm_account_id == crm_id)) or 0
        )
        sig = next(x for x in load_signals(s, tenant_id, as_of) if x.account_id == str(crm_id))
        return n, dict(sig.metrics)


def test_play_tickets_synced_back_change_no_ticket_metric(db_url: str, sandbox: Any) -> None:
    adapter = adapter_for(sandbox)
    try:
        org = str(sorted(zd_org_ids(sandbox))[0])
        first = list(adapter.read(Stream.TICKETS, None))
        with b.session(db_url) as s:
            t = b.tenant(s)
            crm = b.crm_account(s, t, "001", "Linked Co")
        _sync(db_url, t, [r for p in first for r in p.records], org, crm)
        as_of = sandbox.ctx.book.now + timedelta(minutes=5)
        before = _ticket_metrics(db_url, t, crm, as_of)
        assert before[0] > 0  # the org has tickets of its own: the metrics below are not all empty
        made = adapter.create_tickets(
            [TicketCreate(key=f"k{n}", organization_external_id=org, subject="Enters red", body="why",
                          due=date(2026, 12, 1), reference=str(100 + n)) for n in range(2)]
        )  # fmt: skip
        ids = {str(r.external_id) for r in made if r.ok}
        assert len(ids) == 2
        start = int(sandbox.ctx.book.now.timestamp()) - 10
        sandbox.ctx.book.now += timedelta(minutes=2)  # past Zendesk's one-minute export lag, nothing else
        raw = {str(x["id"]): x for x in _raw_export(sandbox, start)}
        assert ids <= raw.keys()  # Zendesk exports them like any other ticket
        one = raw[min(ids)]
        assert one["tags"] == ["healthscore", "healthscore_play"]
        assert one["external_id"] in {"healthscore-play:100", "healthscore-play:101"}
        assert (one["is_public"], one["type"], str(one["organization_id"])) == (False, "task", org)
        again = [r for p in adapter.read(Stream.TICKETS, first[-1].cursor) for r in p.records]
        assert not ids & {r.external_id for r in again}
        assert {r.external_id for r in again} == raw.keys() - ids
        _sync(db_url, t, again, org, crm)
        assert _ticket_metrics(db_url, t, crm, as_of) == before
        with b.session(db_url) as s:
            assert not s.scalars(select(m.Ticket).where(m.Ticket.external_id.in_(ids))).all()
    finally:
        adapter.close()
