"""Who is still a customer: former customers (churned, or whose renewal was lost in the past) leave the
portfolio's default view and the scoring pass. A health score for an account that already left only adds
noise to the at-risk list (they all sit at the same low score with low confidence)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from connector.readmodels.common import CRM_VENDORS
from connector.store import models as m

CHURNED_STATUSES = ("churned", "former", "former customer", "former_customer")
CUSTOMER_FILTERS = ("current", "former", "all")


def former_customer_ids(
    session: Session, tenant_id: int, today: date, account_ids: Collection[int] | None = None
) -> set[int]:
    """CRM account ids that are former customers as of `today` (among `account_ids` when given: a
    targeted refresh reads those accounts and their renewals only).

    Former = the CRM says so (status churned/former), or the latest decided renewal deal closed lost on or
    before `today` and no renewal is still open or won after it (a lost renewal followed by a new open
    renewal is a customer being won back, not a former customer).
    """
    accounts = {
        (vendor, ext): (acc_id, (status or "").strip().casefold())
        for acc_id, vendor, ext, status in session.execute(
            select(m.Account.id, m.Account.vendor, m.Account.external_id, m.Account.status).where(
                m.Account.tenant_id == tenant_id,
                m.Account.vendor.in_(CRM_VENDORS),
                m.Account.deleted_at.is_(None),
                true() if account_ids is None else m.Account.id.in_(list(account_ids)),
            )
        )
    }
    former = {acc_id for acc_id, status in accounts.values() if status in CHURNED_STATUSES}
    lost: dict[int, date] = {}
    alive: dict[int, date] = {}
    deals = session.execute(
        select(
            m.Deal.vendor, m.Deal.account_external_id, m.Deal.is_closed, m.Deal.is_won, m.Deal.close_date
        ).where(
            and_(m.Deal.tenant_id == tenant_id, m.Deal.kind == "renewal", m.Deal.deleted_at.is_(None)),
            true() if account_ids is None else m.Deal.account_external_id.in_([e for _, e in accounts]),
        )
    )
    for vendor, ext, is_closed, is_won, close_date in deals:
        hit = accounts.get((vendor, ext or ""))
        if hit is None or close_date is None:
            continue
        acc_id = hit[0]
        if is_closed and not is_won and close_date <= today:
            lost[acc_id] = max(close_date, lost.get(acc_id, close_date))
        elif not is_closed or is_won:
            alive[acc_id] = max(close_date, alive.get(acc_id, close_date))
    for acc_id, lost_on in lost.items():
        if alive.get(acc_id, date.min) <= lost_on:
            former.add(acc_id)
    return former
