"""Play tasks on HubSpot: batch create with the company association (type 192) and the company owner,
batch update to COMPLETED, visible through the unmodified hubspot-api-client (list, get, associations)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from hubspot import HubSpot

from integrations.hubspot import tasks as hstasks
from integrations.tasks import TaskClose, TaskCreate
from tests.integrations.hubspot.test_adapter_seeded import adapter_for

if TYPE_CHECKING:
    from integrations.sandbox.runner import SandboxSet


def _sdk(sandbox: SandboxSet) -> HubSpot:
    cred = sandbox.credentials()["hubspot"]
    return HubSpot(
        access_token=cred["access_token"], host=cred["base_url"], ssl_ca_cert=sandbox.ca_file, retry=False
    )


def test_task_input_shape() -> None:
    t = TaskCreate(key="k1", account_external_id="42", subject="Call", body="why", due=date(2026, 12, 1))
    body = hstasks.task_input(t, "10001")
    assert body["objectWriteTraceId"] == "k1"
    assert body["associations"] == [
        {"to": {"id": "42"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}
    ]
    assert body["properties"]["hs_timestamp"] == "2026-12-01T00:00:00.000Z"
    assert (body["properties"]["hubspot_owner_id"], body["properties"]["hs_task_status"]) == (
        "10001",
        "NOT_STARTED",
    )


def test_tasks_created_for_the_owner_and_completed_visible_through_the_sdk(sandbox: SandboxSet) -> None:
    adapter = adapter_for(sandbox)
    sdk = _sdk(sandbox)
    companies = sdk.crm.companies.basic_api.get_page(limit=3, properties=["hubspot_owner_id"]).results
    due = date(2026, 12, 1)
    made = adapter.create_tasks(
        [
            TaskCreate(key=f"t{n}", account_external_id=c.id, subject=f"Call {n}", body="drivers", due=due)
            for n, c in enumerate(companies)
        ]
        + [TaskCreate(key="gone", account_external_id="999999999", subject="x", body="", due=due)]
    )
    assert [r.key for r in made] == ["t0", "t1", "t2", "gone"]
    assert all(r.ok and r.external_id for r in made[:3]), made
    assert (made[3].ok, made[3].error_code) == (False, "NO_COMPANY")
    counters = sandbox.ctx.counters
    assert counters.get("hubspot", "POST /crm/v3/objects/tasks/batch/create") == 1

    page = sdk.crm.objects.basic_api.get_page(
        "tasks",
        limit=100,
        properties=["hs_task_subject", "hs_task_status", "hubspot_owner_id", "hs_timestamp"],
        associations=["companies"],
    )
    by_id = {t.id: t for t in page.results}
    first = by_id[str(made[0].external_id)]
    assert first.properties["hs_task_subject"] == "Call 0"
    assert first.properties["hs_task_status"] == "NOT_STARTED"
    assert first.properties["hubspot_owner_id"] == companies[0].properties["hubspot_owner_id"]
    assert [a.id for a in first.associations["companies"].results] == [companies[0].id]
    linked = sdk.crm.associations.v4.basic_api.get_page("companies", companies[0].id, "tasks")
    assert [str(r.to_object_id) for r in linked.results] == [made[0].external_id]

    closed = adapter.close_tasks([TaskClose(key="t0", task_external_id=str(made[0].external_id))])
    assert closed[0].ok
    again = sdk.crm.objects.basic_api.get_by_id(
        "tasks", str(made[0].external_id), properties=["hs_task_status"]
    )
    assert again.properties["hs_task_status"] == "COMPLETED"
    assert counters.get("hubspot.tasks") == 2  # the create and the close
    adapter.close()


def test_close_of_an_unknown_task_is_a_row_error(sandbox: SandboxSet) -> None:
    adapter = adapter_for(sandbox)
    (res,) = adapter.close_tasks([TaskClose(key="x", task_external_id="123")])
    assert (res.ok, res.error_code) == (False, "OBJECT_NOT_FOUND")
    adapter.close()
