"""The whole pass against the vendor sandboxes, on SQLite and PostgreSQL.

Vendor behaviour exercised: Salesforce queryAll paging, HubSpot search, Zendesk cursor export; writes
through sObject Collections / HubSpot batch update / Zendesk update_many; the sandbox counts every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from connector.config import Settings, load_settings
from connector.demo.emulator import record_world
from connector.demo.run import Receiver, prepare
from connector.installs.provision import ensure_all
from connector.pipeline import run as pipeline
from connector.store.db import transaction
from connector.store.repo import tenants


@pytest.fixture
def world(db_url: str, sandbox: Any, tmp_path: Any) -> Iterator[tuple[Settings, Any, Receiver]]:
    settings = load_settings(
        {
            "database_url": db_url,
            "instance_path": str(tmp_path / "inst"),
            "webhooks_allow_private_targets": True,
        },
        environ={},
    )
    receiver = Receiver().start()
    info = prepare(settings, sandbox.credentials(), receiver.url)
    receiver.secrets.extend(info["webhook_secrets"])
    for slug in info["tenants"]:
        ensure_all(settings, _tid(settings, slug))
    yield settings, sandbox, receiver
    receiver.stop()


def _tid(settings: Settings, slug: str) -> int:
    with transaction(settings.sqlalchemy_url) as s:
        return tenants(s, slug)[0].id


def _writes(sandbox: Any, vendor: str) -> int:
    return int(
        sandbox.ctx.counters.get(vendor, "PATCH */composite/sobjects") if vendor == "salesforce" else 0
    )


@pytest.mark.slow
def test_whole_pass_then_nothing_changed_then_a_month_later(world: tuple[Settings, Any, Receiver]) -> None:
    """A first pass writes every account once; a second pass with no vendor change writes nothing and
    reads at most one page per stream; after 30 simulated days band changes arrive as verified webhooks."""
    settings, sandbox, receiver = world
    tid = _tid(settings, "northwind")

    first = pipeline.run_tenant(settings, tid)
    assert first["status"] == "ok", first
    steps = first["steps"]
    sync = {i["vendor"]: i for i in steps["sync"]["installations"]}
    assert set(sync) == {"salesforce", "zendesk"}
    assert all(i["status"] == "ok" for i in sync.values())
    assert steps["link"]["tickets_linked"] / steps["link"]["tickets_total"] >= 0.98
    today = sandbox.ctx.book.now.date()
    sf_accounts = len(  # former customers (churned on or before today) leave scoring
        [
            c
            for c in sandbox.ctx.book.customers.values()
            if c.salesforce.present
            and not c.deleted_at
            and not (c.outcome == "churned" and c.outcome_date is not None and c.outcome_date <= today)
        ]
    )
    assert steps["score"]["scored"] == sf_accounts
    assert steps["write_back"]["salesforce"]["written"] == sf_accounts, steps["write_back"]
    assert steps["write_back"]["salesforce"]["rejected"] == 0
    written = sandbox.ctx.vendors["salesforce"].written
    assert len(written) == sf_accounts
    assert {"Health_Score__c", "Health_Band__c", "Health_Drivers__c"} <= set(next(iter(written.values())))

    sandbox.ctx.counters.reset()
    second = pipeline.run_tenant(settings, tid)
    assert second["steps"]["write_back"]["salesforce"]["written"] == 0
    assert sandbox.ctx.counters.get("salesforce", "PATCH *") == 0  # no write call at all
    for inst in second["steps"]["sync"]["installations"]:
        for stream in inst["streams"]:
            assert stream["api_calls"] <= 2, (inst["vendor"], stream)  # one page (+ a token call at most)
    assert second["steps"]["sentiment"]["model_calls"] == 0  # unchanged text is never scored twice

    sandbox.tick(30)
    record_world(settings.sqlalchemy_url)  # the demo records the simulated clock after every tick
    third = pipeline.run_tenant(settings, tid)
    assert third["status"] == "ok", third
    changes = third["steps"]["score"]["band_changes"]
    assert changes > 0
    assert third["steps"]["events"]["delivered"] >= changes
    bands = [e for e in receiver.received if e["type"] == "account.band_changed"]
    assert len(bands) == changes
    assert receiver.rejected == 0
    sample = bands[0]["data"]
    assert sample["old_band"] != sample["new_band"]
    assert "salesforce" in sample["account_ids"]


def test_receiver_rejects_forged_events(world: tuple[Settings, Any, Receiver]) -> None:
    """The demo receiver really verifies: a body signed with another secret is refused."""
    import requests

    _, _, receiver = world
    other = Webhook("whsec_" + "A" * 43 + "=")
    body = '{"type":"account.band_changed"}'
    from datetime import UTC, datetime

    headers = {"webhook-id": "msg_x", "webhook-timestamp": str(int(datetime.now(UTC).timestamp()))}
    headers["webhook-signature"] = other.sign("msg_x", datetime.now(UTC), body)
    resp = requests.post(receiver.url, data=body, headers=headers, timeout=5)
    assert resp.status_code == 400
    assert receiver.rejected == 1
