"""Admin → Integrations → CRM write-back (routes on the shared admin blueprint): see and change when a CRM
record is rewritten, per CRM installation (`installation.settings["write_rule"]`, validated by
connector.pipeline.materiality.rule_from). Zendesk is not a write-back target of its own rule, so only the
CRMs have one here.

A refused form is shown again (400) with what was typed and what to enter instead; nothing is saved. A
saved one is audit-logged with the old and new values and the page says what changed (Post/Redirect/Get).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from flask import abort, flash, redirect, request, url_for

from connector import readmodels
from connector.installs import installs
from connector.pipeline import materiality as mat
from connector.store import models as m
from connector.store.repo import audit
from connector.web.access import actor, admin_required, current_user, db, tenant_id
from connector.web.admin import integrations_page
from connector.web.blueprints import admin as bp

CRMS = ("salesforce", "hubspot")  # the installations whose records are written back by this rule
NAMES = tuple(f.name for f in fields(mat.WriteRule))
LABELS = {
    "score_points": "Score points",
    "trend_points": "Trend points",
    "sentiment": "Sentiment change",
    "max_age_days": "Refresh age (days)",
    "refresh_spread_days": "Refresh spread (days)",
}
EXAMPLES = {
    "score_points": "2",
    "trend_points": "2",
    "sentiment": "0.1",
    "max_age_days": "14",
    "refresh_spread_days": "3",
}
TYPED_MAX = 40  # characters of a typed value shown back (a pasted novel is not)
# A decimal comma (1,5 or 0,05), not a thousands separator (10,000 is refused as ambiguous).
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d{1,2}$")
_PROBLEM_FIELD = re.compile(rf"^{mat.SETTINGS_KEY}\.(\w+):")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")  # digits, a point, an exponent: a number


def _num(value: float) -> str:
    return f"{value:g}"


def _plural(value: float, word: str) -> str:
    return f"{_num(value)} {word}{'' if value == 1 else 's'}"


def meaning(name: str, rule: mat.WriteRule) -> str:
    """One line on what the threshold's value means for the CRM."""
    value = getattr(rule, name)
    if name == "score_points":
        return f"A record is rewritten when its score moves {_plural(value, 'point')} or more."
    if name == "trend_points":
        return (
            f"A record is rewritten when its 30-day trend moves {_plural(value, 'point')} or more, "
            "or changes sign."
        )
    if name == "sentiment":
        return f"A record is rewritten when its 30-day sentiment (from -1 to +1) moves {_num(value)} or more."
    if name == "max_age_days":
        return f"Every record is rewritten at least every {_plural(value, 'day')}, even when nothing above changed."
    if value <= 0:
        return "Records written in the same pass are all refreshed in the same later pass."
    hours = int(value * 24)
    return (
        f"Each record's refresh comes up to {_plural(hours, 'hour')} early (fixed per record), so records "
        f"written in one pass are refreshed over {_plural(value, 'day')}, not all in one pass."
    )


def allowed(name: str) -> str:
    """What a threshold may be, in words."""
    low = "0 or more" if name == "refresh_spread_days" else "a number above 0"
    high = _num(mat.LIMITS[name])
    if name == "refresh_spread_days":
        return f"{low}, less than the refresh age"
    return f"{low} and at most {high}"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    label: str
    value: float  # what the pipeline uses
    default: float
    state: str  # "default"; "set" here; "adjusted": its saved value is not valid, so another is used
    meaning: str
    typed: str  # the input's value: what was typed, else what is saved ("" = default)
    minimum: str
    maximum: str


@dataclass(frozen=True, slots=True)
class Panel:
    vendor: str
    label: str
    rows: list[Row]
    custom: int  # thresholds set here
    stored_problems: list[str]  # saved values the pipeline ignores (set outside this page)
    errors: list[str]  # a refused form's problems
    invalid: frozenset[str]  # the thresholds those problems name
    refused: bool
    reset_question: str


def _stored(settings: Mapping[str, Any] | None) -> Mapping[str, Any]:
    raw = (settings or {}).get(mat.SETTINGS_KEY)
    return raw if isinstance(raw, Mapping) else {}


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return _num(value) if math.isfinite(value) else str(value)
    return str(value)[:TYPED_MAX]


