"""A pass's snapshots written in bulk (connector/store/snapshots.py): ids given back, every column stored,
current_scores following the newest, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.store import models as m
from connector.store.snapshots import insert_snapshots
from tests.connector import builders as b
from tests.connector.builders import T0
from tests.connector.store.test_scale import _accounts, _snap


def test_bulk_snapshots_get_ids_columns_and_current_scores(db_url: str) -> None:
    tid, a1, a2 = _accounts(db_url)
    with b.session(db_url) as s:
        s.add_all([_snap(tid, a1, T0, 10.0), _snap(tid, a2, T0, 20.0)])
    later = T0 + timedelta(days=1)
    new = _snap(tid, a1, later, 41.5)
    new.band, new.trend_30d, new.confidence, new.segment = "red", -3.5, 0.8, "enterprise"
    new.dimensions, new.drivers = {"support": 22.0}, [{"metric": "nps", "text": "NPS 3"}]
    new.metrics, new.sentiment_30d, new.recommended_action = {"nps_avg_90d": 3.0}, -0.4, "Call the sponsor"
    older = _snap(tid, a2, T0 - timedelta(days=3), 99.0)  # a backfilled point: stored, not current
    with b.session(db_url) as s:
        insert_snapshots(s, [new, older])
        assert new.id is not None
        assert older.id is not None
        assert new.id != older.id
        assert new not in s  # the objects stay out of the session: a later flush does not insert them again
    with b.session(db_url) as s:
        got = s.get(m.ScoreSnapshot, new.id)
        assert got is not None
        assert (got.account_id, got.as_of, got.score, got.band, got.segment) == (
            a1,
            later,
            41.5,
            "red",
            "enterprise",
        )
        assert (got.dimensions, got.drivers, got.metrics) == (
            {"support": 22.0},
            [{"metric": "nps", "text": "NPS 3"}],
            {"nps_avg_90d": 3.0},
        )
        assert (got.trend_30d, got.sentiment_30d, got.recommended_action) == (-3.5, -0.4, "Call the sponsor")
        assert s.get(m.ScoreSnapshot, older.id) is not None
        cur = {
            c.account_id: (c.snapshot_id, c.score, c.band, c.trend_30d)
            for c in s.scalars(select(m.CurrentScore))
        }
        assert cur[a1] == (new.id, 41.5, "red", -3.5)
        assert cur[a2][1:] == (20.0, "green", None)  # the older point did not displace the current one


def test_bulk_snapshots_of_nothing_write_nothing(db_url: str) -> None:
    _tid, _, _ = _accounts(db_url)
    with b.session(db_url) as s:
        insert_snapshots(s, [])
        assert s.scalar(select(m.ScoreSnapshot.id)) is None
