"""The write-back outbox: diff-based queueing, claim/complete/release, crash recovery, parallel claims."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update

from connector.installs.vault import Vault
from connector.pipeline import outbox
from connector.store import models as m
from connector.store import repo as store
from integrations.records import WriteResult
from tests.connector import builders as b
from tests.connector.builders import DAY, T0


def _snap(tenant_id: int, account_id: int, score: float, band: str, as_of: datetime = T0) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(
        tenant_id=tenant_id, account_id=account_id, as_of=as_of, score=score, band=band, band_since=as_of,
        dimensions={}, drivers=[{"text": "3 negative tickets in 14 days"}], metrics={}, confidence=1.0,
        trend_30d=-4.04, sentiment_30d=-0.333, recommended_action="call them", model_version="v1",
    )  # fmt: skip


def _queue(
    db_url: str,
    tenant_id: int,
    scores: dict[str, tuple[float, str]],
    as_of: datetime = T0,
    targeted: bool = False,
) -> int:
    """Queue snapshots for the CRM accounts named by external id, as the score step (or, `targeted`, a
    webhook's refresh) does."""
    with b.session(db_url) as s:
        pairs = []
        for ext, (score, band) in scores.items():
            acc = b.account_row(s, tenant_id, "salesforce", ext)
            snap = _snap(tenant_id, acc.id, score, band, as_of)
            s.add(snap)
            pairs.append((acc, snap))
        s.flush()
        return outbox.queue_writes(s, tenant_id, pairs, {}, targeted=targeted)


def _rows(db_url: str, tenant_id: int | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    with b.session(db_url) as s:
        stmt = select(m.WritebackOutbox).order_by(m.WritebackOutbox.id)
        if tenant_id is not None:
            stmt = stmt.where(m.WritebackOutbox.tenant_id == tenant_id)
        return [(r.external_id, r.status, dict(r.values)) for r in s.scalars(stmt)]


def _setup(db_url: str, tmp_path: Path, n: int = 2, slug: str = "acme") -> tuple[int, int]:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s, slug)
        inst = b.installation(s, vault, t).id
        for i in range(n):
            b.crm_account(s, t, f"{i:03d}")
    return t, inst


def _ok(ext: str) -> WriteResult:
    return WriteResult(account_external_id=ext, ok=True)


def test_score_values_are_the_crm_fields_rounded() -> None:
    values = outbox.score_values(_snap(1, 1, 61.26, "yellow"))
    assert values == {
        "health_score": 61.3, "health_band": "yellow", "health_trend_30d": -4.0,
        "health_drivers": "3 negative tickets in 14 days", "sentiment_30d": -0.33,
        "recommended_action": "call them", "health_scored_at": T0.isoformat(), "health_model_version": "v1",
        "driver_kinds": ["text:# negative tickets in # days"],
    }  # fmt: skip
    assert outbox.crm_fields(values) == {k: v for k, v in values.items() if k != "driver_kinds"}


def test_only_changed_values_are_queued(db_url: str, tmp_path: Path) -> None:
    """After a confirmed write, a pass that only re-stamps health_scored_at queues nothing."""
    t, inst = _setup(db_url, tmp_path)
    assert _queue(db_url, t, {"000": (40.0, "red"), "001": (80.0, "green")}) == 2
    claimed = outbox.claim(db_url, t, inst, 10)
    written, rejected = outbox.complete(
        db_url, t, inst, {ext: rid for rid, ext, _ in claimed}, [_ok("000"), _ok("001")],
        {ext: vals for _, ext, vals in claimed},
    )  # fmt: skip
    assert (written, rejected) == (2, [])
    assert _rows(db_url) == []
    assert _queue(db_url, t, {"000": (40.0, "red"), "001": (80.0, "green")}, as_of=T0 + DAY) == 0
    assert _queue(db_url, t, {"000": (40.0, "red"), "001": (81.0, "green")}, as_of=T0 + 2 * DAY) == 1
    assert [(ext, status, vals["health_score"]) for ext, status, vals in _rows(db_url)] == [
        ("001", "pending", 81.0)
    ]


@pytest.mark.parametrize("targeted", [False, True], ids=["pass", "refresh"])
def test_moves_under_a_point_are_not_queued_a_band_change_is(
    db_url: str, tmp_path: Path, targeted: bool
) -> None:
    """The materiality rule (connector.pipeline.materiality) on both paths: a scheduled pass and a
    webhook's targeted refresh."""
    t, inst = _setup(db_url, tmp_path)
    assert _queue(db_url, t, {"000": (40.0, "red"), "001": (80.0, "green")}) == 2
    claimed = outbox.claim(db_url, t, inst, 10)
    outbox.complete(
        db_url, t, inst, {ext: rid for rid, ext, _ in claimed}, [_ok("000"), _ok("001")],
        {ext: vals for _, ext, vals in claimed},
    )  # fmt: skip
    small = {"000": (40.9, "red"), "001": (79.1, "green")}
    assert _queue(db_url, t, small, as_of=T0 + DAY, targeted=targeted) == 0
    assert _queue(db_url, t, {"000": (40.9, "yellow")}, as_of=T0 + DAY, targeted=targeted) == 1
    assert [(ext, vals["health_band"]) for ext, _, vals in _rows(db_url)] == [("000", "yellow")]


def test_a_pending_row_is_replaced_not_duplicated(db_url: str, tmp_path: Path) -> None:
    t, _ = _setup(db_url, tmp_path, n=1)
    assert _queue(db_url, t, {"000": (40.0, "red")}) == 1
    assert _queue(db_url, t, {"000": (55.0, "yellow")}, as_of=T0 + DAY) == 1
    assert _queue(db_url, t, {"000": (55.0, "yellow")}, as_of=T0 + 2 * DAY) == 0  # same as pending
    rows = _rows(db_url)
    assert [(ext, status, vals["health_band"]) for ext, status, vals in rows] == [
        ("000", "pending", "yellow")
    ]


@pytest.mark.parametrize(
    ("inst_settings", "status"),
    [({"write_back": False}, "connected"), (None, "disconnected")],
    ids=["write-back-off", "disconnected"],
)
def test_nothing_queued_for_installations_that_do_not_write(
    db_url: str, tmp_path: Path, inst_settings: dict[str, Any] | None, status: str
) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.installation(s, vault, t, settings=inst_settings).status = status
        b.crm_account(s, t, "000")
    assert _queue(db_url, t, {"000": (40.0, "red")}) == 0


def test_linked_organizations_get_the_same_values(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.installation(s, vault, t)
        zd = b.installation(s, vault, t, "zendesk").id
        acc_id = b.crm_account(s, t, "000")
        acc = s.get(m.Account, acc_id)
        assert acc is not None
        snap = _snap(t, acc_id, 40.0, "red")
        s.add(snap)
        s.flush()
        assert outbox.queue_writes(s, t, [(acc, snap)], {acc_id: [("zendesk", "900")]}) == 2
    assert [r[0] for r in _rows(db_url)] == ["000", "900"]
    assert [ext for _, ext, _ in outbox.claim(db_url, t, zd, 10)] == ["900"]


def test_values_in_flight_are_not_queued_twice(db_url: str, tmp_path: Path) -> None:
    """A pass that runs while a write is in flight compares against the in-flight values."""
    t, inst = _setup(db_url, tmp_path, n=1)
    _queue(db_url, t, {"000": (40.0, "red")})
    claimed = outbox.claim(db_url, t, inst, 10)
    assert _queue(db_url, t, {"000": (40.0, "red")}, as_of=T0 + DAY) == 0
    assert _queue(db_url, t, {"000": (45.0, "red")}, as_of=T0 + DAY) == 1
    outbox.complete(db_url, t, inst, {"000": claimed[0][0]}, [_ok("000")], {"000": claimed[0][2]})
    assert [(ext, status, v["health_score"]) for ext, status, v in _rows(db_url)] == [
        ("000", "pending", 45.0)
    ]


def test_claimed_row_of_a_crashed_worker_is_claimed_again_after_the_timeout(
    db_url: str, tmp_path: Path
) -> None:
    """A worker claims, then dies before complete(): the row is invisible until CLAIM_TIMEOUT has passed."""
    t, inst = _setup(db_url, tmp_path, n=1)
    _queue(db_url, t, {"000": (40.0, "red")})
    first = outbox.claim(db_url, t, inst, 10)
    assert [ext for _, ext, _ in first] == ["000"]
    assert outbox.claim(db_url, t, inst, 10) == []  # in flight: nobody else takes it
    with b.session(db_url) as s:  # move time: the claim is now older than the timeout
        stale = store.utcnow() - outbox.CLAIM_TIMEOUT - timedelta(seconds=1)
        s.execute(update(m.WritebackOutbox).values(claimed_at=stale))
    again = outbox.claim(db_url, t, inst, 10)
    assert [(rid, ext) for rid, ext, _ in again] == [(rid, ext) for rid, ext, _ in first]
    with b.session(db_url) as s:
        assert s.scalars(select(m.WritebackOutbox.attempts)).one() == 2


def test_complete_records_per_row_results(db_url: str, tmp_path: Path) -> None:
    """One rejected row never fails the others: ok rows become the diff base, rejected rows stay pending
    with the vendor's reason and are retried."""
    t, inst = _setup(db_url, tmp_path, n=2)
    _queue(db_url, t, {"000": (40.0, "red"), "001": (80.0, "green")})
    claimed = outbox.claim(db_url, t, inst, 10)
    results = [
        _ok("000"),
        WriteResult(
            account_external_id="001", ok=False, error_code="INVALID_FIELD", message="band not in picklist"
        ),
    ]
    written, rejected = outbox.complete(
        db_url, t, inst, {ext: rid for rid, ext, _ in claimed}, results, {ext: v for _, ext, v in claimed}
    )
    assert written == 1
    assert rejected == [{"external_id": "001", "error": "INVALID_FIELD", "message": "band not in picklist"}]
    with b.session(db_url) as s:
        row = s.scalars(select(m.WritebackOutbox)).one()
        assert (row.external_id, row.status, row.last_error) == (
            "001",
            "pending",
            "INVALID_FIELD: band not in picklist",
        )
        base = s.scalars(select(m.WrittenValue)).one()
        assert (base.external_id, base.values["health_score"]) == ("000", 40.0)
    assert [ext for _, ext, _ in outbox.claim(db_url, t, inst, 10)] == ["001"]


def test_release_puts_rows_back(db_url: str, tmp_path: Path) -> None:
    t, inst = _setup(db_url, tmp_path, n=2)
    _queue(db_url, t, {"000": (40.0, "red"), "001": (80.0, "green")})
    claimed = outbox.claim(db_url, t, inst, 10)
    outbox.release(db_url, t, [rid for rid, _, _ in claimed], "TransientError: 503")
    assert [(ext, status) for ext, status, _ in _rows(db_url)] == [("000", "pending"), ("001", "pending")]
    assert len(outbox.claim(db_url, t, inst, 10)) == 2


def test_outbox_functions_are_tenant_scoped(db_url: str, tmp_path: Path) -> None:
    ta, inst_a = _setup(db_url, tmp_path, n=1, slug="alpha")
    tb, inst_b = _setup(db_url, tmp_path, n=1, slug="beta")
    _queue(db_url, ta, {"000": (40.0, "red")})
    _queue(db_url, tb, {"000": (41.0, "red")})
    assert outbox.claim(db_url, ta, inst_b, 10) == []  # another tenant's installation
    claimed_b = outbox.claim(db_url, tb, inst_b, 10)
    outbox.release(db_url, ta, [rid for rid, _, _ in claimed_b], "not yours")
    assert _rows(db_url, tb)[0][1] == "claimed"
    written, _ = outbox.complete(
        db_url, ta, inst_a, {"000": claimed_b[0][0]}, [_ok("000")], {"000": {"health_score": 1}}
    )
    assert written == 0
    assert _rows(db_url, tb)[0][1] == "claimed"
    # A result for an id this call never claimed is ignored, not a KeyError.
    assert outbox.complete(db_url, tb, inst_b, {}, [_ok("000")], {}) == (0, [])
    with b.session(db_url) as s:
        assert s.scalars(select(m.WrittenValue)).all() == []


def _pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")


def test_parallel_claims_skip_rows_locked_by_another_worker(db_url: str, tmp_path: Path) -> None:
    """Another worker holds row locks in an open transaction: claim() takes the other rows, never waits."""
    _pg_only(db_url)
    t, inst = _setup(db_url, tmp_path, n=4)
    _queue(db_url, t, {f"00{i}": (40.0 + i, "red") for i in range(4)})
    holder = create_engine(db_url)
    try:
        with holder.connect() as conn, conn.begin():
            locked = (
                conn.execute(text("SELECT external_id FROM writeback_outbox ORDER BY id LIMIT 2 FOR UPDATE"))
                .scalars()
                .all()
            )
            got: list[list[str]] = []
            worker = threading.Thread(
                target=lambda: got.append([ext for _, ext, _ in outbox.claim(db_url, t, inst, 4)]),
                daemon=True,
            )
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive(), "claim() blocked on rows another worker holds"
        assert locked == ["000", "001"]
        assert got == [["002", "003"]]
    finally:
        holder.dispose()


def test_two_concurrent_claims_never_get_the_same_rows(db_url: str, tmp_path: Path) -> None:
    _pg_only(db_url)
    t, inst = _setup(db_url, tmp_path, n=20)
    _queue(db_url, t, {f"{i:03d}": (40.0, "red") for i in range(20)})
    start = threading.Barrier(2)
    got: list[list[int]] = [[], []]

    def work(k: int) -> None:
        start.wait()
        while rows := outbox.claim(db_url, t, inst, 3):
            got[k].extend(rid for rid, _, _ in rows)

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 20