def panel(inst: m.Installation, form: Mapping[str, Any] | None = None) -> Panel:
    """The write-back section of one CRM's card: the rule in use, and the form (`form`: a refused one)."""
    settings = inst.settings if isinstance(inst.settings, Mapping) else {}
    rule, problems = mat.rule_from(settings)
    stored = _stored(settings)
    bad = {match.group(1) for p in problems if (match := _PROBLEM_FIELD.match(p))}
    typed = (form or {}).get("typed") or {}
    label = installs.SPECS[inst.vendor].label if inst.vendor in installs.SPECS else inst.vendor
    errors = [str(e) for e in (form or {}).get("errors") or []]
    rows = []
    for name in NAMES:
        value, default = getattr(rule, name), getattr(mat.DEFAULT_RULE, name)
        state = "set" if name in stored and name not in bad else "default" if value == default else "adjusted"
        rows.append(
            Row(
                name=name,
                label=LABELS[name],
                value=value,
                default=default,
                state=state,
                meaning=meaning(name, rule),
                typed=typed.get(name, "") if form else _shown(stored.get(name)),
                minimum="0",
                maximum=_num(mat.LIMITS[name]),
            )
        )
    return Panel(
        vendor=inst.vendor,
        label=label,
        rows=rows,
        custom=sum(r.state == "set" for r in rows),
        stored_problems=[_saved_problem(p, rule) for p in problems],
        errors=errors,
        invalid=frozenset(n for n in NAMES if any(e.startswith(f"{LABELS[n]}:") for e in errors)),
        refused=bool(form),
        reset_question=(
            f"Reset the {label} write-back rule to its defaults? From the next pass: "
            f"{meaning('score_points', mat.DEFAULT_RULE)} {meaning('max_age_days', mat.DEFAULT_RULE)}"
        ),
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def write_rule_panel(inst: m.Installation, form: Mapping[str, Any] | None = None) -> Panel | None:
        if current_user() is None or inst is None or inst.vendor not in CRMS:
            return None
        return panel(inst, form if form and form.get("vendor") == inst.vendor else None)

    return {"write_rule_panel": write_rule_panel}


def _saved_problem(problem: str, rule: mat.WriteRule) -> str:
    """A rule_from problem of the saved rule (set outside this page) in words: what is used instead."""
    match = _PROBLEM_FIELD.match(problem)
    if match is None:  # not an object of thresholds at all
        return "The saved rule is not a set of thresholds, so the defaults are used."
    name = match.group(1)
    if name not in LABELS:
        return f"“{name[:TYPED_MAX]}” is not a threshold of the rule; it is ignored."
    reason = problem.split(": ", 1)[1].replace("max_age_days", "the refresh age")
    return f"{LABELS[name]}: the saved {reason}, so {_num(getattr(rule, name))} is used instead."


def _human(problem: str, typed: Mapping[str, str], rule: mat.WriteRule) -> str:
    """A problem of a typed rule (materiality.rule_from's words) as what to enter instead (`rule`: the
    rule from the typed values that are valid)."""
    match = _PROBLEM_FIELD.match(problem)
    name = match.group(1) if match else ""
    if name not in LABELS:
        return problem.removeprefix(f"{mat.SETTINGS_KEY}.")
    label, default = LABELS[name], _num(getattr(mat.DEFAULT_RULE, name))
    if name == "refresh_spread_days" and "less than" in problem:
        return (
            f"{label}: “{typed.get(name) or default}” must be fewer days than the refresh age "
            f"({_num(rule.max_age_days)}): "
            f"enter a smaller spread (0 or more), or a longer refresh age."
        )
    return (
        f"{label}: “{typed.get(name, '')}” is not allowed: enter {allowed(name)} "
        f"(or leave it blank for the default, {default})."
    )


def parse(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, float], list[str]]:
    """The typed values (stripped), the rule's values to save (blank ones left out: their defaults), and
    what is wrong with them (empty: valid, by materiality.rule_from)."""
    typed: dict[str, str] = {}
    chosen: dict[str, float] = {}
    errors: list[tuple[str, str]] = []  # (field, what to enter), said in the form's order below
    for name in NAMES:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        typed[name] = text[:TYPED_MAX]
        if not text:
            continue
        candidate = text.replace(",", ".") if _DECIMAL_COMMA.match(text) else text
        try:
            value = float(candidate) if len(candidate) <= TYPED_MAX else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) and _NUMBER.match(candidate):
            # a number, only far too long or large to use (or too far below zero) ('1e309', a pasted row of digits): say what fits
            shown = typed[name] + ("…" if len(text) > TYPED_MAX else "")
            errors.append(
                (
                    name,
                    f"{LABELS[name]}: “{shown}” is far out of range: enter {allowed(name)} "
                    f"(or leave it blank for the default, {_num(getattr(mat.DEFAULT_RULE, name))}).",
                )
            )
            continue
        if not math.isfinite(value):
            errors.append(
                (
                    name,
                    f"{LABELS[name]}: “{typed[name]}” is not a number: enter a number such as {EXAMPLES[name]} "
                    f"(or leave it blank for the default, {_num(getattr(mat.DEFAULT_RULE, name))}).",
                )
            )
            continue
        chosen[name] = value
    rule, problems = mat.rule_from({mat.SETTINGS_KEY: chosen})  # the numbers' own problems, all at once
    for p in problems:
        match = _PROBLEM_FIELD.match(p)
        errors.append((match.group(1) if match else "", _human(p, typed, rule)))
    # in the order of the form's boxes (a value that is not a number was said before every other problem)
    errors.sort(key=lambda e: NAMES.index(e[0]) if e[0] in NAMES else len(NAMES))
    return typed, chosen, [message for _, message in errors]


