"""The cursor's memory of delivered overlap records: matching, pruning, size bound, token formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from integrations.hubspot import delivered, search
from integrations.hubspot.mapping import HubRecord

UPPER = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)
PROP = "hs_lastmodifieddate"


def rec(rec_id: str, when: datetime) -> HubRecord:
    return HubRecord(id=rec_id, properties={PROP: when.isoformat().replace("+00:00", "Z")})


def ms(moment: datetime) -> int:
    return search.epoch_ms(moment)


def make(known: dict[str, int] | None = None, since: datetime | None = None) -> delivered.Delivered:
    return delivered.Delivered(known or {}, since=since, upper=UPPER, previous=None, overlap=OVERLAP)


def test_same_id_and_time_is_known_a_new_time_or_type_is_not() -> None:
    t = UPPER - timedelta(minutes=2)
    d = make({"deals:1": ms(t)})
    assert d.has("deals", rec("1", t), PROP)
    assert not d.has("deals", rec("1", t + timedelta(seconds=1)), PROP)  # modified again
    assert not d.has("tickets", rec("1", t), PROP)  # ids are per object type
    assert not d.has("deals", HubRecord(id="1", properties={}), PROP)  # no time: never skipped


def test_finished_snapshot_keeps_only_what_the_next_read_re_reads() -> None:
    newest = UPPER - timedelta(minutes=1)
    d = make(since=UPPER - timedelta(hours=1))
    inside, outside = newest - timedelta(minutes=4), newest - timedelta(minutes=6)
    d.add("deals", [rec("1", newest), rec("2", inside), rec("3", outside)], PROP)
    d.saw(newest)
    assert set(d.snapshot()) == {"deals:1", "deals:2", "deals:3"}  # mid-read: a resume repeats the window
    assert d.snapshot(finished=True) == {"deals:1": ms(newest), "deals:2": ms(inside)}


def test_the_memory_is_bounded_newest_first() -> None:
    d = make()
    base = UPPER - timedelta(minutes=4)
    d.add(
        "notes", [rec(str(i), base + timedelta(milliseconds=i)) for i in range(delivered.MAX_SEEN + 5)], PROP
    )
    d.saw(UPPER)
    kept = d.snapshot(finished=True)
    assert len(kept) == delivered.MAX_SEEN
    assert "notes:0" not in kept
    assert f"notes:{delivered.MAX_SEEN + 4}" in kept


def test_tokens_old_and_new() -> None:
    assert search.seen(json.dumps({"deletes_checked": 5})) == {}  # the older finished token
    assert search.seen("not json") == {}
    assert search.seen(None) == {}
    token = search.finished_token(5, {"deals:1": 7})
    assert token is not None
    assert search.seen(token) == {"deals:1": 7}
    assert search.deletes_checked(token) == 5
    assert search.finished_token(None, {}) is None
    pos = search.Position(phase=1, upper=9, last_id="3", seen={"deals:1": 7})
    assert search.Position.loads(pos.dumps()) == pos
    old = json.dumps({"phase": 1, "upper": 9, "last_id": "3", "after": None, "deletes_checked": None})
    loaded = search.Position.loads(old)
    assert loaded is not None
    assert loaded.seen == {}
