"""Secrets shown once, by the GET after the POST that made them (connector/admin/reveals.py keeps them).

A POST calls `keep(kind, ...)` and redirects to its page with `?reveal=<id>`; that page's GET calls
`take(kind)`: the payload to show (once) or the notice that it was shown already or has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from connector.admin import reveals
from connector.installs.vault import Vault
from connector.web.access import current_user, db, settings

# What the secret is and what to do when it was lost, per kind.
WHAT = {
    "api_key": "The new key",
    "webhook_endpoint": "The endpoint's signing secret",
    "webhook_rotation": "The new signing secret",
    "invitation": "The invitation link",
    "salesforce_inbound": "The new Salesforce inbound URL",
}
LOST = {
    "api_key": "If you did not copy it, revoke that key and create a new one.",
    "webhook_endpoint": "If you did not copy it, open the endpoint and rotate its secret.",
    "webhook_rotation": "If you did not copy it, rotate the secret again.",
    "invitation": "If you did not copy it, click “New link” in the person's row (the lost link then stops working).",
    "salesforce_inbound": "If you did not copy it, rotate the inbound URL again.",
}


@dataclass(frozen=True, slots=True)
class Reveal:
    """What the page shows: `payload` once, or `notice` (shown already, expired)."""

    payload: dict[str, Any] | None = None
    notice: str | None = None


def keep(kind: str, **payload: Any) -> int:
    """Keep the secret for the next GET of the signed-in person; the caller commits and redirects."""
    viewer = current_user()
    if viewer is None:  # pragma: no cover - views that make secrets are admin_required
        raise RuntimeError("a secret is kept for a signed-in person only")
    return reveals.keep(
        db(),
        Vault(settings()),
        tenant_id=viewer.tenant_id,
        user_id=viewer.id,
        kind=kind,
        payload=payload,
    )


def take(kind: str) -> Reveal:
    """The reveal this GET names (`?reveal=<id>`), read once and deleted; an empty Reveal without one."""
    raw = request.args.get("reveal")
    if raw is None:
        return Reveal()
    viewer = current_user()
    if viewer is None:  # pragma: no cover - the pages that show secrets are admin_required
        return Reveal()
    taken = reveals.Taken("gone")
    if raw.isdigit() and len(raw) < 19:
        taken = reveals.take(
            db(),
            Vault(settings()),
            tenant_id=viewer.tenant_id,
            user_id=viewer.id,
            kind=kind,
            reveal_id=int(raw),
        )
        db().commit()  # the delete: nobody reads it again
    if taken.state == "shown" and taken.payload is not None:
        return Reveal(payload=taken.payload)
    return Reveal(notice=notice(kind, taken.state))


def notice(kind: str, state: str = "gone") -> str:
    """Why no secret is shown (`gone`: shown already, or not this person's; `expired`) and what to do."""
    minutes = int(reveals.REVEAL_TTL.total_seconds() // 60)
    if state == "expired":  # never shown, so never copied: just what to do
        todo = LOST[kind].removeprefix("If you did not copy it, ")
        return (
            f"{WHAT[kind]} was not opened within {minutes} minutes, so it is not shown any more. "
            f"{todo[:1].upper()}{todo[1:]}"
        )
    said = (
        f"{WHAT[kind]} was already shown once and is not shown again (it is shown only once, within "
        f"{minutes} minutes of being made, to the person who made it)."
    )
    return f"{said} {LOST[kind]}"
