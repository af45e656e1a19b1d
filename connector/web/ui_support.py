"""The support lead's workbench (routes on ui.bp)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from connector import readmodels
from connector.web.access import db, login_required, tenant_id
from connector.web.blueprints import ui as bp


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
