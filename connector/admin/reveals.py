"""One-time reveals: a secret a POST made, kept for the one GET after it (Post/Redirect/Get).

Creating an API key, adding a webhook endpoint, rotating its secret, inviting someone and rotating the
Salesforce inbound URL make a secret that is shown once. Shown in the answer to the POST, a reload sent
the form again; so the POST keeps the secret here and redirects, and the GET shows it. The secret is never
in the session cookie nor in a plain column: the row holds it encrypted with the token vault, bound to the
person and the workspace that made it, and the GET that reads it deletes it (one statement, so two tabs
cannot both read it). A row nobody read is not shown after `REVEAL_TTL` and is deleted when a new one is
stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from connector.installs.vault import Vault, VaultError
from connector.store import models as m
from connector.store.repo import utcnow

REVEAL_TTL = timedelta(minutes=10)
KINDS = ("api_key", "webhook_endpoint", "webhook_rotation", "invitation", "salesforce_inbound")
# The payload's fields that say what a secret is for (never the secret): an expired reveal returns these.
NAMES = ("name", "url", "email")


@dataclass(frozen=True, slots=True)
class Taken:
    """What a GET found: the payload to show once, or why there is none (`state`)."""

    state: str  # shown | gone (read already, never made, someone else's) | expired
    payload: dict[str, Any] | None = None  # shown: all of it; expired: only the NAMES fields


def keep(
    session: Session, vault: Vault, *, tenant_id: int, user_id: int, kind: str, payload: dict[str, Any]
) -> int:
    """Store `payload` (the secret and what it is for) for one later read by this user; its id. Rows older
    than REVEAL_TTL, of any workspace, go first. The caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown reveal kind {kind!r}")
    now = utcnow()
    session.execute(delete(m.OneTimeReveal).where(m.OneTimeReveal.created_at < now - REVEAL_TTL))
    row = m.OneTimeReveal(
        tenant_id=tenant_id,
        user_id=user_id,
        kind=kind,
        payload_enc=vault.encrypt_json(payload),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def take(session: Session, vault: Vault, *, tenant_id: int, user_id: int, kind: str, reveal_id: int) -> Taken:
    """Read and delete the reveal `reveal_id` if it is this user's, of this workspace and kind. Another
    person's, another workspace's and one read already are alike `gone` (nothing tells them apart); one
    older than REVEAL_TTL is deleted and `expired`. The caller commits (the delete)."""
    table = m.OneTimeReveal
    row = session.execute(
        delete(table)
        .where(
            table.id == reveal_id,
            table.tenant_id == tenant_id,
            table.user_id == user_id,
            table.kind == kind,
        )
        .returning(table.payload_enc, table.created_at)
    ).first()
    if row is None:
        return Taken("gone")
    try:
        payload = vault.decrypt_json(row.payload_enc)
    except VaultError:  # the keys changed in the ten minutes: it cannot be shown, say so as gone
        payload = None
    kept = payload if isinstance(payload, dict) else None
    if utcnow() - row.created_at > REVEAL_TTL:  # never shown: only what it was for, to name it
        return Taken("expired", {k: kept[k] for k in NAMES if k in kept} if kept else None)
    if payload is None:
        return Taken("gone")
    return Taken("shown", kept)
