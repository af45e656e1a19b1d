"""The account page shows seat usage over time from the CRM's field history (metric_changes)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations.records import MetricChangeRecord
from tests.connector.web.seed import NOW, TenantData


def _rows(page: str) -> list[list[str]]:
    card = page[page.index("<h2>Seat usage</h2>") :]
    body = card[: card.index("</table>")]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)][1:]


def _change(ext: str, metric: str, when: Any, value: float, old: float | None = None) -> MetricChangeRecord:
    return MetricChangeRecord(
        vendor="salesforce", external_id=f"017{metric}{when:%m%d}", account_external_id=ext, metric=metric,
        value=value, old_value=old, changed_at=when, updated_at=when,
    )  # fmt: skip


def test_usage_history_newest_first_with_the_seats_in_force(
    acme_viewer: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme = tenants["acme"]
    account_id = next(iter(acme.accounts.values()))
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        acc = session.get(m.Account, account_id)
        acc.metrics = {"active_users": 30, "licensed_seats": 40}
        ext = acc.external_id
        store.upsert_records(
            session,
            acme.id,
            [
                _change(ext, "active_users", NOW - timedelta(days=60), 36, 38),
                _change(ext, "active_users", NOW - timedelta(days=30), 24, 36),
                _change(ext, "active_users", NOW - timedelta(days=1), 30, 24),
                _change(ext, "licensed_seats", NOW - timedelta(days=20), 40, 48),
            ],
        )
    page = acme_viewer.get(f"/accounts/{account_id}").get_data(as_text=True)
    rows = _rows(page)
    assert [r[1:] for r in rows] == [["30", "40", "75%"], ["24", "48", "50%"], ["36", "48", "75%"]]
    assert "from Salesforce's field history" in page


def test_no_history_no_usage_card(acme_viewer: Any, tenants: dict[str, TenantData]) -> None:
    account_id = next(iter(tenants["acme"].accounts.values()))
    page = acme_viewer.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert "Seat usage" not in page


def test_another_workspaces_history_is_not_shown(
    acme_viewer: Any, tenants: dict[str, TenantData], app: Any
) -> None:
    acme_id = next(iter(tenants["acme"].accounts.values()))
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        ext = session.get(m.Account, acme_id).external_id
        # the same vendor id in another workspace (two orgs can hold the same id space in a test)
        store.upsert_records(session, tenants["globex"].id, [_change(ext, "active_users", NOW, 5)])
    page = acme_viewer.get(f"/accounts/{acme_id}").get_data(as_text=True)
    assert "Seat usage" not in page
