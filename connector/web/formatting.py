"""Template filters: money, numbers, dates, band labels and server-drawn SVG sparklines (no JS needed)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from connector.installs.users import ROLE_LABELS
from connector.readmodels.portfolio import first_click
from scoring import band_names

# Bands in words come from scoring/band_names.py, the one vocabulary CRM tasks and picklists use too.
BAND_LABELS = band_names.LABELS
BAND_ICONS = {"green": "●", "yellow": "▲", "red": "■"}


def money(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    amount = float(value)
    if abs(amount) >= 1_000_000:
        return f"${amount / 1_000_000:,.1f}M"
    if abs(amount) >= 10_000:
        return f"${amount / 1_000:,.0f}k"
    return f"${amount:,.0f}"


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    """A lift like 3.2 times (shown with a multiplication sign); words when the reference band had no churn."""
    if value is None or value != value:  # None or NaN
        return "—"
    if value == float("inf"):
        return "no churn in the healthiest band to compare with"
    return f"{value:,.1f}\u00d7"  # multiplication sign


def score_value(value: float | None) -> int | None:
    """The one rounding rule for health scores everywhere a person reads one: whole points, halves up."""
    if value is None or value != value:
        return None
    return math.floor(value + 0.5)


def score(value: float | None) -> str:
    rounded = score_value(value)
    return "—" if rounded is None else str(rounded)


def percent(value: float | None) -> str:
    """A 0..1 share as a whole percentage."""
    if value is None or value != value:
        return "—"
    return f"{math.floor(value * 100 + 0.5)} %"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def driver_text(driver: dict[str, Any]) -> str:
    """A driver as a rep says it: counts and the scale's own units, not model-internal ranges.

    Uses the ticket counts the read model attaches ("counts") when it has them; otherwise the metric's
    value in words. Unknown metrics keep the model's own text.
    """
    metric = str(driver.get("metric") or "")
    value = driver.get("value")
    counts = driver.get("counts") or {}
    total, negative = counts.get("tickets_30d"), counts.get("negative_30d")
    if metric in {"sentiment_30d", "negative_ticket_share_30d"} and total:
        return f"{negative} of {_plural(int(total), 'ticket')} in the last 30 days read negative"
    if isinstance(value, int | float):
        if metric == "sentiment_30d":
            mood = (
                "mostly negative" if value <= -0.5 else "negative" if value < -0.15
                else "positive" if value > 0.15 else "neutral"
            )  # fmt: skip
            return f"support tickets of the last 30 days read {mood}"
        if metric == "negative_ticket_share_30d":
            return f"{math.floor(value * 100 + 0.5)} % of tickets in the last 30 days read negative"
        if metric == "negative_tickets_14d":
            return f"{_plural(int(value), 'negative ticket')} in the last 14 days"
    return _counted(str(driver.get("text") or metric.replace("_", " ")))


def _counted(text: str) -> str:
    """A model's driver text filled with a count reads as said: 'last contact today', not '0 days ago';
    '1 day', not '1 days'."""
    text = re.sub(r"\b0 days ago\b", "today", text)
    return re.sub(r"\b1 (day|ticket|point|response|seat)s\b", r"1 \1", text)


def signed(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:+.{digits}f}"


def day(value: date | datetime | str | None) -> str:
    """'08 Dec 2026'; also of an ISO date or moment as stored in JSON ('2026-12-08T00:00:00+00:00')."""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text or "—"
    if not isinstance(value, date):  # None, or a template's undefined value
        return "—"
    return value.strftime("%d %b %Y")


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.strftime("%d %b %Y %H:%M UTC")


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")


def audit_value(value: Any) -> str:
    """An audit entry's detail value as the log page shows it: a moment the entry stored as ISO text (a
    rotation's 'old secret until', its 'ended at') reads like the When column ('07 Dec 2026 16:35 UTC'), not
    '2026-12-07T16:35:29.768877+00:00'; anything else as it is."""
    text = str(value)
    if not _ISO_MOMENT.match(text):
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return when(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC))


def key_expiry(value: datetime | None) -> str:
    """An API key's expires_at as the keys page says it: 'never', 'expires in 12 days', 'expired'."""
    if value is None:
        return "never"
    left = value - datetime.now(UTC)
    if left.total_seconds() <= 0:
        return "expired"
    days = math.ceil(left.total_seconds() / 86400)
    return f"expires in {days} day{'s' if days != 1 else ''}"


