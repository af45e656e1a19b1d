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


def _statements(db_url: str) -> list[str]:
    from sqlalchemy import event

    from connector.store.db import get_engine

    seen: list[str] = []
    event.listen(get_engine(db_url), "before_cursor_execute", lambda *a: seen.append(str(a[2])))
    return seen


def test_bulk_snapshots_store_the_same_text_as_the_orm_without_a_statement_per_row(db_url: str) -> None:
    """On PostgreSQL the rows go as one COPY (issue 17: a pipelined INSERT per snapshot cost ~0.2 ms of the
    worker's CPU each, ~8,800 per tenant and pass at 10,000 accounts): no INSERT statement, and every
    column, the JSON columns' text included, exactly as an ORM insert of the same values stores it, also
    for text COPY must escape (tabs, newlines, backslashes, quotes, non-ASCII). SQLite keeps its INSERT."""
    from sqlalchemy import text

    tid, a1, a2 = _accounts(db_url)
    hostile = 'Tab\there\nnew line \\N back\\slash "quoted" \u00e9t\u00e9 \U0001f600 \r end'
    snaps = []
    for account, score in ((a1, 41.5), (a2, 72.25)):
        snap = _snap(tid, account, T0 + timedelta(days=1), score)
        snap.dimensions, snap.drivers = {"support": 22.0, hostile: None}, [{"metric": "nps", "text": hostile}]
        snap.metrics, snap.recommended_action, snap.segment = {"x": 1e-9, "y": None}, hostile, "mid\tmarket"
        snaps.append(snap)
    twin = _snap(tid, a1, T0 + timedelta(days=2), 41.5)  # the same values through the ORM, for comparison
    twin.dimensions, twin.drivers, twin.metrics = snaps[0].dimensions, snaps[0].drivers, snaps[0].metrics
    twin.recommended_action, twin.segment = hostile, "mid\tmarket"
    with b.session(db_url) as s:
        s.add(twin)
    seen = _statements(db_url)
    with b.session(db_url) as s:
        insert_snapshots(s, snaps)
    inserts = [q for q in seen if q.lstrip().upper().startswith("INSERT INTO SCORE_SNAPSHOTS")]
    if db_url.startswith("postgresql"):
        assert inserts == []
    else:
        assert inserts
    as_text = "CAST({} AS TEXT)" if db_url.startswith("postgresql") else "{}"
    json_text = ", ".join(as_text.format(c) for c in ("dimensions", "drivers", "metrics"))
    query = (
        f"SELECT id, {json_text}, recommended_action, segment, score, band_since, band FROM score_snapshots"
    )
    with b.session(db_url) as s:
        rows = {row[0]: row[1:] for row in s.execute(text(query))}
    # JSON text, action, segment, score, band_since and band byte for byte (as_of differs by design)
    assert rows[snaps[0].id] == rows[twin.id]
    assert rows[snaps[1].id][5] == 72.25
    with b.session(db_url) as s:
        got = s.get(m.ScoreSnapshot, snaps[0].id)
        assert got is not None
        assert got.drivers == [{"metric": "nps", "text": hostile}]
        assert got.as_of == T0 + timedelta(days=1)


def test_bulk_snapshots_refuse_a_naive_time_as_the_orm_does(db_url: str) -> None:
    import pytest

    tid, a1, _ = _accounts(db_url)
    snap = _snap(tid, a1, (T0 + timedelta(days=1)).replace(tzinfo=None), 10.0)
    with pytest.raises(Exception, match="naive datetime"), b.session(db_url) as s:
        insert_snapshots(s, [snap])
