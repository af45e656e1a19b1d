"""Ground truth from a vendor sandbox's control API (for link accuracy and backtests on the seeded book).

Against a real vendor there is no truth: callers get None and report null.
"""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy.orm import Session

from connector.store import repo as store


def sandbox_admin_url(session: Session, tenant_id: int) -> str | None:
    """The control API URL recorded when the tenant was installed against a sandbox."""
    for inst in store.installations(session, tenant_id):
        url = (inst.settings or {}).get("sandbox_admin")
        if url:
            return str(url)
    return None


def fetch_truth(admin_url: str, ca_file: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    resp = requests.get(f"{admin_url.rstrip('/')}/_sandbox/truth", timeout=timeout, verify=ca_file or True)
    resp.raise_for_status()
    data: dict[str, Any] = resp.json()
    return data


def vendor_maps(truth: dict[str, Any], vendor: str) -> tuple[dict[str, str], dict[str, str]]:
    """(account/org id → customer key, ticket id → customer key) for one vendor."""
    section = truth.get("vendors", truth).get(vendor, {})
    return dict(section.get("accounts", {})), dict(section.get("tickets", {}))
