"""Turning a play on backfills the accounts already in its band, and the dry run counts exactly those tasks;
enable → disable → enable never duplicates a task, and the next pass does not either."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from connector.admin import plays as actions
from connector.clock import set_tenant_clock
from connector.installs.vault import Vault
from connector.pipeline import play_backfill
from connector.store import models as m
from tests.connector import builders as b
from tests.connector.builders import DAY, T0
from tests.connector.pipeline.test_play_flow import _play
from tests.connector.pipeline.test_score import _pass, _publish, _seats

NOW = T0 + 60 * DAY  # the tenant's clock; the lookback window starts 30 days before it


def _snap(s: Any, tenant_id: int, account_id: int, day: int, band: str, segment: str = "smb") -> None:
    """A snapshot `day` days before NOW."""
    at = NOW - day * DAY
    s.add(
        m.ScoreSnapshot(
            tenant_id=tenant_id, account_id=account_id, as_of=at, score=30.0 if band == "red" else 70.0,
            band=band, band_since=at, segment=segment, dimensions={}, drivers=[{"text": "NPS fell"}],
            metrics={}, confidence=1.0, model_version="seats-1",
        )
    )  # fmt: skip


def _book(s: Any, t: int) -> dict[str, int]:
    """Accounts with every case the backfill rule names (docs/plays.md)."""
    acc = {name: _seats(s, t, name, 0.5) for name in "ABCDEFGHI"}
    acc["Z"] = b.crm_account(s, t, "900", "Helpdesk Org", vendor="zendesk")
    history = {
        "A": [(40, "yellow"), (10, "red"), (1, "red")],  # entered red 10 days ago: a task
        "B": [(50, "yellow"), (35, "red"), (1, "red")],  # red for 35 days: beyond the lookback
        "C": [(40, "green"), (20, "red"), (5, "yellow")],  # recovered: no task
        "D": [(31, "yellow"), (29, "red")],  # baseline before the window, entry inside it: a task
        "E": [(20, "red"), (2, "red")],  # first score red, no entry seen: not a transition
        "F": [(40, "green"), (12, "red"), (11, "yellow"), (3, "red")],  # flapped, red now: one task
        "G": [(40, "yellow"), (8, "red")],  # has an open task of this play: none more
        "H": [(40, "yellow"), (8, "red")],  # a former customer: left out
        "I": [(40, "yellow"), (6, "red")],  # entered red, other segment
        "Z": [(40, "yellow"), (6, "red")],  # a Zendesk organization: no CRM to hold a task
    }
    for name, snaps in history.items():
        for day, band in snaps:
            _snap(s, t, acc[name], day, band, "enterprise" if name == "I" else "smb")
    s.get(m.Account, acc["H"]).status = "churned"
    return acc


def _tasks(db_url: str) -> list[tuple[int, int, str]]:
    with b.session(db_url) as s:
        return [
            (x.account_id, x.play_id, x.state) for x in s.scalars(select(m.PlayTask).order_by(m.PlayTask.id))
        ]


def test_dry_run_counts_exactly_what_enabling_creates(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        set_tenant_clock(s, t, NOW)
        acc = _book(s, t)
        play = _play(s, t, enabled=False, segments=["smb"])
        other = _play(s, t, name="Other", enabled=False)
        s.add(m.PlayTask(tenant_id=t, play_id=play, account_id=acc["G"], vendor="salesforce", state="open",
                         subject="s", body="b", due_at=NOW, created_at=NOW - 8 * DAY))  # fmt: skip
    with b.session(db_url) as s:
        dry = actions.dry_run(s, t, s.get(m.Play, play))
    assert {a for a, _ in dry.accounts} == {acc["A"], acc["D"], acc["F"]}
    assert (dry.creates, dry.closes, dry.no_crm) == (3, 0, 1)  # Z matches but has no CRM: not a create
    assert dry.summary == (
        "would create 3 tasks for accounts that entered the band in the last 30 days"
        " (1 more match but have no connected CRM to hold a task)"
    )
    with b.session(db_url) as s:
        done = actions.set_enabled(s, t, play, True, "admin@acme.test")
        assert done is not None
        assert done[1] is not None
        assert done[1].creates == dry.creates
    created = [(a, st) for a, p, st in _tasks(db_url) if p == play and a != acc["G"]]
    assert sorted(created) == sorted((a, "queued") for a, _ in dry.accounts)
    with b.session(db_url) as s:
        rows = s.scalars(select(m.WritebackOutbox).where(m.WritebackOutbox.kind == "task")).all()
        assert sorted(r.external_id for r in rows) == ["A", "D", "F"]
        task = s.scalars(select(m.PlayTask).where(m.PlayTask.account_id == acc["A"])).one()
        assert (task.created_at, task.due_at) == (NOW, NOW + 2 * DAY)  # stamped now, due N days on
        assert "moved from Yellow (Watch) to Red (At risk)" in task.body
    # the play without segments also matches I (enterprise); Z still has no CRM
    with b.session(db_url) as s:
        dry_other = actions.dry_run(s, t, s.get(m.Play, other))
    assert {a for a, _ in dry_other.accounts} == {acc["A"], acc["D"], acc["F"], acc["G"], acc["I"]}
    assert dry_other.no_crm == 1
    assert "1 more match but have no connected CRM" in dry_other.summary


def test_enable_disable_enable_does_not_duplicate(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        set_tenant_clock(s, t, NOW)
        _book(s, t)
        play = _play(s, t, enabled=False)
    for on in (True, False, True, True):
        with b.session(db_url) as s:
            actions.set_enabled(s, t, play, on, "admin@acme.test")
    assert len(_tasks(db_url)) == 5  # A, D, F, G, I: once each
    with b.session(db_url) as s:
        again = actions.dry_run(s, t, s.get(m.Play, play))
    assert again.creates == 0  # every match already has its open task


def test_a_task_closed_within_the_cooldown_blocks_the_backfill(db_url: str, tmp_path: Path) -> None:
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        set_tenant_clock(s, t, NOW)
        a = _seats(s, t, "A", 0.5)
        for day, band in ((40, "yellow"), (10, "red")):
            _snap(s, t, a, day, band)
        play = _play(s, t, enabled=False, cooldown_days=14)
        s.add(m.PlayTask(tenant_id=t, play_id=play, account_id=a, vendor="salesforce", state="closed",
                         subject="s", body="b", due_at=NOW, created_at=NOW - 13 * DAY))  # fmt: skip
    with b.session(db_url) as s:
        row = s.get(m.Play, play)
        assert actions.dry_run(s, t, row).creates == 0
        row.cooldown_days = 12
        assert actions.dry_run(s, t, row).creates == 1


def test_after_enabling_the_next_pass_does_not_repeat_the_task(db_url: str, tmp_path: Path) -> None:
    """Scored through the real score step: 001 enters red before the play is on; enabling backfills one task;
    the following passes (still red, then a flap) add none while it is open."""
    vault = Vault(b.settings_for(db_url, tmp_path))
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        b.installation(s, vault, t)
        _seats(s, t, "001", 0.80)
        play = _play(s, t, enabled=False)
    _pass(db_url, t, T0)
    _pass(db_url, t, T0 + DAY, {"001": 0.40})  # red, the play is off: nothing
    assert _tasks(db_url) == []
    with b.session(db_url) as s:
        set_tenant_clock(s, t, T0 + 2 * DAY)
        assert actions.dry_run(s, t, s.get(m.Play, play)).creates == 1
        actions.set_enabled(s, t, play, True, "admin@acme.test")
    assert [st for _, _, st in _tasks(db_url)] == ["queued"]
    for day, seats in ((3, 0.40), (4, 0.60), (5, 0.40)):
        _pass(db_url, t, T0 + day * DAY, {"001": seats})
    assert len(_tasks(db_url)) == 1


def test_no_scores_yet_is_zero(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        _publish(s, t)
        play = _play(s, t, enabled=False)
        result = play_backfill.backfill(s, t, s.get(m.Play, play), ("green", "yellow", "red"), write=False)
    assert (result.creates, result.closes, result.accounts) == (0, 0, [])
