"""Plays: which band changes fire which play, one task per account and play over a flap sequence,
close-or-leave on recovery, dry-run wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.pipeline.plays import BandChange, Play, TaskState, matches, plan

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ORDER = ("green", "yellow", "red")
RED_ENT = Play(
    id="red-ent", to_band="red", segments=("enterprise",), next_step="Call the sponsor", due_days=2
)


def ch(day: int, old: str | None, new: str, acc: str = "1", seg: str = "enterprise") -> BandChange:
    return BandChange(
        account_id=acc,
        account_name=f"Acc {acc}",
        segment=seg,
        old_band=old,
        new_band=new,
        as_of=T0 + timedelta(days=day),
        drivers=("NPS 4.1", "3 negative tickets in 14 days"),
    )


def test_matches_transition_and_segment() -> None:
    assert matches(RED_ENT, ch(0, "yellow", "red"))
    assert not matches(RED_ENT, ch(0, "yellow", "red", seg="smb"))
    assert not matches(RED_ENT, ch(0, "red", "yellow"))
    from_green = Play(id="g2r", to_band="red", from_bands=("green",))
    assert matches(from_green, ch(0, "green", "red"))
    assert not matches(from_green, ch(0, "yellow", "red"))
    assert not matches(Play(id="off", to_band="red", enabled=False), ch(0, "yellow", "red"))


def test_task_body_due_and_fired_ids() -> None:
    p = plan([ch(0, "yellow", "red")], [RED_ENT], {}, ORDER)
    (a,) = p.actions
    assert (a.kind, a.play_id, a.account_id, a.due) == ("create", "red-ent", "1", T0 + timedelta(days=2))
    assert "NPS 4.1" in a.body
    assert "Suggested next step: Call the sponsor" in a.body
    assert a.subject == "Health score: Acc 1 entered Red (At risk)"
    assert p.fired == {"1": ["red-ent"]}


def test_flap_sequence_creates_one_task() -> None:
    """red → yellow → red → yellow → red within the cooldown: one create, closes on each recovery."""
    seq = [
        ch(0, "yellow", "red"),
        ch(3, "red", "yellow"),
        ch(6, "yellow", "red"),
        ch(9, "red", "yellow"),
        ch(12, "yellow", "red"),
    ]
    p = plan(seq, [RED_ENT], {}, ORDER)
    assert [a.kind for a in p.actions] == ["create", "close"]
    assert p.fired == {"1": ["red-ent"] * 3}  # the events still say which play matched


def test_open_task_from_an_earlier_pass_blocks_a_new_one() -> None:
    tasks = {("1", "red-ent"): TaskState(open=True, created=T0 - timedelta(days=60))}
    assert plan([ch(0, "yellow", "red")], [RED_ENT], tasks, ORDER).creates == 0


def test_after_the_cooldown_a_closed_task_allows_a_new_one() -> None:
    tasks = {("1", "red-ent"): TaskState(open=False, created=T0 - timedelta(days=30))}
    assert plan([ch(0, "yellow", "red")], [RED_ENT], tasks, ORDER).creates == 1


def test_recovery_leave_rule_keeps_the_task_open() -> None:
    leave = Play(id="leave", to_band="red", on_recovery="leave")
    p = plan([ch(0, "yellow", "red"), ch(5, "red", "green"), ch(40, "green", "red")], [leave], {}, ORDER)
    assert [a.kind for a in p.actions] == ["create"]  # still open at day 40: no second task


def test_dry_run_wording() -> None:
    changes = [ch(0, "yellow", "red", acc=str(i)) for i in range(37)]
    assert plan(changes, [RED_ENT], {}, ORDER).summary() == "would create 37 tasks"
    assert plan(changes[:1], [RED_ENT], {}, ORDER).summary() == "would create 1 task"
