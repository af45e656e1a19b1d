"""A webhook secret rotation's end: past `rotation_ends_at` the previous secret is dropped, so deliveries
carry the new signature only (connector/admin/webhooks.py starts rotations; this finishes them).

The delivery step calls it at the start of every run (the scheduler's minute job, so it also covers
endpoints with nothing to deliver) and for each delivery it loads; the admin pages and the API when they
read an endpoint. Each finish is audit-logged once (`webhook.rotation_finished`, actor healthscore,
automatic). Rotations run on the wall clock, also for a sandbox tenant: a simulated clock must not keep a
leaked secret signing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import clock
from connector.installs.vault import Vault, VaultError
from connector.store import models as m
from connector.store.repo import audit


def finish_lapsed_rotation(
    session: Session, vault: Vault, ep: m.WebhookEndpoint, now: datetime | None = None
) -> bool:
    """Drop the previous secret of `ep` if its rotation's end has passed; True when one was dropped (and
    audit-logged). Once only: the clearing UPDATE matches the end it read, so of two workers finishing the
    same rotation at once one updates the row and logs it, the other finds it finished."""
    ends = ep.rotation_ends_at
    now = now or clock.wall_clock()
    if ends is None or now < ends:
        return False
    before = ep.secrets_enc
    try:
        secrets = vault.decrypt_json(before)
    except VaultError:  # unreadable with the configured keys: its deliveries fail and say so
        return False
    table = m.WebhookEndpoint
    done = session.execute(
        update(table)
        .where(table.id == ep.id, table.rotation_ends_at == ends, table.secrets_enc == before)
        .values(rotation_ends_at=None, secrets_enc=vault.encrypt_json(secrets[:1]))
        .execution_options(synchronize_session=False)
    )
    session.refresh(ep)
    if getattr(done, "rowcount", 0) != 1 or len(secrets) < 2:
        return False  # finished by someone else, or only the mark of migration 0017 on a single secret
    audit(
        session,
        ep.tenant_id,
        "healthscore",
        "webhook.rotation_finished",
        f"endpoint:{ep.id}",
        automatic=True,
        ended_at=ends.isoformat(),
        url=ep.url,
    )
    return True


def finish_lapsed_rotations(
    session: Session, vault: Vault, *, tenant_id: int | None = None, now: datetime | None = None
) -> int:
    """Finish every rotation (of one tenant, or all) whose end has passed; how many dropped a secret."""
    now = now or clock.wall_clock()
    stmt = select(m.WebhookEndpoint).where(
        m.WebhookEndpoint.rotation_ends_at.is_not(None), m.WebhookEndpoint.rotation_ends_at <= now
    )
    if tenant_id is not None:
        stmt = stmt.where(m.WebhookEndpoint.tenant_id == tenant_id)
    return sum(finish_lapsed_rotation(session, vault, ep, now) for ep in session.scalars(stmt).all())
