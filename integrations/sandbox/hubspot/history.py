"""`propertiesWithHistory` on the CRM v3 object reads (list, get by id, batch read): every value a property
was set to, newest first, the first one included, each `{value, timestamp, sourceType, sourceId[,
updatedByUserId]}` with the value as a string, as HubSpot sends it (hubspot-api-python#143 and
hubspot-api-nodejs#154 quote real responses). Requesting history lowers the number of objects one request
may read (the SDK's own parameter doc: "Usage of this parameter will reduce the maximum number of objects
that can be read by a single request"): 50, answered with a 400 past it (schema.HISTORY_LIMIT). Search
does not take the parameter.

What the Book knows: a company's `active_users` history is the customer's `usage_path` (the product's usage
export writes it monthly, an integration; the churn's 0 is set by the owner in the CRM); `licensed_seats`
was set once, with the company. Any other property has one value, set when the object was created or when
our product wrote it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from integrations.sandbox.context import SandboxContext
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.index import HubObject, _owner_id, _state

USAGE_APP_ID = "1160452"  # the usage export's app: HubSpot shows an integration's app id as sourceId


def names_from(values: Iterable[Any]) -> list[str]:
    """Property names from repeated and/or comma-separated values (query params or a JSON list)."""
    out: list[str] = []
    for raw in values:
        if isinstance(raw, str):
            out.extend(p for p in raw.split(",") if p)
    return list(dict.fromkeys(out))


@functools.lru_cache(maxsize=4096)
def _user_id(owner: str) -> int:
    """The HubSpot user behind an owner (a stable number per owner, distinct from the owner id)."""
    return 2_000_000 + int(hashlib.sha1(f"user:{owner}".encode()).hexdigest()[:6], 16) % 1_000_000


def _entry(
    value: Any, when: datetime, source: str, source_id: str, user: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": "" if value is None else str(value),
        "timestamp": hs_time(when),
        "sourceType": source,
        "sourceId": source_id,
    }
    if user is not None:
        out["updatedByUserId"] = user
    return out


def _company_history(ctx: SandboxContext, obj: HubObject, name: str) -> list[dict[str, Any]] | None:
    """The modelled history of a company property (oldest first), None when the Book models none."""
    cust = ctx.book.customers.get(obj.key)
    if cust is None:
        return None
    if name == "active_users" and cust.usage_path:
        user = _user_id(cust.owner)
        last = len(cust.usage_path) - 1
        return [
            # the churn's 0 is the owner closing the account in the CRM; every other value is the export's
            _entry(v, when, "CRM_UI", f"userId:{user}", user)
            if i == last and v == 0 and cust.outcome == "churned"
            else _entry(v, when, "INTEGRATION", USAGE_APP_ID)
            for i, (when, v) in enumerate(cust.usage_path)
        ]
    if name == "licensed_seats":
        return [_entry(cust.licensed_seats, cust.created_at, "API", _owner_id(cust.owner))]
    return None


def property_history(
    ctx: SandboxContext, obj: HubObject, names: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """`propertiesWithHistory` of one rendered object: each asked property it has, newest value first;
    properties it does not have are left out, as HubSpot ignores them (call under ctx.lock)."""
    state = _state(ctx)
    written = state.written.get(obj.id, {})
    touched = state.extra.get("touched", {}).get(obj.id)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        if name not in obj.properties:
            continue
        entries = _company_history(ctx, obj, name) if obj.type == "companies" else None
        if name in written and touched is not None:
            entries = [
                *(entries or []),
                _entry(written[name], touched, "INTEGRATION", str(state.extra.get("app_id", ""))),
            ]
        if entries is None:
            value = obj.properties[name]
            entries = [] if value is None else [_entry(value, obj.created_at, "API", "")]
        out[name] = entries[::-1]
    return out
