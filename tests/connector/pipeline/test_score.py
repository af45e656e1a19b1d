"""The score step: snapshots, hysteresis across passes, band-change events and write-back rows queued in
the same transaction as the snapshot, and the default model stored on first use.

Most tests publish a one-metric model (score = seat utilisation x 100) so each pass's score is chosen by
the test; the engine's maths is scoring/'s to test.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.installs.vault import Vault
from connector.pipeline import link as linking
from connector.pipeline import outbox
from connector.pipeline.score import current_model, score_tenant
from connector.store import models as m
from integrations.records import WriteResult
from scoring.config import load_default_model
from tests.connector import builders as b
from tests.connector.builders import DAY, T0

SEAT_MODEL = """
version: "seats-1"
bands:
  - {name: green, colour: "#2e7d32", min: 75}
  - {name: yellow, colour: "#f9a825", min: 50}
  - {name: red, colour: "#c62828", min: 0}
hysteresis: {margin: 2.0, min_dwell_days: 0}
events: {score_changed_delta: 5.0}
dimensions:
  product:
    weight: 1
    metrics:
      seat_utilisation:
        direction: higher_is_better
        lookback_days: 30
        weight: 1
        normalise: {method: linear, low: 0, high: 1}
"""


def _publish(s: Session, tenant_id: int, yaml: str = SEAT_MODEL) -> None:
    s.add(
        m.ScoringModelVersion(
            tenant_id=tenant_id,
            version="seats-1",
            yaml=yaml,
            status="published",
            created_at=T0,
            published_at=T0,
        )
    )


def _seats(s: Session, tenant_id: int, ext: str, utilisation: float, **kw: Any) -> int:
    return b.crm_account(s, tenant_id, ext, f"Account {ext}", metrics={"seat_utilisation": utilisation}, **kw)


def _count(s: Session, table: type[m.Base]) -> int:
    return int(s.scalar(select(func.count()).select_from(table)) or 0)


def _pass(db_url: str, tenant_id: int, as_of: datetime, seats: dict[str, float] | None = None) -> Any:
    with b.session(db_url) as s:
        for ext, value in (seats or {}).items():
            _seats(s, tenant_id, ext, value)
        return score_tenant(s, tenant_id, as_of=as_of)


def test_the_default_model_is_stored_and_published_on_first_use(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        _seats(s, t, "001", 0.8)
        report = score_tenant(s, t, as_of=T0)
    default = load_default_model()
    assert report.model_version == default.version
    with b.session(db_url) as s:
        row = s.scalars(select(m.ScoringModelVersion)).one()
        assert (row.tenant_id, row.version, row.status) == (t, default.version, "published")
        assert row.yaml == files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
        score_tenant(s, t, as_of=T0 + DAY)
        assert _count(s, m.ScoringModelVersion) == 1
        assert current_model(s, t).version == default.version


def test_two_first_uses_at_once_store_the_default_once(db_url: str) -> None:
    """A workspace's first two requests at the same instant both find no model and both store the default:
    the second waits for the first and then leaves it, instead of failing its commit (a 500)."""
    import threading

    from connector.store.db import get_engine

    with b.session(db_url) as s:
        t = b.tenant(s)
    engine = get_engine(db_url)
    first = Session(engine)
    assert current_model(first, t).version == load_default_model().version  # stored, not committed yet
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as other:
                current_model(other, t)  # sees no committed model; its insert waits for the first
                other.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(0.5)  # let it read and reach its insert
    first.commit()
    first.close()
    racer.join(30)
    assert not racer.is_alive()
    assert errors == []
    with b.session(db_url) as s:
        assert _count(s, m.ScoringModelVersion) == 1


def test_one_snapshot_per_live_account(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        high, low = _seats(s, t, "001", 0.9), _seats(s, t, "002", 0.3)
        _seats(s, t, "003", 0.5, deleted=True)
        other = b.tenant(s, "other")  # same external ids in another tenant: never scored with t
        _publish(s, other)
        _seats(s, other, "001", 0.1)
        report = score_tenant(s, t, as_of=T0)
    assert (report.accounts, report.scored, report.model_version) == (2, 2, "seats-1")
    assert report.by_band == {"green": 1, "red": 1}
    with b.session(db_url) as s:
        snaps = {x.account_id: x for x in s.scalars(select(m.ScoreSnapshot))}
        assert {x.tenant_id for x in snaps.values()} == {t}
    assert set(snaps) == {high, low}
    assert (snaps[high].score, snaps[high].band, snaps[high].band_since) == (90.0, "green", T0)
    assert (snaps[low].score, snaps[low].band, snaps[low].as_of) == (30.0, "red", T0)
    assert snaps[high].model_version == "seats-1"
    assert snaps[high].metrics["seat_utilisation"] == 0.9
    assert snaps[high].dimensions == {"product": 90.0}


def test_bands_hold_within_the_margin_and_change_beyond_it(db_url: str, tmp_path: Path) -> None:
    """76 → 74 stays green (margin 2), 74 → 72 turns yellow: one band_changed event, one delivery per
    endpoint subscribed to it, none for a score_changed-only or a disabled endpoint."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        acc = _seats(s, t, "001", 0.76)
        b.org(s, t, "900", "Helpdesk Org", cross_ref="001")
        linking.link_tenant(s, t)
        bands_ep = b.endpoint(s, vault, t, "http://127.0.0.1:9/bands", [])
        score_ep = b.endpoint(s, vault, t, "http://127.0.0.1:9/scores", [])
        off_ep = b.endpoint(s, vault, t, "http://127.0.0.1:9/off", [])
        s.get(m.WebhookEndpoint, bands_ep).event_types = ["account.band_changed"]  # type: ignore[union-attr]
        s.get(m.WebhookEndpoint, score_ep).event_types = ["account.score_changed"]  # type: ignore[union-attr]
        s.get(m.WebhookEndpoint, off_ep).enabled = False  # type: ignore[union-attr]
    first = _pass(db_url, t, T0)
    second = _pass(db_url, t, T0 + DAY, {"001": 0.74})
    third = _pass(db_url, t, T0 + 2 * DAY, {"001": 0.72})
    assert [(r.band_changes, r.events) for r in (first, second, third)] == [(0, 0), (0, 0), (1, 1)]
    with b.session(db_url) as s:
        snaps = s.scalars(select(m.ScoreSnapshot).order_by(m.ScoreSnapshot.id)).all()
        assert [(x.score, x.band, x.band_since) for x in snaps] == [
            (76.0, "green", T0), (74.0, "green", T0), (72.0, "yellow", T0 + 2 * DAY),
        ]  # fmt: skip
        event = s.scalars(select(m.WebhookEvent)).one()
        assert (event.type, event.account_id) == ("account.band_changed", acc)
        data = event.payload["data"]
        assert (data["old_band"], data["new_band"], data["old_score"], data["new_score"]) == (
            "green", "yellow", 74.0, 72.0,
        )  # fmt: skip
        assert data["account_ids"] == {"salesforce": "001", "zendesk": "900"}
        deliveries = s.scalars(select(m.WebhookDelivery)).all()
        assert [(d.endpoint_id, d.event_id, d.status) for d in deliveries] == [
            (bands_ep, event.id, "pending")
        ]


