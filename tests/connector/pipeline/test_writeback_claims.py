"""The write-back claims outbox rows in the adapter's own batch size (`write_batch`) when it has one.

Zendesk's update_many jobs are polled together, one sleep (1 s, then longer) per polling round: a claim of
1,000 rows made one round of 10 jobs, so an org of 8,263 organizations slept 9 times through one write-back
(most of the Salesforce demo tenant's write-back wait in the 10k incremental pass). Its adapter claims a
full round (25 jobs of 100 rows); adapters without the attribute keep CLAIM_BATCH."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connector.installs.vault import Vault
from connector.pipeline import writeback
from connector.store import migrate
from connector.store import models as m
from connector.store.db import transaction
from integrations.records import ScoreWrite, WriteResult
from integrations.zendesk.adapter import JOBS_AT_ONCE, UPDATE_MANY_MAX, ZendeskAdapter
from tests.connector import builders as b


class Recording:
    vendor: ClassVar[str] = "zendesk"

    def __init__(self, batch: int | None) -> None:
        if batch is not None:
            self.write_batch = batch
        self.calls: list[int] = []
        self.api_calls = 0

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteResult]:
        self.calls.append(len(writes))
        return [WriteResult(account_external_id=w.account_external_id, ok=True) for w in writes]

    def close(self) -> None:
        pass


def _queue(db_url: str, tmp_path: Path, rows: int) -> tuple[Any, int]:
    migrate.upgrade(db_url)
    settings = b.settings_for(db_url, tmp_path)
    with transaction(db_url) as s:
        tid = b.tenant(s)
        inst = b.installation(s, Vault(settings), tid, "zendesk")
        s.add_all(
            m.WritebackOutbox(
                tenant_id=tid,
                installation_id=inst.id,
                external_id=str(1000 + n),
                kind="fields",
                values={"score": 50.0, "band": "yellow"},
                status="pending",
                attempts=0,
                created_at=b.T0,
                updated_at=b.T0,
            )
            for n in range(rows)
        )
    return settings, tid


@pytest.mark.parametrize(("batch", "expected"), [(2500, [2500, 500]), (None, [1000, 1000, 1000])])
def test_the_write_back_claims_the_adapters_batch(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int | None, expected: list[int]
) -> None:
    settings, tid = _queue(db_url, tmp_path, 3000)
    fake = Recording(batch)
    monkeypatch.setattr(writeback, "adapter_for", lambda *a, **k: fake)
    monkeypatch.setattr(
        writeback.task_writeback, "write_tasks", lambda *a, **k: writeback.task_writeback.TaskWriteReport()
    )
    reports = writeback.write_back_tenant(settings, tid)
    assert fake.calls == expected
    assert sum(r.written for r in reports) == 3000


def test_zendesk_claims_one_polling_round_of_jobs() -> None:
    assert ZendeskAdapter.write_batch == JOBS_AT_ONCE * UPDATE_MANY_MAX