def _installation(vendor: str) -> m.Installation:
    if vendor not in CRMS:
        abort(404, description="Only Salesforce and HubSpot have a CRM write-back rule.")
    inst = readmodels.installation(db(), tenant_id(), vendor)
    if inst is None:
        # a page or bookmark from before a Disconnect (another tab): Integrations says so and offers Connect
        label = installs.SPECS[vendor].label
        flash(f"{label} is not connected, so it has no write-back rule: connect it first.", "info")
        abort(redirect(url_for("admin.integrations"), code=303))
    return inst


def _changes(old: mat.WriteRule, new: mat.WriteRule, old_set: set[str], new_set: set[str]) -> list[str]:
    out = []
    for name in NAMES:
        before, after = getattr(old, name), getattr(new, name)
        if before == after and (name in old_set) == (name in new_set):
            continue
        was = f"{_num(before)}{'' if name in old_set else ' (default)'}"
        now = f"{_num(after)}{'' if name in new_set else ' (default)'}"
        out.append(f"{LABELS[name].lower()} {was} → {now}")
    return out


@bp.post("/integrations/<vendor>/write-rule")
@admin_required
def write_rule_save(vendor: str) -> Any:
    inst = _installation(vendor)
    label = installs.SPECS[vendor].label
    reset = request.form.get("action") == "reset"
    if reset:
        typed: dict[str, str] = {}
        chosen: dict[str, float] = {}
    else:
        typed, chosen, errors = parse(request.form)
        if errors:
            form = {"vendor": vendor, "typed": typed, "errors": errors}
            return integrations_page(400, write_rule_form=form)
    settings = dict(inst.settings) if isinstance(inst.settings, Mapping) else {}
    old_stored = settings.get(mat.SETTINGS_KEY)
    old_rule, old_problems = mat.rule_from(settings)
    old_bad = {match.group(1) for p in old_problems if (match := _PROBLEM_FIELD.match(p))}
    old_set = {n for n in _stored(settings) if n in LABELS} - old_bad
    if chosen:
        settings[mat.SETTINGS_KEY] = chosen
    else:
        settings.pop(mat.SETTINGS_KEY, None)
    new_rule, _ = mat.rule_from(settings)
    anchor = f"write-rule-{vendor}"
    if settings.get(mat.SETTINGS_KEY) == old_stored:
        what = "already uses the defaults" if reset or not chosen else "already has these values"
        flash(f"Nothing changed: the {label} write-back rule {what}.", "info")
        return redirect(url_for("admin.integrations", _anchor=anchor), code=303)
    changes = _changes(old_rule, new_rule, old_set, set(chosen))
    inst.settings = settings  # a new dict: the JSON column sees the change
    audit(
        db(),
        tenant_id(),
        actor(),
        "integration.write_rule_reset" if not chosen else "integration.write_rule_changed",
        vendor,
        installation=f"{label} {inst.vendor_account or ''}".strip(),
        installation_id=inst.id,
        changes=changes or ["saved values the write-back ignored are removed"],
        old=asdict(old_rule),
        new=asdict(new_rule),
    )
    db().commit()
    summary = (
        "; ".join(changes) if changes else "the saved values it ignored are removed, the values in use stay"
    )
    if not chosen:
        flash(
            f"The {label} write-back rule is back to its defaults: {summary}. The next pass uses it.",
            "success",
        )
    else:
        flash(f"The {label} write-back rule is saved: {summary}. The next pass uses it.", "success")
    return redirect(url_for("admin.integrations", _anchor=anchor), code=303)


@bp.get("/integrations/<vendor>/write-rule")
@admin_required
def write_rule_link(vendor: str) -> Any:
    """The form's address opened as a page (a bookmark, a reload of the address bar): its section."""
    _installation(vendor)
    return redirect(url_for("admin.integrations", _anchor=f"write-rule-{vendor}"), code=303)
