"""Portfolio as reps and CS managers use it: sorting both ways, owners, CSV, drivers, former customers."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import pytest

from connector.readmodels.portfolio import COLUMNS
from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import NOW, TenantData


def _names(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'class="strong"[^>]*>([^<]+)</a>', body)


def _set(app: Any, tenant: TenantData, name: str, **values: Any) -> None:
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        acc = session.get(m.Account, tenant.accounts[name])
        for key, value in values.items():
            setattr(acc, key, value)


@pytest.fixture
def owned(app: Any, tenants: dict[str, TenantData]) -> dict[str, TenantData]:
    acme = tenants["acme"]
    _set(app, acme, "Acme Red Corp", owner="Vera Viewer", owner_email="VIEWER@acme.test")
    _set(app, acme, "Acme Green Corp", owner="Ada Admin", owner_email="someone.else@acme.test")
    _set(app, acme, "Acme Yellow Corp", owner="Bob Boss", owner_email=None)
    return tenants


@pytest.mark.parametrize("column", list(COLUMNS))
def test_every_column_sorts_both_ways_with_a_truthful_arrow(
    acme_viewer: Any, owned: Any, column: str
) -> None:
    up = acme_viewer.get(f"/?sort={column}").data.decode()
    down = acme_viewer.get(f"/?sort=-{column}").data.decode()
    assert 'aria-sort="ascending"' in up
    assert "▲" in up.split("</thead>")[0]
    assert 'aria-sort="descending"' in down
    assert "▼" in down.split("</thead>")[0]
    # The sorted header links to the other direction (a second click flips, never falls back to score).
    assert f"sort=-{column}" in up.split('aria-sort="ascending"')[1].split("</th>")[0]
    assert f"sort={column}&" in down.split('aria-sort="descending"')[1].split("</th>")[0] or (
        f'sort={column}"' in down.split('aria-sort="descending"')[1].split("</th>")[0]
    )
    # Seeded ties (two "smb", two +1.5 trends, all 90 % confidence) order by score both ways.
    if column not in {"segment", "trend", "confidence"}:
        assert _names(up) == list(reversed(_names(down))), column


def test_sort_orders(acme_viewer: Any, owned: Any) -> None:
    assert _names(acme_viewer.get("/?sort=-score").data.decode())[0] == "Acme Green Corp"
    assert _names(acme_viewer.get("/?sort=owner").data.decode()) == [
        "Acme Green Corp",  # Ada
        "Acme Yellow Corp",  # Bob
        "Acme Red Corp",  # Vera
    ]
    assert _names(acme_viewer.get("/?sort=band").data.decode())[0] == "Acme Red Corp"


def test_owner_column_filter_and_my_accounts(client: Any, app: Any, owned: Any) -> None:
    from tests.connector.web.seed import sign_in_as

    sign_in_as(client, owned["acme"], "viewer")
    page = client.get("/").data.decode()
    assert "Vera Viewer" in page
    assert "Bob Boss" in page
    assert _names(client.get("/?owner=Bob+Boss").data.decode()) == ["Acme Yellow Corp"]
    # "My accounts" matches the signed-in e-mail to the CRM owner's e-mail, case-insensitively.
    assert _names(client.get("/?view=mine").data.decode()) == ["Acme Red Corp"]


def test_csv_export_follows_the_filters(acme_viewer: Any, owned: Any) -> None:
    resp = acme_viewer.get("/portfolio.csv?band=red")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert [r["account"] for r in rows] == ["Acme Red Corp"]
    assert rows[0]["score"] == "31"  # one rounding rule
    assert rows[0]["owner"] == "Vera Viewer"
    assert rows[0]["confidence_pct"] == "90"
    assert rows[0]["band"] == "Red (At risk)"
    everyone = list(csv.DictReader(io.StringIO(acme_viewer.get("/portfolio.csv").data.decode("utf-8-sig"))))
    assert len(everyone) == 3
    assert acme_viewer.get("/portfolio.csv?band=purple").status_code == 400


def test_rows_show_drivers_confidence_and_a_labelled_window(acme_viewer: Any) -> None:
    page = acme_viewer.get("/").data.decode()
    assert "Acme drivers text 2" in page
    assert "90 %" in page
    assert "Last 30 days" in page


def test_one_rounding_rule(app: Any, acme_viewer: Any, tenants: dict[str, TenantData]) -> None:
    from sqlalchemy import select

    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        snap = session.scalars(
            select(m.ScoreSnapshot)
            .where(m.ScoreSnapshot.account_id == red)
            .order_by(m.ScoreSnapshot.as_of.desc())
        ).first()
        assert snap is not None
        snap.score = 12.5  # halves round up (Python's round() would say 12)
    listing = acme_viewer.get("/?band=red").data.decode()
    detail = acme_viewer.get(f"/accounts/{red}").data.decode()
    assert '<td class="num score">13</td>' in listing
    assert '<div class="bigscore">13</div>' in detail
    assert "12.5" not in listing


def test_sparkline_covers_the_trend_window(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    from datetime import timedelta

    from connector import readmodels

    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        old = session.query(m.ScoreSnapshot).filter_by(account_id=red).first()
        assert old is not None
        session.add(
            m.ScoreSnapshot(
                tenant_id=acme.id, account_id=red, as_of=NOW - timedelta(days=80), score=90.0, band="green",
                band_since=NOW, segment="smb", dimensions={}, drivers=[], metrics={}, confidence=0.5,
                model_version="test-1",
            )
        )  # fmt: skip
    with transaction(url) as session:
        series = readmodels.sparklines(session, acme.id, [red])
        assert len(series[red]) == 3  # the 80-day-old point is outside the 30-day window


def test_former_customers_leave_the_list_by_default(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    acme = tenants["acme"]
    _set(app, acme, "Acme Yellow Corp", status="churned")
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        # A renewal lost in the past makes a former customer too.
        deal = session.query(m.Deal).filter_by(tenant_id=acme.id, external_id="Acme-D2").one()
        deal.is_closed, deal.is_won, deal.close_date = True, False, date(2026, 1, 1)
    page = acme_viewer.get("/").data.decode()
    assert _names(page) == ["Acme Green Corp"]
    assert "2 former customers hidden" in page
    former = acme_viewer.get("/?customers=former").data.decode()
    assert sorted(_names(former)) == ["Acme Red Corp", "Acme Yellow Corp"]
    assert len(_names(acme_viewer.get("/?customers=all").data.decode())) == 3


def test_a_dense_history_draws_each_days_last_score(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """Issue 17: a pass every 15 minutes leaves thousands of snapshots per account in the window; the
    sparkline (96 pixels) gets each day's last score instead of every snapshot."""
    from collections import defaultdict
    from datetime import timedelta

    from connector import readmodels

    acme = tenants["acme"]
    red = acme.accounts["Acme Red Corp"]
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        for day in range(1, 21):
            for hour in (2, 8, 14, 20):
                session.add(
                    m.ScoreSnapshot(
                        tenant_id=acme.id, account_id=red, as_of=NOW - timedelta(days=day) + timedelta(hours=hour),
                        score=float(day + hour), band="red", band_since=NOW, segment="smb", dimensions={},
                        drivers=[], metrics={}, confidence=0.5, model_version="test-1",
                    )
                )  # fmt: skip
    with transaction(url) as session:
        newest = max(s.as_of for s in session.query(m.ScoreSnapshot).filter_by(account_id=red))
        last: dict[object, tuple[object, float]] = defaultdict(lambda: (None, 0.0))
        for s in session.query(m.ScoreSnapshot).filter_by(account_id=red):
            at = s.as_of if s.as_of.tzinfo else s.as_of.replace(tzinfo=NOW.tzinfo)
            if newest - timedelta(days=30) <= at <= newest and (
                last[at.date()][0] is None or at >= last[at.date()][0]
            ):
                last[at.date()] = (at, s.score)
        series = readmodels.sparklines(session, acme.id, [red])
    assert series[red] == [score for _, (_, score) in sorted(last.items())]
    assert len(series[red]) <= 31


