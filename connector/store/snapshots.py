"""Writing a pass's score snapshots in bulk, with current_scores kept in step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy import types as sa_types
from sqlalchemy.orm import Session

from connector.store import models as m
from connector.store.chunks import chunks

_COLUMNS = tuple(c.key for c in m.ScoreSnapshot.__table__.columns if c.key != "id")


@dataclass(slots=True, eq=False)
class SnapshotRow:
    """A new snapshot's columns, as a plain object: what the score step builds per account and hands to
    insert_snapshots (which sets `id`), play_queue, the events and the outbox. An ORM ScoreSnapshot per
    account cost ~0.25 ms of CPU in instrumented attribute sets and init events (issue 17); rows that
    insert_snapshots writes never enter the session anyway."""

    tenant_id: int
    account_id: int
    as_of: datetime
    score: float
    band: str
    band_since: datetime
    segment: str | None
    dimensions: dict[str, Any]
    drivers: list[Any]
    metrics: dict[str, Any]
    confidence: float
    trend_30d: float | None
    sentiment_30d: float | None
    recommended_action: str | None
    model_version: str
    id: int | None = None


if set(_COLUMNS) != set(SnapshotRow.__dataclass_fields__) - {"id"}:  # a new column needs a field here
    raise RuntimeError("SnapshotRow does not match the score_snapshots columns")


def insert_snapshots(session: Session, snaps: Sequence[m.ScoreSnapshot | SnapshotRow]) -> None:
    """INSERT these new (transient) snapshots in this session's transaction, give each its id, and point
    current_scores at them, as a flush of the same objects would (models.track_current).

    Why not session.add + flush: the ORM sends an INSERT … RETURNING of 1,000 rows of 15 columns per
    statement, which SQLAlchemy builds and psycopg parses anew each time (statements that long are never
    cached): 3,500 snapshots took ~1.1 s. On PostgreSQL the ids come from the table's sequence in one
    round trip and the rows go as one COPY (_copy_snapshots); SQLite keeps RETURNING. The objects stay out of the session: callers read their
    columns and ids only."""
    if not snaps:
        return
    conn = session.connection()
    snapshot = m.ScoreSnapshot
    rows: list[dict[str, Any]] = [{c: getattr(s, c) for c in _COLUMNS} for s in snaps]
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('score_snapshots', 'id')) FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            ).scalars()
        )
        for row, id_ in zip(rows, ids, strict=True):
            row["id"] = id_
        _copy_snapshots(conn, rows)
    else:
        ids = []
        for part in chunks(rows):
            ids += conn.execute(
                insert(snapshot).returning(snapshot.id, sort_by_parameter_order=True), part
            ).scalars()
    for snap, id_ in zip(snaps, ids, strict=True):
        snap.id = id_
    m.track_current(conn, snaps)


_JSON_COLUMNS = frozenset(
    c.key for c in m.ScoreSnapshot.__table__.columns if isinstance(c.type, sa_types.JSON)
)


_TIME_COLUMNS = frozenset(
    c.key for c in m.ScoreSnapshot.__table__.columns if isinstance(c.type, m.UTCDateTime)
)


def _copy_snapshots(conn: Any, rows: list[dict[str, Any]]) -> None:
    """The rows (ids set) through one COPY on the session's own psycopg connection, in its transaction.

    A pipelined executemany of a one-row INSERT cost the worker ~0.2 ms of CPU per snapshot in psycopg's
    per-row statement machinery, and the server a bind and an execute per row (issue 17: ~8,800 rows per
    tenant and pass at 10,000 accounts). COPY sends the same values as one stream. The JSON columns carry
    the text SQLAlchemy would have bound (the dialect's serializer, json.dumps by default), so the stored
    rows are the same."""
    dumps = getattr(conn.dialect, "_json_serializer", None) or json.dumps
    columns = ("id", *_COLUMNS)
    json_at = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
    times_at = [i for i, c in enumerate(columns) if c in _TIME_COLUMNS]
    raw = conn.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY score_snapshots ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = [row[c] for c in columns]
            for i in times_at:  # as UTCDateTime binds them: a naive time is a caller's mistake
                if values[i].tzinfo is None:
                    raise ValueError("naive datetime given to the store; use timezone-aware UTC")
            for i in json_at:
                values[i] = dumps(values[i])
            copy.write_row(values)
