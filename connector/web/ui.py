"""The product pages: portfolio, account, support sentiment."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from connector import readmodels
from connector.web.access import db, login_required, tenant_id

bp = Blueprint("ui", __name__)

PER_PAGE = 50


def _int(name: str, default: int) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return default


@bp.get("/")
@login_required
def portfolio() -> Any:
    band = request.args.get("band") or None
    segment = request.args.get("segment") or None
    q = (request.args.get("q") or "").strip()[:100] or None
    sort = request.args.get("sort", "score")
    if sort not in readmodels.SORTS:
        sort = "score"
    data = readmodels.portfolio(
        db(), tenant_id(), band=band, segment=segment, q=q, sort=sort, page=_int("page", 1), per_page=PER_PAGE
    )
    sparks = readmodels.sparklines(db(), tenant_id(), [r.id for r in data.rows])
    installs = readmodels.installations(db(), tenant_id())
    return render_template(
        "ui/portfolio.html",
        data=data,
        sparks=sparks,
        band=band,
        segment=segment,
        q=q or "",
        sort=sort,
        installs=installs,
        bands=readmodels.band_thresholds(db(), tenant_id()),
    )


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id: int) -> Any:
    detail = readmodels.account_detail(db(), tenant_id(), account_id)
    if detail is None:
        abort(404, description="No such account in your workspace.")
    chart = {
        # Several passes a day are normal: label with the time when dates repeat.
        "labels": _labels([p.as_of for p in detail.history]),
        "scores": [round(p.score, 1) for p in detail.history],
        "bands": detail.bands,
        "surveys": [
            {"kind": s.kind, "score": s.score, "date": s.responded_at.date().isoformat()}
            for s in detail.surveys
        ],
    }
    return render_template("ui/account.html", a=detail, chart=chart)


def _labels(stamps: list[Any]) -> list[str]:
    days = [s.date().isoformat() for s in stamps]
    if len(set(days)) == len(days):
        return days
    return [s.strftime("%Y-%m-%d %H:%M") for s in stamps]


@bp.get("/support")
@login_required
def support() -> Any:
    data = readmodels.sentiment_overview(db(), tenant_id())
    chart = {
        "labels": [w.week for w in data.weeks],
        "average": [w.average for w in data.weeks],
        "negative": [w.negative for w in data.weeks],
        "neutral": [w.neutral for w in data.weeks],
        "positive": [w.positive for w in data.weeks],
    }
    return render_template("ui/support.html", data=data, chart=chart)
