"""The support lead's workbench (routes on ui.bp): filters, search, paging, CSV, sentiment per group."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, render_template, request

from connector.clock import tenant_now
from connector.readmodels.workbench import LABELS, NO_GROUP, TicketFilters, workbench
from connector.web import csvout
from connector.web.access import db, login_required, tenant_id
from connector.web.blueprints import ui as bp
from connector.web.formatting import BAND_LABELS, ticket_title
from scoring.band_names import label as band_label

PER_PAGE = 50
DEFAULT_DAYS = 30
MAX_DAYS = 730
# Dates a page can ask for; datetime arithmetic on date.min/date.max (0001-01-01, 9999-12-31) overflows.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def _date(name: str, default: date, problems: list[str]) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{raw!r} is not a date; use YYYY-MM-DD (for example {default.isoformat()}).")
        return default
    if not FIRST_DAY <= value <= LAST_DAY:
        problems.append(f"{raw} is out of range; pick a date between {FIRST_DAY} and {LAST_DAY}.")
        return default
    return value


def _filters() -> tuple[TicketFilters, int, list[str], date]:
    """The workbench's query arguments, checked; each problem says what to do instead."""
    problems: list[str] = []
    today = tenant_now(db(), tenant_id()).date()
    end = _date("to", today, problems)
    start = _date("from", end - timedelta(days=DEFAULT_DAYS - 1), problems)
    if start > end:
        problems.append("The start date is after the end date; swap them.")
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        problems.append(f"Pick at most {MAX_DAYS} days at a time.")
        start = end - timedelta(days=MAX_DAYS)
    sentiment = request.args.get("sentiment") or None
    if sentiment not in (None, *LABELS, "unscored"):
        problems.append(f"Unknown sentiment {sentiment!r}: use negative, neutral, positive or unscored.")
        sentiment = None
    band = request.args.get("band") or None
    if band not in (None, *BAND_LABELS, "unscored"):
        problems.append(f"There is no band {band!r}: use red, yellow, green or unscored.")
        band = None
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        problems.append("The page must be a number; pages start at 1.")
        page = 1
    if page < 1:
        problems.append("Pages start at 1.")
        page = 1
    f = TicketFilters(
        start=start,
        end=end,
        group=request.args.get("group") or None,
        priority=request.args.get("priority") or None,
        status=request.args.get("status") or None,
        band=band,
        sentiment=sentiment,
        vendor=request.args.get("vendor") or None,
        q=(request.args.get("q") or "").strip()[:100] or None,
    )
    return f, page, problems, today


def _args(f: TicketFilters) -> dict[str, str]:
    values = {
        "from": f.start.isoformat(),
        "to": f.end.isoformat(),
        "group": f.group or "",
        "priority": f.priority or "",
        "status": f.status or "",
        "band": f.band or "",
        "sentiment": f.sentiment or "",
        "vendor": f.vendor or "",
        "q": f.q or "",
    }
    return {k: v for k, v in values.items() if v}


@bp.get("/support")
@login_required
def support() -> Any:
    f, page, problems, today = _filters()
    data = workbench(db(), tenant_id(), f, page=page, per_page=PER_PAGE)
    status = 400 if problems else 200
    if data.total and page > data.pages:
        problems.append(f"Page {page} does not exist: these tickets fill {data.pages} page(s).")
        status = 404
    chart = {"labels": data.weeks, "groups": data.group_series}
    return render_template(
        "ui/support.html",
        data=data,
        f=f,
        args=_args(f),
        problems=problems,
        chart=chart,
        today=today,
        no_group=NO_GROUP,
    ), status


@bp.get("/support.csv")
@login_required
def support_csv() -> Any:
    f, _page, problems, _today = _filters()
    if problems:
        abort(400, description=" ".join(problems))
    data = workbench(db(), tenant_id(), f, per_page=None)
    header = [
        "ticket", "help_desk", "ticket_id", "number", "account", "account_band", "group", "priority", "status",
        "sentiment", "sentiment_score", "excerpt", "opened", "url",
    ]  # fmt: skip
    rows = (
        [
            ticket_title(t),
            t.vendor,
            t.external_id,
            t.number or "",
            t.account_name or "",
            band_label(b) if (b := data.bands.get(t.crm_account_id or -1)) else "",
            t.group_name or "",
            t.priority,
            t.status,
            t.sentiment_label or "",
            "" if t.sentiment_score is None else f"{t.sentiment_score:.2f}",
            t.sentiment_excerpt or "",
            t.created_at.date().isoformat(),
            t.url or "",
        ]
        for t in data.rows
    )
    return csvout.download(f"tickets-{f.start.isoformat()}-{f.end.isoformat()}.csv", header, rows)
