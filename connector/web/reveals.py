"""Secrets shown once, by the GET after the POST that made them (connector/admin/reveals.py keeps them).

A POST calls `keep(kind, ...)` and redirects to its page with `?reveal=<id>`; that page's GET calls
`take(kind)`: the payload to show (once) or the notice that it was shown already or has expired. The notice
names what the secret was for (the API key's name, the endpoint's URL, the invited address) so the admin
knows which one to replace: the row is deleted by the read that shows it, so that read remembers the name
in the person's session (encrypted, bound to the person, the last few only) for a reload to name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, session

from connector.admin import reveals
from connector.installs.vault import Vault, VaultError
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


# WHAT, naming what it was for ({name}: “key name”, an endpoint's URL, an e-mail address).
WHAT_NAMED = {
    "api_key": "The new key {name}",
    "webhook_endpoint": "The signing secret of the endpoint {name}",
    "webhook_rotation": "The new signing secret of the endpoint {name}",
    "invitation": "The invitation link for {name}",
}
SHOWN_KEY = "revealed"  # session key: the names of the last reveals this person was shown
SHOWN_KEEP = 3
NAME_MAX = 200


def name_of(kind: str, payload: dict[str, Any] | None) -> str | None:
    """What a reveal's secret was for, as the notice names it; None when its kind names nothing."""
    if not payload or kind not in WHAT_NAMED:
        return None
    field = {"api_key": "name", "invitation": "email"}.get(kind, "url")
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip() if len(value) <= NAME_MAX else value[: NAME_MAX - 1] + "…"
    return f"“{value}”" if kind == "api_key" else value


def _remember(viewer_id: int, tenant_id: int, kind: str, reveal_id: int, name: str) -> None:
    vault = Vault(settings())
    entries = _remembered(vault)
    entries = [e for e in entries if e[:4] != [viewer_id, tenant_id, kind, reveal_id]]
    entries.append([viewer_id, tenant_id, kind, reveal_id, name])
    session[SHOWN_KEY] = vault.encrypt_json(entries[-SHOWN_KEEP:])


def _remembered(vault: Vault) -> list[list[Any]]:
    raw = session.get(SHOWN_KEY)
    if not isinstance(raw, str):
        return []
    try:
        entries = vault.decrypt_json(raw)
    except (VaultError, ValueError):  # keys rotated since: nothing remembered
        return []
    return [e for e in entries if isinstance(e, list) and len(e) == 5] if isinstance(entries, list) else []


def _recall(viewer_id: int, tenant_id: int, kind: str, reveal_id: int) -> str | None:
    for entry in _remembered(Vault(settings())):
        if entry[:4] == [viewer_id, tenant_id, kind, reveal_id] and isinstance(entry[4], str):
            return entry[4]
    return None


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
    # ASCII digits only: str.isdigit() accepts '²', which int() refuses (a 500; security audit 11)
    numeric = raw.isascii() and raw.isdigit() and len(raw) < 19
    if numeric:
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
        name = name_of(kind, taken.payload)
        if name is not None:
            _remember(viewer.id, viewer.tenant_id, kind, int(raw), name)
        return Reveal(payload=taken.payload)
    if taken.state == "expired":
        return Reveal(notice=notice(kind, "expired", name=name_of(kind, taken.payload)))
    name = _recall(viewer.id, viewer.tenant_id, kind, int(raw)) if numeric else None
    return Reveal(notice=notice(kind, taken.state, name=name))


def notice(
    kind: str, state: str = "gone", *, name: str | None = None, named: dict[str, Any] | None = None
) -> str:
    """Why no secret is shown (`gone`: shown already, or not this person's; `expired`) and what to do,
    naming what it was for when known (`name`, or the reveal's payload `named`)."""
    name = name or name_of(kind, named)
    what, lost = WHAT[kind], LOST[kind]  # "revoke that key", "open the endpoint": the one just named
    if name is not None and kind in WHAT_NAMED:
        what = WHAT_NAMED[kind].format(name=name)
    minutes = int(reveals.REVEAL_TTL.total_seconds() // 60)
    if state == "expired":  # never shown, so never copied: just what to do
        todo = lost.removeprefix("If you did not copy it, ")
        return (
            f"{what} was not opened within {minutes} minutes, so it is not shown any more. "
            f"{todo[:1].upper()}{todo[1:]}"
        )
    said = (
        f"{what} was already shown once and is not shown again (it is shown only once, within "
        f"{minutes} minutes of being made, to the person who made it)."
    )
    return f"{said} {lost}"