KEY_WARNING_DAYS = 14


def key_expiring_soon(value: datetime | None) -> bool:
    """A Jinja test: the key expires within KEY_WARNING_DAYS (and has not yet), so the keys page warns."""
    if value is None:
        return False
    left = (value - datetime.now(UTC)).total_seconds()
    return 0 < left <= KEY_WARNING_DAYS * 86400


FORMER_UNSCORED = "Former customer — not scored"


def band_text(band: str | None, former: bool = False) -> str:
    """The band in words, as band_badge says it (the CSV export, the CRM card): an account without a band
    is a former customer whom scoring skips (`former`), or not scored yet."""
    if not band:
        return FORMER_UNSCORED if former else "Not scored"
    return band_names.label(band)


def band_badge(band: str | None, former: bool = False) -> Markup:
    """Colour AND a text label AND a shape, so the band reads without colour vision. An account without a
    band is either waiting for its first score or a former customer, whom scoring skips (`former`)."""
    if not band:
        if former:
            return Markup(f'<span class="band band-none band-former">{FORMER_UNSCORED}</span>')  # noqa: S704 - a constant
        return Markup('<span class="band band-none">Not scored</span>')
    label = band_names.label(band)
    icon = BAND_ICONS.get(band, "◆")
    return Markup(  # noqa: S704 - every interpolated value is escaped or a number
        f'<span class="band band-{escape(band)}"><span aria-hidden="true">{icon}</span> {escape(label)}</span>'
    )


def sparkline(values: list[float] | None, width: int = 96, height: int = 24) -> Markup:
    """A tiny polyline of scores 0..100; flat text when there is not enough history."""
    if not values or len(values) < 2:
        return Markup('<span class="muted small">no history</span>')
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - (v / 100) * height:.1f}" for i, v in enumerate(values))
    trend = "up" if values[-1] > values[0] + 1 else "down" if values[-1] < values[0] - 1 else "flat"
    return Markup(  # noqa: S704 - every interpolated value is escaped or a number
        f'<svg class="spark spark-{trend}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="score trend {trend}: {values[0]:.0f} to {values[-1]:.0f}">'
        f'<polyline fill="none" stroke-width="1.5" points="{points}"/></svg>'
    )


ACRONYMS = {"smb": "SMB", "nps": "NPS", "csat": "CSAT", "arr": "ARR"}
VENDOR_LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "zendesk": "Zendesk"}


def human(value: str | None) -> str:
    """mid_market → Mid market, smb → SMB (vendor picklist values as people read them)."""
    if not value:
        return "—"
    if value.lower() in ACRONYMS:
        return ACRONYMS[value.lower()]
    text = value.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_METRIC_WORDS = {"avg": "average", "pct": "%", "median": "median", **ACRONYMS}
_WINDOW = re.compile(r"^(\d+)d$")


def metric_name(value: str | None) -> str:
    """csat_avg_90d → CSAT average (90 days), arr_change_pct → ARR change %: a model metric as people read it."""
    if not value:
        return "—"
    words, window = [], ""
    for token in value.split("_"):
        days = _WINDOW.match(token)
        if days:
            window = f" ({days.group(1)} days)"
        else:
            words.append(_METRIC_WORDS.get(token.lower(), token))
    text = " ".join(words) + window
    return text[:1].upper() + text[1:]


