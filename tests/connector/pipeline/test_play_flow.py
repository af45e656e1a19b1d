"""Plays end to end through the outbox: band changes fire an enabled play in the score step, the task
write-back sends creates and closes with the adapter's batch calls, a flapping account gets one task, and
account.band_changed events carry the play ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from connector.installs.vault import Vault
from connector.pipeline import task_writeback
from connector.store import models as m
from integrations.tasks import TaskClose, TaskCreate, TaskResult, TicketCreate
from tests.connector import builders as b
from tests.connector.builders import DAY, T0
from tests.connector.pipeline.test_score import _pass, _publish, _seats


class FakeCRM:
    """Records the batch calls the task write-back makes and answers like a vendor."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any]]] = []

    def create_tasks(self, items: list[TaskCreate]) -> list[TaskResult]:
        self.calls.append(("create", items))
        return [TaskResult(key=i.key, ok=True, external_id=f"00T{i.key}") for i in items]

    def close_tasks(self, items: list[TaskClose]) -> list[TaskResult]:
        self.calls.append(("close", items))
        return [TaskResult(key=i.key, ok=True) for i in items]

    def create_tickets(self, items: list[TicketCreate]) -> list[TaskResult]:
        self.calls.append(("ticket", items))
        return [TaskResult(key=i.key, ok=True, external_id="4711") for i in items]


def _play(s: Any, tenant_id: int, **kw: Any) -> int:
    row = m.Play(
        tenant_id=tenant_id,
        name=kw.pop("name", "Enters red"),
        to_band="red",
        from_bands=[],
        segments=[],
        subject="Health score: {account} entered {band}",
        next_step="Call the sponsor this week",
        due_days=2,
        zendesk_ticket=False,
        on_recovery="close",
        cooldown_days=14,
        enabled=True,
        created_at=T0,
        updated_at=T0,
    )
    for k, v in kw.items():
        setattr(row, k, v)
    s.add(row)
    s.flush()
    return row.id


def _write(db_url: str, tenant_id: int, crm: FakeCRM) -> task_writeback.TaskWriteReport:
    with b.session(db_url) as s:
        inst = s.scalars(select(m.Installation).where(m.Installation.tenant_id == tenant_id)).one()
        s.expunge(inst)
    return task_writeback.write_tasks(db_url, inst, crm)


def test_a_flapping_account_gets_one_task_closed_on_recovery(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        acc = _seats(s, t, "001", 0.80)
        b.endpoint(s, vault, t, "http://127.0.0.1:9/bands", [])
        play = _play(s, t)
        _play(s, t, name="Off", enabled=False)  # a disabled play never fires
    crm = FakeCRM()
    _pass(db_url, t, T0)
    # red, yellow, red, yellow, red: each pass followed by a write-back run
    for day, seats in enumerate([0.40, 0.60, 0.40, 0.60, 0.40], start=1):
        _pass(db_url, t, T0 + day * DAY, {"001": seats})
        _write(db_url, t, crm)
    kinds = [(k, len(items)) for k, items in crm.calls]
    assert kinds == [("create", 1), ("close", 1)]  # one task, closed on the first recovery, never repeated
    created = crm.calls[0][1][0]
    assert (created.account_external_id, created.due) == ("001", (T0 + DAY + 2 * DAY).date())
    assert "Suggested next step: Call the sponsor this week" in created.body
    assert created.subject == "Health score: Account 001 entered Red (At risk)"
    with b.session(db_url) as s:
        tasks = s.scalars(select(m.PlayTask)).all()
        assert [(x.account_id, x.play_id, x.state, x.vendor_task_id) for x in tasks] == [
            (acc, play, "closed", f"00T{crm.calls[0][1][0].key}")
        ]
        assert s.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.kind == "task")).all() == []
        events = s.scalars(select(m.WebhookEvent).order_by(m.WebhookEvent.id)).all()
        bands = [
            (e.payload["data"]["new_band"], e.payload["data"]["plays"])
            for e in events
            if e.type == "account.band_changed"
        ]
    assert bands == [("red", [play]), ("yellow", []), ("red", [play]), ("yellow", []), ("red", [play])]