def test_former_customers_without_a_score_say_what_they_are(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """A churned account the scoring pass skips is a former customer, not an account 'waiting for data'
    (the portfolio's row and 'Not scored' card, and the account page said so); one not scored yet still is."""
    acme = tenants["acme"]
    ids = {}
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for name, status in (("Acme Gone Corp", "churned"), ("Acme New Corp", None)):
            acc = m.Account(
                tenant_id=acme.id, vendor="salesforce", external_id=f"001{name[5:8]}", name=name, domains=[],
                status=status, vendor_updated_at=NOW, metrics={},
            )  # fmt: skip
            session.add(acc)
            session.flush()
            ids[name] = acc.id

    def row(page: str, name: str) -> str:
        return page.split(f">{name}</a>")[1].split("</tr>")[0]

    def card(page: str) -> str:
        return page.split("bandcard-none")[1].split("</a>")[0]

    former = acme_viewer.get("/?customers=former").data.decode()
    assert "Former customer — not scored" in row(former, "Acme Gone Corp")
    assert "Former customer — not scored" in card(former)
    assert "waiting for data" not in former
    everyone = acme_viewer.get("/?customers=all").data.decode()
    assert "1 waiting for data · 1 former customer<" in card(everyone)
    assert "Former customer — not scored" in row(everyone, "Acme Gone Corp")
    assert "Not scored" in row(everyone, "Acme New Corp")
    assert "Former customer" not in row(everyone, "Acme New Corp")
    current = acme_viewer.get("/").data.decode()
    assert ">waiting for data<" in card(current)
    assert "Former customer — not scored" not in current

    gone = acme_viewer.get(f"/accounts/{ids['Acme Gone Corp']}").data.decode()
    assert "Former customer — not scored" in gone
    assert "This customer has left" in gone
    assert "as of never" not in gone
    assert "confidence 0%" not in gone
    new = acme_viewer.get(f"/accounts/{ids['Acme New Corp']}").data.decode()
    assert "Former customer" not in new
    assert "Waiting for data: the next scoring pass scores it." in new
    assert "as of never" not in new


def test_the_csv_export_names_former_customers_as_the_page_does(
    app: Any, acme_viewer: Any, tenants: dict[str, TenantData]
) -> None:
    """The page says 'Former customer — not scored' (7f82ed3); the CSV's band column still said 'Not
    scored', as for an account waiting for its first score."""
    acme = tenants["acme"]
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        for name, status in (("Acme Gone Corp", "churned"), ("Acme New Corp", None)):
            session.add(
                m.Account(
                    tenant_id=acme.id, vendor="salesforce", external_id=f"001{name[5:8]}", name=name,
                    domains=[], status=status, vendor_updated_at=NOW, metrics={},
                )
            )  # fmt: skip
    data = acme_viewer.get("/portfolio.csv?customers=all").data.decode("utf-8-sig")
    rows = {r["account"]: r for r in csv.DictReader(io.StringIO(data))}
    assert (rows["Acme Gone Corp"]["band"], rows["Acme Gone Corp"]["former_customer"]) == (
        "Former customer — not scored", "yes",
    )  # fmt: skip
    assert (rows["Acme New Corp"]["band"], rows["Acme New Corp"]["former_customer"]) == ("Not scored", "no")
    assert rows["Acme Red Corp"]["band"] == "Red (At risk)"
