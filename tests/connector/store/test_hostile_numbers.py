"""Security (audit 4): numbers a customer's CRM users type are stored or dropped, never a failed page.

ARR and deal amounts are Numeric(16, 2): HubSpot and Salesforce accept 100000000000000 (Salesforce
currency fields hold 18 digits), which PostgreSQL refused ("numeric field overflow") for the whole page, so
the stream failed on every pass and scoring stayed skipped for the tenant. A metric typed "NaN" or
"Infinity" into a text property mapped as a number became a float PostgreSQL's JSON refuses the same way."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.store import models as m
from connector.store import repo as store
from integrations.records import AccountRecord, DealRecord, TicketRecord
from tests.connector import builders as b

T = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "typed",
    [Decimal("100000000000000"), Decimal("-1e20"), Decimal("NaN"), Decimal("Infinity"), Decimal("1e999999")],
)
def test_a_number_the_column_cannot_hold_is_no_number(db_url: str, typed: Decimal) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        store.upsert_records(
            s,
            t,
            [
                AccountRecord(
                    vendor="hubspot",
                    external_id="1",
                    name="Typed",
                    arr=typed,
                    arr_prev=Decimal("1000.50"),
                    metrics={"active_users": float(typed), "licensed_seats": 50.0},
                    updated_at=T,
                ),
                AccountRecord(
                    vendor="hubspot",
                    external_id="2",
                    name="Fine",
                    arr=Decimal("9999999999999.50"),
                    updated_at=T,
                ),
                DealRecord(
                    vendor="hubspot",
                    external_id="9",
                    account_external_id="1",
                    name="D",
                    amount=typed,
                    updated_at=T,
                ),
            ],
        )
    with b.session(db_url) as s:
        rows = {a.external_id: a for a in s.scalars(select(m.Account).where(m.Account.tenant_id == t))}
        deal = s.scalars(select(m.Deal).where(m.Deal.tenant_id == t)).one()
        assert rows["1"].arr is None
        assert rows["1"].arr_prev == Decimal("1000.50")
        metric = float(typed) if math.isfinite(float(typed)) else None  # a float metric: any finite one
        assert rows["1"].metrics == {"active_users": metric, "licensed_seats": 50.0}
        assert rows["2"].arr == Decimal("9999999999999.50")
        assert deal.amount is None


def test_a_count_beyond_an_integer_column_is_capped(db_url: str) -> None:
    """Zendesk's metric_set.reopens goes to an Integer column (int32 on PostgreSQL): 2**40 failed the page."""
    with b.session(db_url) as s:
        t = b.tenant(s)
        store.upsert_records(
            s,
            t,
            [
                TicketRecord(
                    vendor="zendesk",
                    external_id="1",
                    account_external_id=None,
                    subject="S",
                    reopens=2**40,
                    created_at=T,
                    updated_at=T,
                ),
                TicketRecord(
                    vendor="zendesk",
                    external_id="2",
                    account_external_id=None,
                    subject="S",
                    reopens=3,
                    created_at=T,
                    updated_at=T,
                ),
            ],
        )
    with b.session(db_url) as s:
        got = {x.external_id: x.reopens for x in s.scalars(select(m.Ticket).where(m.Ticket.tenant_id == t))}
        assert got == {"1": 2**31 - 1, "2": 3}
