"""The store at size: current scores without ranking history, history compaction, the write-back echo
left untouched, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from connector.readmodels.common import latest_snapshots
from connector.store import models as m
from connector.store import repo as store
from integrations import records as r
from tests.connector import builders as b
from tests.connector.builders import T0


def _snap(tenant_id: int, account_id: int, as_of: object, score: float) -> m.ScoreSnapshot:
    return m.ScoreSnapshot(
        tenant_id=tenant_id, account_id=account_id, as_of=as_of, score=score, band="green", band_since=T0,
        dimensions={}, drivers=[], metrics={}, confidence=0.5, model_version="t",
    )  # fmt: skip


def _accounts(db_url: str) -> tuple[int, int, int]:
    with b.session(db_url) as s:
        tid = b.tenant(s)
        store.upsert_records(
            s,
            tid,
            [
                r.AccountRecord(vendor="salesforce", external_id=f"00{i}", name=f"A{i}", updated_at=T0)
                for i in (1, 2)
            ],
        )
        a1 = b.account_row(s, tid, "salesforce", "001").id
        a2 = b.account_row(s, tid, "salesforce", "002").id
    return tid, a1, a2


def test_current_scores_follow_the_newest_snapshot_whatever_the_insert_order(db_url: str) -> None:
    tid, a1, a2 = _accounts(db_url)
    with b.session(db_url) as s:
        s.add_all([_snap(tid, a1, T0, 10.0), _snap(tid, a2, T0, 20.0)])
    with b.session(db_url) as s:
        s.add(_snap(tid, a1, T0 + timedelta(days=1), 11.0))
        s.add(_snap(tid, a2, T0 - timedelta(days=5), 99.0))  # a backfilled older point: not current
    with b.session(db_url) as s:
        latest = latest_snapshots(tid)
        rows = {a: sc for a, sc in s.execute(select(latest.c.account_id, latest.c.score))}
        assert rows == {a1: 11.0, a2: 20.0}
        assert s.scalar(select(func.count()).select_from(m.CurrentScore)) == 2


def test_current_scores_carry_the_current_snapshots_values(db_url: str) -> None:
    """The portfolio sorts and totals from current_scores alone: its copies follow the newest snapshot,
    and an in-place edit of that snapshot."""
    tid, a1, a2 = _accounts(db_url)
    with b.session(db_url) as s:
        s.add_all([_snap(tid, a1, T0, 10.0), _snap(tid, a2, T0, 20.0)])
    with b.session(db_url) as s:
        newer = _snap(tid, a1, T0 + timedelta(days=1), 35.5)
        newer.band, newer.trend_30d, newer.confidence = "red", -4.0, 0.9
        s.add(newer)
        s.add(_snap(tid, a2, T0 - timedelta(days=5), 99.0))  # older: its values are not copied
    with b.session(db_url) as s:
        cur = m.CurrentScore
        got = {
            a: (sc, band, trend, conf)
            for a, sc, band, trend, conf in s.execute(
                select(cur.account_id, cur.score, cur.band, cur.trend_30d, cur.confidence)
            )
        }
        assert got == {a1: (35.5, "red", -4.0, 0.9), a2: (20.0, "green", None, 0.5)}
        current = s.scalars(select(m.ScoreSnapshot).where(m.ScoreSnapshot.score == 20.0)).one()
        current.score, current.band = 72.0, "yellow"
    with b.session(db_url) as s:
        row = s.get(m.CurrentScore, a2)
        assert row is not None
        assert (row.score, row.band) == (72.0, "yellow")


def test_compaction_keeps_30_days_in_full_then_the_newest_of_each_day(db_url: str) -> None:
    tid, a1, _ = _accounts(db_url)
    midnight = T0.replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight + timedelta(days=60)
    with b.session(db_url) as s:
        for day in range(60):  # four passes a day for 60 days
            for hour in (0, 6, 12, 18):
                s.add(_snap(tid, a1, midnight + timedelta(days=day, hours=hour), float(day)))
    with b.session(db_url) as s:
        deleted = store.compact_snapshots(s, tid, now)
    with b.session(db_url) as s:
        kept = s.scalars(
            select(m.ScoreSnapshot.as_of)
            .where(m.ScoreSnapshot.account_id == a1)
            .order_by(m.ScoreSnapshot.as_of)
        ).all()
        current = s.scalar(select(m.CurrentScore.as_of).where(m.CurrentScore.account_id == a1))
    old = [t for t in kept if t < now - timedelta(days=30)]
    recent = [t for t in kept if t >= now - timedelta(days=30)]
    assert deleted == 30 * 3
    assert len(old) == 30
    assert all(t.hour == 18 for t in old)
    assert len(recent) == 30 * 4
    assert current == kept[-1]
    with b.session(db_url) as s:
        assert store.compact_snapshots(s, tid, now) == 0  # idempotent


def test_an_account_reread_with_only_a_new_modstamp_is_left_as_it_was(db_url: str) -> None:
    """Our write-back bumps the CRM's modstamp; re-reading that echo must not rewrite the row."""
    tid, _a1, _ = _accounts(db_url)
    with b.session(db_url) as s:
        echo = r.AccountRecord(
            vendor="salesforce", external_id="001", name="A1", updated_at=T0 + timedelta(hours=1)
        )
        store.upsert_records(s, tid, [echo])
        assert b.account_row(s, tid, "salesforce", "001").vendor_updated_at == T0
    with b.session(db_url) as s:
        real = r.AccountRecord(
            vendor="salesforce", external_id="001", name="A1 Renamed", updated_at=T0 + timedelta(hours=2)
        )
        store.upsert_records(s, tid, [real])
    with b.session(db_url) as s:
        row = b.account_row(s, tid, "salesforce", "001")
        assert (row.name, row.vendor_updated_at) == ("A1 Renamed", T0 + timedelta(hours=2))
    with b.session(db_url) as s:
        gone = r.AccountRecord(
            vendor="salesforce",
            external_id="001",
            name="A1 Renamed",
            updated_at=T0 + timedelta(hours=3),
            deleted=True,
        )
        store.upsert_records(s, tid, [gone])
        assert b.account_row(s, tid, "salesforce", "001").deleted_at is not None


