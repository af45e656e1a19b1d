"""SIGKILL of a pass at seeded points in sync, scoring, write-back and delivery (issue 12, suite 4).

The pass runs in its own process (tests/reliability/pass_child.py, `healthscore run` plus a kill hook) and
dies by SIGKILL on the n-th call of a step's critical function: a page upserted, the write queue being
filled, a vendor-accepted batch not yet recorded, an event received but its attempt not recorded. Then
time passes (claims older than their timeout are abandoned work: we age them instead of waiting ten
minutes) and passes run again until nothing is pending. The vendors' field values must equal a run that was
never killed; every event must arrive at least once, a repeat only under the same `webhook-id`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from tests.reliability import figures
from tests.reliability.pass_child import KILL_POINTS
from tests.reliability.scenario import age_claims, baseline, pass_in_child, run_scenario
from tests.reliability.world import VENDORS, World

PHASE_OF = {"sync": 1, "score": 1, "write_back": 1, "delivery": 2}  # where each point has work to cut
Kill = tuple[str, str, int]


def _with_kills(sandbox: Any, kills: list[Kill]) -> tuple[dict[str, Any], int]:
    killed = 0

    def before(world: World, phase: int) -> None:
        nonlocal killed
        for point, when, nth in kills:
            if PHASE_OF[point] == phase:
                killed += pass_in_child(world, f"{KILL_POINTS[point]}:{when}:{nth}") == -9
                age_claims(world)

    return run_scenario(sandbox, before_phase=before), killed


def _check(base: dict[str, Any], hit: dict[str, Any], kills: list[Kill]) -> None:
    assert hit["clean"], (kills, hit["last"])
    for vendor in VENDORS:
        assert hit["crm"][vendor] == base["crm"][vendor], (kills, vendor)
    assert sorted(set(hit["events"])) == sorted(set(base["events"])), kills  # every event, none invented
    by_id: dict[str, list[Any]] = defaultdict(list)
    for msg_id, event in hit["received"]:
        by_id[msg_id].append(event)
    assert all(len({repr(e) for e in evs}) == 1 for evs in by_id.values())  # a repeat is the same event
    assert len(by_id) == len(base["events"]), kills  # ... under the same id, never a new one


def _kills(n: int, seed: int) -> list[Kill]:
    rng = random.Random(seed)
    points = list(KILL_POINTS)
    out = []
    for i in range(n):
        point = points[i % len(points)] if i < len(points) else rng.choice(points)
        out.append((point, rng.choice(["before", "after"]), rng.randint(1, 3)))
    return out


def _run(sandbox: Any, runs: list[list[Kill]]) -> None:
    base = baseline(sandbox)
    done = 0
    for kills in runs:
        hit, killed = _with_kills(sandbox, kills)
        _check(base, hit, kills)
        done += killed
    figures.record(
        "sigkill",
        runs=len(runs),
        kills_attempted=sum(len(k) for k in runs),
        processes_killed=done,
        points=", ".join(f"{p}: {KILL_POINTS[p]}" for p in KILL_POINTS),
    )


def test_sigkill_short(rel_sandbox: Any) -> None:
    # Where a crash costs most: the vendor accepted a batch the outbox never recorded; an event received
    # whose attempt was never recorded.
    _run(rel_sandbox, [[("write_back", "before", 1), ("delivery", "after", 1)]])


@pytest.mark.reliability
def test_sigkill_many_seeded(rel_sandbox: Any) -> None:
    _run(rel_sandbox, [[k] for k in _kills(24, seed=7)])