def vendor(value: str | None) -> str:
    return VENDOR_LABELS.get(value or "", (value or "").title())


def group_name(value: str | None) -> str:
    """Zendesk sends group ids when the name is unknown; say so instead of showing a bare number."""
    if not value:
        return "—"
    return f"Group #{value}" if value.isdigit() else value


def sentiment_label(label: str | None) -> Markup:
    if not label:
        return Markup('<span class="chip">not scored</span>')
    return Markup(f'<span class="chip chip-{escape(label)}">{escape(label)}</span>')  # noqa: S704 - every interpolated value is escaped or a number


# Stable error codes (webhooks/errors.py) in words an admin can act on.
PROBLEM_TEXT = {
    "bad_url": "The address is not a valid URL.",
    "bad_scheme": "The address must start with https://.",
    "https_required": "The address must use https://.",
    "credentials_in_url": "Remove the user name and password from the address.",
    "missing_host": "The address has no host name.",
    "bad_port": "Use the standard port (443) or a port above 1024.",
    "metadata_host": "That host is a cloud metadata service; use your own endpoint.",
    "unresolvable": "The host name does not resolve; check for typos.",
    "blocked_address": "The host resolves to a private or internal address, which is not allowed.",
}
TRUTH_TEXT = {
    "sandbox ground truth": "renewal outcomes recorded by the demo data",
    "closed renewal deals": "renewal deals closed won or lost in your CRM",
}


# The detail runs to a sentence end ('. ', ';' or the end): host names and addresses keep their dots.
# A code may come alone ('credentials_in_url': the check has no detail to add).
_CODE = re.compile(r"\b(" + "|".join(PROBLEM_TEXT) + r")(?::\s*([^;]*?))?(?=\.\s|\.$|;|$)")


def problem_text(value: str | None) -> str:
    """'bad_scheme: (none)' → 'The address must start with https://.', also inside a longer message."""
    if not value:
        return ""

    def words(match: re.Match[str]) -> str:
        text, detail = PROBLEM_TEXT[match.group(1)], (match.group(2) or "").strip()
        if value[: match.start()].endswith(
            ": "
        ):  # inside a sentence ('the URL cannot receive webhooks: the …')
            text = text[0].lower() + text[1:]
        return text.rstrip(".") if not detail or detail == "(none)" else f"{text.rstrip('.')} ({detail})"

    out = _CODE.sub(words, value)
    return out if out == value or out.endswith(".") else out + "."


# A failed webhook attempt stores the exception's class name (webhooks.delivery: `detail`); the delivery log
# showed 'ConnectionError'. What it means for the receiver, and what to check.
DELIVERY_ERRORS = {
    "ConnectionError": "Could not connect: nothing answered at this address. Check the URL and that the "
    "receiver is running.",
    "ConnectTimeout": "Could not connect in time: the host did not answer. Check the URL, and that a firewall "
    "lets our requests in.",
    "ReadTimeout": "The receiver took too long to answer. Answer 2xx at once and do the work afterwards.",
    "Timeout": "The receiver took too long to answer. Answer 2xx at once and do the work afterwards.",
    "SSLError": "The secure connection failed: the receiver's certificate is not valid for this address, or "
    "not trusted.",
    "ChunkedEncodingError": "The receiver's answer was cut off before its end.",
    "ContentDecodingError": "The receiver's answer could not be decoded.",
}


def delivery_answer(status_code: int | None, error: str | None) -> str:
    """A delivery's last answer in words: 'HTTP 500', 'HTTP 301 to …', or what a network failure means and
    what to check; never a bare Python class name, never the status twice ('500 HTTP 500')."""
    error = (error or "").strip()
    if error in DELIVERY_ERRORS:
        return DELIVERY_ERRORS[error]
    if error.startswith("HTTP "):
        return problem_text(error)
    if error and error.isidentifier() and error[:1].isupper():  # another exception class: say it failed
        return f"The request failed before an answer came back ({error})."
    said = f"HTTP {status_code}" if status_code else ""
    return " · ".join(part for part in (said, problem_text(error)) if part)


