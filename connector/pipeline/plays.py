"""Plays: turn a band change into a CRM task for the account owner (the decision part, pure).

An admin defines plays per band transition and segment ("enters red, enterprise": a task for the owner
with the drivers and the next step in its body, due in N days, optionally a Zendesk ticket for the support
lead). This module decides WHAT to do from the band changes of a pass and the tasks already open; the
write-back (Salesforce Task via composite/sobjects, HubSpot tasks via batch create, through the outbox) is
built in play_queue.py and task_writeback.py (docs/plays.md).

Rules:
- a play fires when an account's band changes INTO `to_band` (from one of `from_bands`, any if empty) and
  its segment is in `segments` (any if empty);
- one open task per (account, play): while one is open nothing new is created, and none either within
  `cooldown_days` of the last task's creation even if it was closed on a recovery, so a flapping account
  (red → yellow → red → yellow → red) gets one task, not three;
- when the account recovers (leaves `to_band` for a better band) its open task is closed if the play says
  `on_recovery: close`, else left for the owner;
- turning a play on backfills the accounts already in its band through this same plan, and the dry run is
  that backfill without writing ("would create 37 tasks"): play_backfill.py.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from scoring.band_names import label as band_label

Recovery = Literal["close", "leave"]
SUBJECT_FIELDS = frozenset({"account", "band"})


def subject_ok(template: str) -> bool:
    """Only plain {account} and {band} (and doubled braces): no format spec, conversion, attribute or index.
    str.format honoured those, so "{account:>2000000000}" (40 characters) allocated gigabytes, on the admin's
    save and again in the scoring worker each time the play fired."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return False
    return all(
        name is None or (name in SUBJECT_FIELDS and not spec and conversion is None)
        for _literal, name, spec, conversion in parts
    )


def render_subject(template: str, account: str, band: str) -> str:
    """The subject with {account} and {band} filled in, as str.format does for a template `subject_ok`
    accepts; a template saved before that check gets the plain values (never a spec or lookup applied)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return template
    values = {"account": account, "band": band}
    out = []
    for literal, name, _spec, _conversion in parts:
        out.append(literal)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Play:
    """One admin-defined play."""

    id: str
    to_band: str
    from_bands: tuple[str, ...] = ()  # empty: from any band
    segments: tuple[str, ...] = ()  # empty: every segment
    subject: str = "Health score: {account} entered {band}"
    next_step: str = ""
    due_days: int = 3
    zendesk_ticket: bool = False
    on_recovery: Recovery = "close"
    cooldown_days: int = 14
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState:
    """The newest task a play created for an account."""

    open: bool
    created: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class BandChange:
    account_id: str
    account_name: str
    segment: str
    old_band: str | None
    new_band: str
    as_of: datetime
    drivers: tuple[str, ...] = ()  # driver texts, strongest first


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskAction:
    """One thing to write: create a task (and maybe a ticket) or close an open one."""

    kind: Literal["create", "close"]
    play_id: str
    account_id: str
    subject: str = ""
    body: str = ""
    due: datetime | None = None
    zendesk_ticket: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    actions: list[TaskAction] = field(default_factory=list)
    fired: dict[str, list[str]] = field(default_factory=dict)  # account id -> play ids (for the event)

    @property
    def creates(self) -> int:
        return sum(1 for a in self.actions if a.kind == "create")

    def summary(self) -> str:
        closes = len(self.actions) - self.creates
        return f"would create {self.creates} task{'s' * (self.creates != 1)}" + (
            f" and close {closes}" if closes else ""
        )


def _rank(band: str | None, order: Sequence[str]) -> int:
    """0 = best band; unknown / None = worse than any (a first score is not a recovery)."""
    return order.index(band) if band in order else len(order)


def matches(play: Play, change: BandChange) -> bool:
    return (
        play.enabled
        and change.new_band == play.to_band
        and change.old_band != play.to_band
        and (not play.from_bands or change.old_band in play.from_bands)
        and (not play.segments or change.segment in play.segments)
    )


def task_body(play: Play, change: BandChange) -> str:
    # Bands in words as the CRM picklist and our pages pair them: "Yellow (Watch)" (scoring/band_names.py).
    before = band_label(change.old_band) if change.old_band else "no band"
    lines = [f"{change.account_name} moved from {before} to {band_label(change.new_band)}."]
    if change.drivers:
        lines.append("What drives it: " + "; ".join(change.drivers[:3]) + ".")
    if play.next_step:
        lines.append(f"Suggested next step: {play.next_step}")
    return "\n".join(lines)


def plan(
    changes: Iterable[BandChange],
    plays: Sequence[Play],
    tasks: Mapping[tuple[str, str], TaskState],
    band_order: Sequence[str],
) -> Plan:
    """Actions for one pass, changes in time order. `tasks`: the newest task per (account id, play id)."""
    out = Plan()
    state = dict(tasks)
    for ch in changes:
        for play in plays:
            key = (ch.account_id, play.id)
            last = state.get(key)
            if matches(play, ch):
                out.fired.setdefault(ch.account_id, []).append(play.id)
                if last is not None and (
                    last.open or ch.as_of - last.created < timedelta(days=play.cooldown_days)
                ):
                    continue  # one task per account and play: a flap back does not duplicate it
                state[key] = TaskState(open=True, created=ch.as_of)
                out.actions.append(
                    TaskAction(
                        kind="create",
                        play_id=play.id,
                        account_id=ch.account_id,
                        subject=render_subject(play.subject, ch.account_name, band_label(ch.new_band)),
                        body=task_body(play, ch),
                        due=ch.as_of + timedelta(days=play.due_days),
                        zendesk_ticket=play.zendesk_ticket,
                    )
                )
            elif (
                last is not None
                and last.open
                and play.on_recovery == "close"
                and _rank(ch.new_band, band_order) < _rank(play.to_band, band_order)
            ):
                state[key] = TaskState(open=False, created=last.created)
                out.actions.append(TaskAction(kind="close", play_id=play.id, account_id=ch.account_id))
    return out
