"""Play tasks on Salesforce: created on the Account for its owner through POST composite/sobjects,
completed through PATCH composite/sobjects, and visible through the unmodified simple-salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

import pytest
import requests
from simple_salesforce.api import Salesforce

from integrations.salesforce import tasks as sftasks
from integrations.salesforce.adapter import SalesforceAdapter
from integrations.tasks import TaskClose, TaskCreate
from tests.sandbox_connection import sandbox_connection

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet

pytest.importorskip("integrations.sandbox.runner")


@pytest.fixture
def adapter(sandbox: SandboxSet) -> Iterator[SalesforceAdapter]:
    conn = sandbox_connection(sandbox, "salesforce")
    made = SalesforceAdapter(conn)
    yield made
    made.close()


@pytest.fixture
def sdk(sandbox: SandboxSet) -> Iterator[Salesforce]:
    creds = sandbox.credentials()["salesforce"]
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_file or True
    yield Salesforce(
        instance_url=creds["base_url"], session_id=creds["access_token"], session=session, version="59.0"
    )
    session.close()


def test_builders() -> None:
    t = TaskCreate(key="7", account_external_id="001AAA", subject="S" * 300, body="b", due=date(2026, 1, 2))
    rec = sftasks.task_record(t, "005X")
    assert rec["attributes"] == {"type": "Task"}
    assert (rec["WhatId"], rec["OwnerId"], rec["ActivityDate"], rec["Status"]) == (
        "001AAA",
        "005X",
        "2026-01-02",
        "Not Started",
    )
    assert len(rec["Subject"]) == 255
    assert sftasks.close_record(TaskClose(key="7", task_external_id="00TX")) == {
        "attributes": {"type": "Task"},
        "id": "00TX",
        "Status": "Completed",
    }
    assert "x' OR" not in sftasks.owners_query(["001000000000000AAA", "x' OR Name != '"])


def test_tasks_created_for_the_owner_and_closed_visible_through_the_sdk(
    sandbox: SandboxSet, adapter: SalesforceAdapter, sdk: Salesforce
) -> None:
    accounts = sdk.query("SELECT Id, OwnerId FROM Account ORDER BY Id LIMIT 3")["records"]
    due = date(2026, 12, 1)
    made = adapter.create_tasks(
        [
            TaskCreate(key=str(n), account_external_id=a["Id"], subject=f"Call {n}", body="why", due=due)
            for n, a in enumerate(accounts)
        ]
        + [TaskCreate(key="gone", account_external_id="001000000000000AAA", subject="x", body="", due=due)]
    )
    assert [r.key for r in made] == ["0", "1", "2", "gone"]
    assert all(r.ok and r.external_id for r in made[:3])
    assert (made[3].ok, made[3].error_code) == (False, "NO_ACCOUNT")
    counts = sandbox.ctx.counters
    assert counts.get("salesforce", "POST */composite/sobjects") == 1  # one collection for three tasks

    first = accounts[0]
    rows = sdk.query(
        f"SELECT Id, Subject, Status, OwnerId, ActivityDate, IsClosed FROM Task WHERE WhatId = '{first['Id']}'"
    )["records"]
    assert [
        (r["Id"], r["Subject"], r["Status"], r["OwnerId"], r["ActivityDate"], r["IsClosed"]) for r in rows
    ] == [(made[0].external_id, "Call 0", "Not Started", first["OwnerId"], "2026-12-01", False)]

    closed = adapter.close_tasks([TaskClose(key="0", task_external_id=str(made[0].external_id))])
    assert closed[0].ok
    assert counts.get("salesforce.tasks") == 2  # the create and the close
    one = sdk.Task.get(str(made[0].external_id))
    assert (one["Status"], one["IsClosed"]) == ("Completed", True)
    still_open = sdk.query("SELECT Id FROM Task WHERE IsClosed = false")["totalSize"]
    assert still_open == 2


def test_close_of_an_unknown_task_is_a_row_error(adapter: SalesforceAdapter) -> None:
    (res,) = adapter.close_tasks([TaskClose(key="9", task_external_id="00T000000000000AAA")])
    assert (res.ok, res.error_code) == (False, "INVALID_CROSS_REFERENCE_KEY")
