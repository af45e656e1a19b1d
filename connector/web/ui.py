"""The product pages: portfolio (+ CSV), account (support workbench: ui_support.py)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Any

from flask import abort, render_template, request

from connector import readmodels
from connector.readmodels.customers import CUSTOMER_FILTERS
from connector.readmodels.portfolio import owner_match
from connector.web import blueprints, csvout
from connector.web.access import Viewer, current_user, db, login_required, tenant_id
from connector.web.formatting import band_text, driver_text, score_value
from scoring.band_names import label as band_label

bp = blueprints.ui

PER_PAGE = 50
VIEWS = ("mine", "all")


@dataclass(frozen=True, slots=True)
class PortfolioParams:
    band: str | None
    segment: str | None
    owner: str | None
    view: str
    customers: str
    q: str
    sort: str
    page: int

    def args(self) -> dict[str, Any]:
        """The filters as query arguments (what links keep when they change one thing)."""
        out = {
            "band": self.band or "",
            "segment": self.segment or "",
            "owner": self.owner or "",
            "view": self.view,
            "customers": self.customers,
            "q": self.q,
        }
        return {k: v for k, v in out.items() if v}


def default_view(viewer: Viewer | None) -> str:
    """Reps start on their own book; everyone else on the whole portfolio."""
    return "mine" if viewer is not None and viewer.role == "rep" else "all"


def _params(band_names: list[str]) -> tuple[PortfolioParams, list[str]]:
    """Read and check the portfolio's query arguments; each problem says what to do instead."""
    problems: list[str] = []
    args = request.args
    band = args.get("band") or None
    if band is not None and band not in [*band_names, "unscored"]:
        labels = ", ".join(f"{band_label(b)} (band={b})" for b in band_names)
        problems.append(f"There is no band {band!r}. Pick one of {labels} or unscored.")
        band = None
    sort = args.get("sort", "score")
    if sort not in readmodels.SORTS:
        problems.append(f"Cannot sort by {sort!r}; click a column header to sort by it.")
        sort = "score"
    view = args.get("view") or default_view(current_user())
    if view not in VIEWS:
        problems.append(f"Unknown view {view!r}: use 'mine' (my accounts) or 'all'.")
        view = "all"
    customers = args.get("customers") or "current"
    if customers not in CUSTOMER_FILTERS:
        problems.append(f"Unknown customer filter {customers!r}: use current, former or all.")
        customers = "current"
    raw_page = args.get("page", "1")
    try:
        page = int(raw_page)
    except ValueError:
        page = 1
        problems.append(f"Page {raw_page!r} is not a number; pages start at 1.")
    if page < 1:
        problems.append(f"Page {page} does not exist; pages start at 1.")
        page = 1
    params = PortfolioParams(
        band=band,
        segment=args.get("segment") or None,
        owner=(args.get("owner") or "").strip()[:200] or None,
        view=view,
        customers=customers,
        q=(args.get("q") or "").strip()[:100],
        sort=sort,
        page=page,
    )
    return params, problems


def _query(p: PortfolioParams, per_page: int | None) -> readmodels.Portfolio:
    viewer = current_user()
    mine = owner_match([viewer.email], [viewer.name]) if viewer is not None and p.view == "mine" else None
    return readmodels.portfolio(
        db(),
        tenant_id(),
        band=p.band,
        segment=p.segment,
        owner=p.owner,
        mine=mine,
        customers=p.customers,
        q=p.q or None,
        sort=p.sort,
        page=p.page,
        per_page=per_page,
    )


def band_note(bands: list[dict[str, Any]]) -> str | None:
    """Why a row's band can differ from the cards' ranges ('At risk · score below 50' next to an Enterprise
    account at 51): segments with thresholds of their own, and the hysteresis that keeps an account in its
    band until it clears an edge. None when neither applies (or the model cannot be read)."""
    from importlib.resources import files

    from connector.readmodels.common import parsed_model

    row = readmodels.published_model(db(), tenant_id())
    try:
        text = (
            row.yaml
            if row is not None
            else files("scoring").joinpath("default_model.yaml").read_text("utf-8")
        )
        model = parsed_model(text)
    except Exception:  # noqa: BLE001 - a stored model that no longer parses: the cards alone, as before
        return None
    shown = [(b["name"], float(b["min"])) for b in bands]
    own = []
    for seg in model.segments[:-1]:
        if [(b.name, float(b.min)) for b in seg.bands] != shown:
            cuts = ", ".join(f"{band_label(b.name)} from {b.min:g}" for b in seg.bands if b.min > 0)
            own.append(f"{seg.name.replace('_', ' ').capitalize()}: {cuts}")
    parts = []
    if own:
        parts.append(f"These ranges are for most accounts; {'; '.join(own)}.")
    h = model.hysteresis
    if h.margin > 0 or h.min_dwell_days > 0:
        parts.append(
            f"An account leaves its band only {h.margin:g} points past an edge and after {h.min_dwell_days:g} "
            "days in it, so a score near an edge can still show the band it had."
        )
    return " ".join(parts) or None


