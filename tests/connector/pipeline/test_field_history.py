"""Seat usage on a past date from the CRM's field history (metric_changes), for the backtest."""

from __future__ import annotations

from datetime import datetime

import pytest

from connector.pipeline.field_history import Change, metrics_as_of, value_at
from connector.pipeline.signals import load_signals
from connector.store import repo as store
from integrations.records import MetricChangeRecord
from tests.connector import builders as b
from tests.connector.builders import DAY, T0

SF = [  # Salesforce AccountHistory: old and new value per change
    Change(T0 - 60 * DAY, 30.0, 40.0),
    Change(T0 - 30 * DAY, 20.0, 30.0),
    Change(T0 + 5 * DAY, 0.0, 20.0),  # the churn, after the date
]
HS = [  # HubSpot: every value set, the first included; no old values
    Change(T0 - 90 * DAY, 40.0, None),
    Change(T0 - 30 * DAY, 20.0, None),
]


@pytest.mark.parametrize(
    ("changes", "when", "expected"),
    [
        (SF, T0, 20.0),  # the last change at or before the date, not the churn after it
        (SF, T0 - 30 * DAY, 20.0),  # a change at the very moment counts
        (SF, T0 - 45 * DAY, 30.0),
        (SF, T0 - 400 * DAY, 40.0),  # before the first change: the value it replaced
        (SF, T0 + 6 * DAY, 0.0),
        (HS, T0 - 60 * DAY, 40.0),
        (HS, T0 - 100 * DAY, None),  # before HubSpot's first value: the field was empty
        ([], T0, None),
    ],
)
def test_value_at(changes: list[Change], when: datetime, expected: float | None) -> None:
    assert value_at(changes, when) == expected


def test_fields_without_a_history_keep_todays_value_only_when_usage_has_one() -> None:
    current = {"active_users": 0, "licensed_seats": 50}
    assert metrics_as_of(current, {"active_users": SF}, T0) == {
        "seat_utilisation": None,
        "active_users": 20.0,
        "licensed_seats": 50,
    }
    # a utilisation field mapped directly, with no history of its own: today's value is the very thing that
    # would leak the outcome (0 after a churn), so on a past date it is unknown and users ÷ seats is read
    assert (
        metrics_as_of({**current, "seat_utilisation": 0.0}, {"active_users": SF}, T0)["seat_utilisation"]
        is None
    )
    # no usage history at all (history tracking off): the date's usage is unknown, never today's
    assert metrics_as_of(current, {}, T0) == {}
    assert metrics_as_of(current, {"licensed_seats": HS}, T0) == {}


def _seat_utilisation(
    db_url: str, tenant_id: int, as_of: datetime, historical: bool
) -> dict[str, float | None]:
    with b.session(db_url) as s:
        ext = {b.account_row(s, tenant_id, "salesforce", e).id: e for e in ("001", "002")}
        return {
            ext[int(x.account_id)]: x.metrics["seat_utilisation"]
            for x in load_signals(s, tenant_id, as_of, historical=historical)
        }


def test_the_backtest_reads_seat_usage_as_it_was_and_live_reads_todays(db_url: str) -> None:
    with b.session(db_url) as s:
        t = b.tenant(s)
        b.crm_account(s, t, "001", "Acme", metrics={"active_users": 0, "licensed_seats": 40})
        b.crm_account(s, t, "002", "Beta", metrics={"active_users": 10, "licensed_seats": 40})
        store.upsert_records(
            s,
            t,
            [
                MetricChangeRecord(
                    vendor="salesforce",
                    external_id=f"017{i}",
                    account_external_id=acct,
                    metric="active_users",
                    value=new,
                    old_value=old,
                    changed_at=when,
                    updated_at=when,
                )
                for i, (acct, when, old, new) in enumerate(
                    [("001", T0 - 30 * DAY, 36, 30), ("001", T0 + 5 * DAY, 30, 0), ("002", T0 + DAY, 12, 10)]
                )
            ]
            # another tenant's or vendor's history never leaks in
            + [
                MetricChangeRecord(
                    vendor="hubspot",
                    external_id="9",
                    account_external_id="001",
                    metric="active_users",
                    value=1,
                    changed_at=T0 - DAY,
                    updated_at=T0 - DAY,
                )
            ],
        )
    assert _seat_utilisation(db_url, t, T0, historical=True) == {"001": 0.75, "002": 0.3}
    assert _seat_utilisation(db_url, t, T0 - 40 * DAY, historical=True) == {"001": 0.9, "002": 0.3}
    assert _seat_utilisation(db_url, t, T0, historical=False) == {"001": 0.0, "002": 0.25}