def test_leave_rule_keeps_the_task_and_a_ticket_goes_to_the_linked_org(db_url: str, tmp_path: Path) -> None:
    from connector.pipeline import link as linking

    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        _seats(s, t, "001", 0.80)
        b.org(s, t, "900", "Helpdesk Org", cross_ref="001")
        linking.link_tenant(s, t)
        _play(s, t, on_recovery="leave", zendesk_ticket=True)
    _pass(db_url, t, T0)
    _pass(db_url, t, T0 + DAY, {"001": 0.40})
    with b.session(db_url) as s:
        rows = s.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.kind == "task")).all()
        # no Zendesk installation: the ticket is not queued, the CRM task is
        assert [r.values["op"] for r in rows] == ["create"]
    _write(db_url, t, FakeCRM())
    _pass(db_url, t, T0 + 2 * DAY, {"001": 0.90})
    with b.session(db_url) as s:
        assert [x.state for x in s.scalars(select(m.PlayTask))] == ["open"]
        assert s.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.kind == "task")).all() == []


def test_a_failed_create_is_recorded_and_a_retryable_one_stays_queued(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        _seats(s, t, "001", 0.80)
        _seats(s, t, "002", 0.80)
        _play(s, t)
    _pass(db_url, t, T0)
    _pass(db_url, t, T0 + DAY, {"001": 0.40, "002": 0.40})

    class Refusing(FakeCRM):
        def create_tasks(self, items: list[TaskCreate]) -> list[TaskResult]:
            return [
                TaskResult(key=i.key, ok=False, error_code="NO_ACCOUNT", message="gone")
                if i.account_external_id == "001"
                else TaskResult(key=i.key, ok=False, error_code="UNABLE_TO_LOCK_ROW", retryable=True)
                for i in items
            ]

    report = _write(db_url, t, Refusing())
    assert report.failed == 1
    with b.session(db_url) as s:
        states = {x.account_id: (x.state, x.last_error) for x in s.scalars(select(m.PlayTask))}
        assert sorted(v[0] for v in states.values()) == ["failed", "queued"]
        pending = s.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.kind == "task")).all()
        assert [(r.external_id, r.status) for r in pending] == [("002", "pending")]
    assert _write(db_url, t, FakeCRM()).created == 1


def test_through_the_outbox_into_the_salesforce_emulator(db_url: str, tmp_path: Path, sandbox: Any) -> None:
    """The score step queues, the task write-back sends with the real adapter; simple-salesforce sees one
    Task on the Account after a flap, Completed after the recovery."""
    import requests
    from simple_salesforce.api import Salesforce

    creds = sandbox.credentials()["salesforce"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_file or True
    sdk = Salesforce(
        instance_url=creds["base_url"], session_id=creds["access_token"], session=session, version="59.0"
    )
    account = sdk.query("SELECT Id, OwnerId FROM Account ORDER BY Id LIMIT 1")["records"][0]
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        b.crm_account(s, t, account["Id"], "Sandbox Account", metrics={"seat_utilisation": 0.80})
        _play(s, t)
    adapter = _salesforce_adapter(sandbox)
    try:
        _pass(db_url, t, T0)
        for day, seats in enumerate([0.40, 0.60, 0.40], start=1):  # red, recovered, red again (cooldown)
            with b.session(db_url) as s:
                b.account_row(s, t, "salesforce", account["Id"]).metrics = {"seat_utilisation": seats}
            _pass(db_url, t, T0 + day * DAY)
            _write(db_url, t, adapter)  # type: ignore[arg-type]
    finally:
        adapter.close()
    rows = sdk.query(f"SELECT Id, Status, OwnerId, Subject FROM Task WHERE WhatId = '{account['Id']}'")[
        "records"
    ]
    assert [(r["Status"], r["OwnerId"], r["Subject"]) for r in rows] == [
        ("Completed", account["OwnerId"], "Health score: Sandbox Account entered Red (At risk)")
    ]
    session.close()


def _salesforce_adapter(sandbox: Any) -> Any:
    from integrations.salesforce.adapter import SalesforceAdapter
    from tests.sandbox_connection import sandbox_connection

    return SalesforceAdapter(sandbox_connection(sandbox, "salesforce"))