@bp.get("/")
@login_required
def portfolio() -> Any:
    bands = readmodels.band_thresholds(db(), tenant_id())
    params, problems = _params([b["name"] for b in bands])
    data = _query(params, PER_PAGE)
    status = 400 if problems else 200
    if data.total and params.page > data.pages:
        problems.append(
            f"Page {params.page} does not exist: this list has {data.pages} page{'s' if data.pages > 1 else ''}."
        )
        status = 404
    sparks = readmodels.sparklines(db(), tenant_id(), [r.id for r in data.rows])
    installs = readmodels.installations(db(), tenant_id())
    return render_template(
        "ui/portfolio.html",
        data=data,
        sparks=sparks,
        p=params,
        args=params.args(),
        problems=problems,
        filtered=bool(params.band or params.segment or params.owner or params.q or params.view == "mine"),
        installs=installs,
        bands=bands,
        band_note=band_note(bands),
        trend_days=readmodels.TREND_DAYS,
    ), status


@bp.get("/portfolio.csv")
@login_required
def portfolio_csv() -> Any:
    bands = readmodels.band_thresholds(db(), tenant_id())
    params, problems = _params([b["name"] for b in bands])
    if problems:
        abort(400, description=" ".join(problems))
    data = _query(params, None)
    header = [
        "account", "crm", "crm_id", "band", "score", f"trend_{readmodels.TREND_DAYS}d", "confidence_pct",
        "top_drivers", "segment", "owner", "owner_email", "arr", "renewal_date", "former_customer",
    ]  # fmt: skip
    rows = (
        [
            r.name,
            r.vendor,
            r.external_id,
            band_text(r.band, r.former),
            score_value(r.score),
            "" if r.trend_30d is None else f"{r.trend_30d:+.1f}",
            "" if r.confidence is None else round(r.confidence * 100),
            "; ".join(driver_text(d) for d in r.drivers[:3]),
            r.segment or "",
            r.owner or "",
            r.owner_email or "",
            "" if r.arr is None else f"{r.arr:.2f}",
            r.renewal_date.isoformat() if r.renewal_date else "",
            "yes" if r.former else "no",
        ]
        for r in data.rows
    )
    return csvout.download("accounts.csv", header, rows)


@bp.get("/accounts/<int:account_id>")
@login_required
def account(account_id: int) -> Any:
    detail = readmodels.account_detail(db(), tenant_id(), account_id)
    if detail is None:
        abort(404, description="No such account in your workspace.")
    chart = {
        # Several passes a day are normal: label with the time when dates repeat.
        "labels": _labels([p.as_of for p in detail.history]),
        # where each point sits on the chart's time line (ms since the epoch, UTC)
        "times": [calendar.timegm(p.as_of.utctimetuple()) * 1000 for p in detail.history],
        "scores": [score_value(p.score) for p in detail.history],
        # each band's words from the one vocabulary (scoring/band_names.py), for the threshold lines' legend
        "bands": [{**b, "label": band_label(str(b["name"]))} for b in detail.bands],
        "surveys": [
            {"kind": s.kind, "score": s.score, "date": s.responded_at.date().isoformat()}
            for s in detail.surveys
        ],
    }
    from connector.pipeline.score import current_model
    from connector.readmodels.week_on_week import week_on_week

    model = current_model(db(), tenant_id())
    wow = week_on_week(db(), tenant_id(), account_id, model)
    # Dimensions by the model's labels ("Commercial"), as the model page and the week-on-week table show them.
    dim_labels = {d.name: d.label for d in model.dimensions}
    return render_template("ui/account.html", a=detail, chart=chart, wow=wow, dim_labels=dim_labels)


def _labels(stamps: list[Any]) -> list[str]:
    days = [s.date().isoformat() for s in stamps]
    if len(set(days)) == len(days):
        return days
    return [s.strftime("%Y-%m-%d %H:%M") for s in stamps]
