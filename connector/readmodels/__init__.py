"""Every read query behind the pages and the API. No SQL lives in views; every function takes tenant_id.

Split by screen: `portfolio` (accounts, bands, sparklines), `account` (one account's page and lookups by
vendor id), `support` (tickets and sentiment), `admin` (installations, runs, models, webhooks, review queue,
users, keys, audit). Values come back as frozen dataclasses; `jsonable` turns them into API bodies.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connector.readmodels.account import (
    AccountDetail,
    account_detail,
    account_ids_for_vendor_record,
    band_thresholds,
    resolve_crm_account,
    score_history,
)
from connector.readmodels.admin import (
    accounts_shared_elsewhere,
    api_keys,
    audit_count,
    audit_facets,
    audit_log,
    audit_shown,
    audited,
    crm_account_choices,
    deliveries,
    delivery_count,
    delivery_subjects,
    installation,
    installation_by_vendor_account,
    installations,
    key_creators,
    key_warnings,
    model_version,
    model_versions,
    published_model,
    review_queue,
    runs,
    users,
)
from connector.readmodels.portfolio import (
    SORTS,
    TREND_DAYS,
    BandSummary,
    Portfolio,
    PortfolioRow,
    portfolio,
    sparklines,
)
from connector.readmodels.support import SentimentOverview, sentiment_overview, ticket, tickets

__all__ = [
    "SORTS",
    "TREND_DAYS",
    "AccountDetail",
    "BandSummary",
    "Portfolio",
    "PortfolioRow",
    "SentimentOverview",
    "account_detail",
    "account_ids_for_vendor_record",
    "accounts_shared_elsewhere",
    "api_keys",
    "audit_count",
    "audit_facets",
    "audit_log",
    "audit_shown",
    "audited",
    "band_thresholds",
    "crm_account_choices",
    "deliveries",
    "delivery_count",
    "delivery_subjects",
    "installation",
    "installation_by_vendor_account",
    "installations",
    "jsonable",
    "key_creators",
    "key_warnings",
    "model_version",
    "model_versions",
    "portfolio",
    "published_model",
    "resolve_crm_account",
    "review_queue",
    "runs",
    "score_history",
    "sentiment_overview",
    "sparklines",
    "ticket",
    "tickets",
    "users",
]


def jsonable(value: Any) -> Any:
    """Dataclasses, Decimals and datetimes → plain JSON values (money as strings keeps cents exact)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None  # JSON has no NaN/Infinity; strict parsers reject them
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