# A webhook delivery's stored status (connector/pipeline/delivery.py) as the delivery log reads it; the
# API keeps the stored value. `pending` reads "queued" before the first attempt, "retrying" after one.
DELIVERY_STATES: dict[str, tuple[str, str]] = {
    "delivered": ("delivered", "The receiver answered 2xx."),
    "claimed": ("sending", "A worker is sending it now."),
    "failed": ("not sent", "It was not sent: see the last answer; Replay sends it again."),
    "dead": ("gave up", "Every retry failed, so no more are made; Replay sends it again."),
}


def delivery_state(status: str, attempts: int = 0) -> tuple[str, str]:
    """(words, explanation) for a delivery's status: 'dead' reads "gave up", 'claimed' "sending"; an
    unknown status reads as stored."""
    if status == "pending":
        if attempts:
            return "retrying", "An attempt failed; it is sent again later (backing off)."
        return "queued", "Waiting for its first attempt."
    return DELIVERY_STATES.get(status, (status, ""))


# An installation's stored status as the Integrations page's chip reads it.
INSTALLATION_STATES = {"reconnect": "needs reconnecting"}


def installation_state(status: str) -> str:
    """'reconnect' → 'needs reconnecting'; connected, disconnected and error read as stored."""
    return INSTALLATION_STATES.get(status, status)


def sentence(value: str | None) -> str:
    """'the two passwords differ' → 'The two passwords differ.': a refusal of the domain layer (worded for the
    CLI's 'error: …' too) as the UI's messages read."""
    text = (value or "").strip()
    if not text:
        return ""
    first = text.split(None, 1)[0]
    if first.isalpha() and first.islower():  # a plain word; never an e-mail, a version or a key's name
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def truth_text(value: str | None) -> str:
    return TRUTH_TEXT.get(value or "", value or "")


def ticket_title(t: Any) -> str:
    """Subject plus the number people quote (Salesforce case number); never a bare 18-character id."""
    subject = (getattr(t, "subject", "") or "").strip()
    number = getattr(t, "number", None)
    vendor_ = getattr(t, "vendor", "")
    ref = f"Case {number}" if number and vendor_ == "salesforce" else (f"#{number}" if number else "")
    if not ref and vendor_ in {"zendesk", "hubspot"}:
        ref = f"#{getattr(t, 'external_id', '')}"
    if subject and ref:
        return f"{subject} · {ref}"
    return subject or ref or "(no subject)"


def survey_scale(kind: str | None, value: float | None) -> str:
    """CSAT on 1 to 5, NPS on 0 to 10: each on its own scale."""
    if value is None:
        return "—"
    if (kind or "").lower() == "csat":
        return f"{value:.0f} / 5" if float(value).is_integer() else f"{value:.1f} / 5"
    return f"{value:.0f} / 10" if float(value).is_integer() else f"{value:.1f} / 10"


def audit_action(value: str | None) -> str:
    """user.sign_in → 'User: sign in', api_key.created → 'API key: created' (the audit log's stored action
    keys as people read them; the key itself stays in the filter's URL)."""
    if not value:
        return "—"
    kind, _, verb = value.partition(".")
    subject = {"api_key": "API key"}.get(kind, human(kind))
    words = " ".join(
        _AUDIT_WORDS.get(w, w) for w in verb.split("_")
    )  # inbound_url_rotated: 'inbound URL rotated'
    return f"{subject}: {words}" if verb else subject


_AUDIT_WORDS = {"url": "URL", "api": "API", "crm": "CRM", "id": "ID"}