def test_a_score_move_past_the_delta_raises_score_changed(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        _seats(s, t, "001", 0.90)
        b.endpoint(s, vault, t, "http://127.0.0.1:9/all", [])
    _pass(db_url, t, T0)
    report = _pass(db_url, t, T0 + DAY, {"001": 0.80})
    assert (report.band_changes, report.events) == (0, 1)
    with b.session(db_url) as s:
        assert [e.type for e in s.scalars(select(m.WebhookEvent))] == ["account.score_changed"]


def test_a_slow_drift_is_announced_once_it_adds_up(db_url: str, tmp_path: Path) -> None:
    """90 → 86 → 84: no single pass moves 5 points, but subscribers last heard 90 (the band_changed
    event at 90), so 84 is announced."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        _seats(s, t, "001", 0.70)
        b.endpoint(s, vault, t, "http://127.0.0.1:9/all", [])
    _pass(db_url, t, T0)
    reports = [_pass(db_url, t, T0 + k * DAY, {"001": v}) for k, v in enumerate((0.90, 0.86, 0.84), start=1)]
    assert [r.events for r in reports] == [2, 0, 1]
    with b.session(db_url) as s:
        last = s.scalars(select(m.WebhookEvent).order_by(m.WebhookEvent.id.desc()).limit(1)).one()
        assert (last.type, last.payload["data"]["old_score"], last.payload["data"]["new_score"]) == (
            "account.score_changed", 86.0, 84.0,
        )  # fmt: skip


def _score_then_crash(db_url: str, tenant_id: int, seen: list[Any]) -> None:
    with b.session(db_url) as s:
        _seats(s, tenant_id, "001", 0.40)
        seen.append(score_tenant(s, tenant_id, as_of=T0 + DAY))
        raise RuntimeError("crash before commit")


def test_snapshot_events_and_writes_roll_back_together(db_url: str, tmp_path: Path) -> None:
    """Transactional outbox: if the pass's transaction does not commit, no event, delivery or write-back
    row survives without its snapshot (and no snapshot without them)."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.installation(s, vault, t)
        _publish(s, t)
        _seats(s, t, "001", 0.90)
        b.endpoint(s, vault, t, "http://127.0.0.1:9/all", [])
    _pass(db_url, t, T0)
    with b.session(db_url) as s:
        before = {tb.__name__: _count(s, tb) for tb in (m.ScoreSnapshot, m.WebhookEvent, m.WebhookDelivery)}
    seen: list[Any] = []
    with pytest.raises(RuntimeError, match="crash before commit"):
        _score_then_crash(db_url, t, seen)
    assert [(r.band_changes, r.events, r.writes_queued) for r in seen] == [(1, 2, 1)]  # band + score events
    with b.session(db_url) as s:
        after = {tb.__name__: _count(s, tb) for tb in (m.ScoreSnapshot, m.WebhookEvent, m.WebhookDelivery)}
        assert after == before == {"ScoreSnapshot": 1, "WebhookEvent": 0, "WebhookDelivery": 0}
        assert [o.values["health_score"] for o in s.scalars(select(m.WritebackOutbox))] == [90.0]


def test_write_back_rows_only_for_changed_values(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t).id
        _publish(s, t)
        _seats(s, t, "001", 0.90)
        _seats(s, t, "002", 0.40)
    assert _pass(db_url, t, T0).writes_queued == 2
    claimed = outbox.claim(db_url, t, inst, 10)
    outbox.complete(
        db_url, t, inst, {ext: rid for rid, ext, _ in claimed},
        [WriteResult(account_external_id=ext, ok=True) for _, ext, _ in claimed],
        {ext: v for _, ext, v in claimed},
    )  # fmt: skip
    assert _pass(db_url, t, T0 + DAY).writes_queued == 0  # only health_scored_at moved
    assert _pass(db_url, t, T0 + 2 * DAY, {"002": 0.45}).writes_queued == 1
    with b.session(db_url) as s:
        [row] = s.scalars(select(m.WritebackOutbox)).all()
        assert (row.external_id, row.values["health_score"], row.values["health_band"]) == (
            "002",
            45.0,
            "red",
        )


def _write_all(db_url: str, tenant_id: int, inst: int) -> None:
    """The write-back of every queued row, confirmed by the vendor."""
    claimed = outbox.claim(db_url, tenant_id, inst, 100)
    outbox.complete(
        db_url, tenant_id, inst, {ext: rid for rid, ext, _ in claimed},
        [WriteResult(account_external_id=ext, ok=True) for _, ext, _ in claimed],
        {ext: v for _, ext, v in claimed},
    )  # fmt: skip


def test_a_pass_of_small_moves_writes_nothing_and_a_band_change_writes(db_url: str, tmp_path: Path) -> None:
    """Issue 17: the daily pass rewrote nearly every CRM record for moves of a tenth of a point. Moves under
    a point queue nothing; a band change is written on the next pass; a week on, everything is refreshed."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t).id
        _publish(s, t)
        for ext, seats in (("001", 0.90), ("002", 0.40), ("003", 0.60)):
            _seats(s, t, ext, seats)
    assert _pass(db_url, t, T0).writes_queued == 3
    _write_all(db_url, t, inst)
    small = {"001": 0.904, "002": 0.393, "003": 0.609}  # 90.4, 39.3, 60.9: under a point each
    assert _pass(db_url, t, T0 + DAY, small).writes_queued == 0
    assert _pass(db_url, t, T0 + 2 * DAY, {"001": 0.70}).writes_queued == 1  # green → yellow
    with b.session(db_url) as s:
        [row] = s.scalars(select(m.WritebackOutbox)).all()
        assert (row.external_id, row.values["health_band"], row.values["health_score"]) == (
            "001",
            "yellow",
            70.0,
        )
    _write_all(db_url, t, inst)
    assert _pass(db_url, t, T0 + 3 * DAY).writes_queued == 0
    assert _pass(db_url, t, T0 + 10 * DAY).writes_queued == 3  # older than the weekly refresh


def test_an_installations_thresholds_apply(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        inst = b.installation(s, vault, t, settings={"write_rule": {"score_points": 5}}).id
        _publish(s, t)
        _seats(s, t, "001", 0.40)
    assert _pass(db_url, t, T0).writes_queued == 1
    _write_all(db_url, t, inst)
    assert _pass(db_url, t, T0 + DAY, {"001": 0.44}).writes_queued == 0  # 4 points: under this one's 5
    assert _pass(db_url, t, T0 + 2 * DAY, {"001": 0.45}).writes_queued == 1


def test_the_previous_band_state_is_read_from_current_scores_not_ranked_history(db_url: str) -> None:
    """Three passes (one repeated at the same as_of, as a retry does): the previous state the step reads
    is each account's newest snapshot, the one ranking the history would give, and no statement of the
    step groups or ranks score_snapshots any more (that cost grew with every pass, issue 17)."""
    from sqlalchemy import event

    from connector.pipeline.score import _latest

    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        a, c = _seats(s, t, "001", 0.76), _seats(s, t, "002", 0.30)
    _pass(db_url, t, T0)
    _pass(db_url, t, T0 + DAY, {"001": 0.74})
    _pass(db_url, t, T0 + DAY, {"001": 0.60})  # a re-run at the same as_of supersedes the earlier one
    statements: list[str] = []
    with b.session(db_url) as s:
        ranked: dict[int, tuple[datetime, int]] = {}
        for snap in s.scalars(select(m.ScoreSnapshot).where(m.ScoreSnapshot.tenant_id == t)):
            key = (snap.as_of, snap.id)
            ranked[snap.account_id] = max(ranked.get(snap.account_id, key), key)
        engine = s.get_bind()

        def record(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
            statements.append(statement.lower())

        event.listen(engine, "before_cursor_execute", record)
        try:
            latest = _latest(s, t)
            report = score_tenant(s, t, as_of=T0 + 2 * DAY)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert {acc: snap.id for acc, snap in latest.items()} == {acc: sid for acc, (_, sid) in ranked.items()}
    assert (latest[a].score, latest[a].band, latest[c].band) == (60.0, "yellow", "red")
    assert report.band_changes == 0  # 60 stays yellow: the previous state was the superseding re-run
    snapshot_reads = [q for q in statements if "from score_snapshots" in q and "current_scores" in q]
    assert snapshot_reads, "the previous state is read through current_scores"
    assert not [q for q in statements if "score_snapshots" in q and ("group by" in q or "row_number" in q)]


def test_the_30_day_change_is_against_the_last_score_at_or_before_30_days_ago(db_url: str) -> None:
    """trend_30d compares with the newest snapshot at or before as_of - 30 days (a re-run at the same as_of
    supersedes the earlier one); the passes of the last 30 days, which the step no longer reads (issue 17),
    do not move it, and nothing older than 100 days counts."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        _seats(s, t, "001", 0.50)
        _seats(s, t, "002", 0.40)
    history = [(-120, 0.10, 0.10), (-60, 0.50, 0.40), (-45, 0.55, 0.42), (-31, 0.60, 0.43), (-30, 0.62, 0.44),
               (-30, 0.64, 0.44), (-29, 0.10, 0.99), (-10, 0.70, 0.10), (-1, 0.90, 0.20)]  # fmt: skip
    for days, first, second in history:
        _pass(db_url, t, T0 + days * DAY, {"001": first, "002": second})
    _pass(db_url, t, T0, {"001": 0.80, "002": 0.50})
    with b.session(db_url) as s:
        now = {b.account_row(s, t, "salesforce", ext).id: ext for ext in ("001", "002")}
        trend = {
            now[x.account_id]: x.trend_30d
            for x in s.scalars(select(m.ScoreSnapshot).where(m.ScoreSnapshot.as_of == T0))
        }
    assert trend == {"001": 16.0, "002": 6.0}  # 80 - 64 (the re-run at -30 d), 50 - 44
    # Only points older than 100 days: no 30-day change.
    with b.session(db_url) as s:
        t2 = b.tenant(s, "other")
        _publish(s, t2)
        _seats(s, t2, "001", 0.5)
    _pass(db_url, t2, T0 - 120 * DAY)
    report = _pass(db_url, t2, T0)
    with b.session(db_url) as s:
        last = s.scalars(
            select(m.ScoreSnapshot).where(m.ScoreSnapshot.tenant_id == t2, m.ScoreSnapshot.as_of == T0)
        ).one()
    assert (report.scored, last.trend_30d) == (1, None)


def test_the_30_day_change_reads_one_history_point_per_account(db_url: str) -> None:
    """Issue 17: with 90 days of history (a point a day after compaction) the step read every point between
    100 and 30 days back, ~70 rows per account and pass, to use one. On PostgreSQL it now reads each
    account's newest point in that window only, with the same 30-day change as before."""
    from sqlalchemy import event

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite keeps the windowed read (no LATERAL probe)")
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        _seats(s, t, "001", 0.50)
        _seats(s, t, "002", 0.40)
    for days in range(-95, -29, 5):  # 14 points an account in the window, the last at -30 d
        _pass(db_url, t, T0 + days * DAY, {"001": 0.5 + days / 1000, "002": 0.4})
    read: list[int] = []

    def count(_c: Any, cursor: Any, statement: str, *_a: Any) -> None:
        if "score_snapshots.as_of >=" in statement.lower():
            read.append(cursor.rowcount)

    with b.session(db_url) as s:
        _seats(s, t, "001", 0.80)
        _seats(s, t, "002", 0.50)
        engine = s.get_bind()
        event.listen(engine, "after_cursor_execute", count)
        try:
            score_tenant(s, t, as_of=T0)
        finally:
            event.remove(engine, "after_cursor_execute", count)
        trend = {
            x.account_id: x.trend_30d
            for x in s.scalars(select(m.ScoreSnapshot).where(m.ScoreSnapshot.as_of == T0))
        }
    assert read
    assert sum(read) <= 2  # one point per account, not 14
    assert sorted(trend.values()) == [10.0, 33.0]  # 50 - 40 and 80 - 47, against the points at -30 d