def test_a_refresh_notes_only_what_its_resync_really_changed(db_url: str) -> None:
    """A targeted refresh re-reads its overlap window; re-read deals, contacts and tickets that did not
    change must not be noted (each named a CRM account to score: 141 of 2,000 per one-ticket change)."""
    tid, _a1, _ = _accounts(db_url)

    def records(ticket_priority: str, deal_amount: int) -> list[r.Record]:
        return [
            r.DealRecord(vendor="salesforce", external_id="006A", account_external_id="001", name="Renewal",
                         amount=Decimal(deal_amount), updated_at=T0),
            r.ContactRecord(vendor="salesforce", external_id="003A", account_external_id="002",
                            email="a@x.test", name="Ann", updated_at=T0),
            r.TicketRecord(vendor="salesforce", external_id="500A", account_external_id="002",
                           subject="Broken", status="open", priority=ticket_priority, created_at=T0,
                           updated_at=T0),
            r.CommentRecord(vendor="salesforce", external_id="c1", ticket_external_id="500A",
                            author_role="customer", body="It is broken", created_at=T0),
        ]  # fmt: skip

    def noted(batch: list[r.Record]) -> list[tuple[str, str]]:
        seen: list[dict[str, object]] = []
        token = store.TOUCHED.set(seen)
        try:
            with b.session(db_url) as s:
                store.upsert_records(s, tid, batch)
        finally:
            store.TOUCHED.reset(token)
        return sorted((str(t["table"]), str(t["external_id"])) for t in seen)

    first = noted(records("normal", 100))
    assert first == [("contacts", "003A"), ("deals", "006A"), ("ticket_comments", "c1"), ("tickets", "500A")]
    assert noted(records("normal", 100)) == []  # the same records re-read: nothing to re-link or score
    assert noted(records("urgent", 100)) == [("tickets", "500A")]  # one real change, one note
    assert noted(records("urgent", 250)) == [("deals", "006A")]
    with b.session(db_url) as s:  # and the change was stored
        assert s.scalar(select(m.Ticket.priority).where(m.Ticket.external_id == "500A")) == "urgent"
        assert s.scalar(select(m.Deal.amount).where(m.Deal.external_id == "006A")) == 250