# The model's `unit` text -> how its values read, first match wins (so "ratio: active users" before
# "ratio", "CSAT points (1..5 scale)" before "1..5").
_UNIT_FORMATS: tuple[tuple[Callable[[str], bool], Callable[[float], str]], ...] = (
    (lambda u: u.startswith(("share", "0..1 progress")), lambda v: f"{v * 100:,.0f} %"),
    (lambda u: u.startswith("ratio: active users"), lambda v: f"{v * 100:,.0f} % of seats"),
    (lambda u: u.startswith("ratio"), lambda v: f"{v:,.2f}\u00d7"),
    (lambda u: u.startswith("hours"), lambda v: f"{v:,.1f} h"),
    (lambda u: u.startswith("days"), lambda v: f"{v:,.0f} days"),
    (lambda u: u.startswith("percent"), lambda v: f"{v:+,.1f} %"),
    (lambda u: "(count)" in u, lambda v: f"{v:,.0f}"),
    (lambda u: u.startswith("tickets per"), lambda v: f"{v:,.1f} a month"),
    (lambda u: "csat points" in u, lambda v: f"{v:+,.2f} pts"),
    (lambda u: "1..5" in u, lambda v: f"{v:,.1f}/5"),
    (lambda u: u.startswith("0..10"), lambda v: f"{v:,.1f}/10"),
    (lambda u: u.startswith("nps -100..100"), lambda v: f"{v:+,.0f}"),
    (lambda u: u.startswith("-1..1"), lambda v: f"{v:+,.2f}"),
)


def metric_value(value: float | None, unit: str = "") -> str:
    """A metric's value in its unit, read from the model's `unit` text: shares (0..1) as percentages,
    hours and days with their unit, counts whole, CSAT and NPS on their scales, ratios with a times sign. The
    week-on-week table printed every metric as a bare 2-decimal number (0.15 for 15 % of seats, 262.58 for
    hours, 191.00 for days)."""
    if value is None:
        return "—"
    text = unit.lower()
    fmt = next((fmt for matches, fmt in _UNIT_FORMATS if matches(text)), lambda v: f"{v:,.2f}")
    return fmt(value)


def wow_trend(change: Any) -> str:
    """The week-on-week trend a row shows: "no change" when a better/worse change (past the model's flat
    threshold) rounds away in the values the row prints ("2.5 → 2.5 a month ... better" read as nonsense).
    The API keeps the unrounded verdict."""
    verdict = str(change.verdict)
    if verdict not in ("better", "worse"):
        return verdict
    if change.kind == "metric":
        shown = metric_value(change.week_ago, change.unit), metric_value(change.now, change.unit)
    else:
        shown = number(change.week_ago, 1), number(change.now, 1)
    return "no change" if shown[0] == shown[1] else verdict


def init_app(app: Flask) -> None:
    filters: dict[str, Any] = {
        "money": money,
        "number": number,
        "signed": signed,
        "day": day,
        "when": when,
        "band": band_badge,
        "sparkline": sparkline,
        "sentiment": sentiment_label,
        "human": human,
        "metric": metric_name,
        "ratio": ratio,
        "vendor": vendor,
        "group": group_name,
        "score": score,
        "percent": percent,
        "driver": driver_text,
        "problem": problem_text,
        "sentence": sentence,
        "truth": truth_text,
        "title": ticket_title,
        "survey": survey_scale,
        "audit_action": audit_action,
        "audit_value": audit_value,
        "metric_value": metric_value,
        "wow_trend": wow_trend,
        "key_expiry": key_expiry,
    }
    app.jinja_env.globals["delivery_answer"] = delivery_answer
    app.jinja_env.globals["delivery_state"] = delivery_state
    filters["installation_state"] = installation_state
    filters["band_label"] = band_names.label
    app.jinja_env.filters.update(filters)
    app.jinja_env.tests["expiring_soon"] = key_expiring_soon
    app.jinja_env.globals["KEY_WARNING_DAYS"] = KEY_WARNING_DAYS
    app.jinja_env.globals["BAND_LABELS"] = BAND_LABELS
    app.jinja_env.globals["sort_first"] = first_click
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
