"""Seed data and helpers for web tests: two tenants with users, keys and a small scored book each.

Tenant "acme" and tenant "globex" get look-alike data with distinct names, so isolation tests can assert
that nothing of the other tenant ever shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.installs import users as auth
from connector.store import models as m
from connector.store import repo as store

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class TenantData:
    id: int
    slug: str
    admin_email: str
    viewer_email: str
    admin_id: int = 0
    viewer_id: int = 0
    accounts: dict[str, int] = field(default_factory=dict)  # name -> id
    org_id: int = 0  # an unmatched Zendesk organization in review
    read_key: str = ""
    admin_key: str = ""


def _seed_tenant(session: Any, slug: str, prefix: str) -> TenantData:
    tenant = store.ensure_tenant(session, slug, slug.title(), primary_crm="salesforce")
    admin = auth.create_user(session, tenant.id, f"admin@{slug}.test", "admin", password=PASSWORD)
    viewer = auth.create_user(session, tenant.id, f"viewer@{slug}.test", "viewer", password=PASSWORD)
    data = TenantData(tenant.id, slug, admin.email, viewer.email, admin.id, viewer.id)
    bands = [("green", 82.0), ("yellow", 61.0), ("red", 31.0)]
    for i, (band, score) in enumerate(bands):
        name = f"{prefix} {band.title()} Corp"
        acc = m.Account(
            tenant_id=tenant.id,
            vendor="salesforce",
            external_id=f"001{prefix}{i:012d}",
            name=name,
            domains=[f"{prefix.lower()}{i}.example"],
            segment="enterprise" if i == 0 else "smb",
            arr=Decimal(100_000 * (i + 1)),
            renewal_date=date(2027, 1 + i, 15),
            vendor_updated_at=NOW,
            metrics={},
        )
        session.add(acc)
        session.flush()
        data.accounts[name] = acc.id
        for d in range(3):
            session.add(
                m.ScoreSnapshot(
                    tenant_id=tenant.id,
                    account_id=acc.id,
                    as_of=NOW - timedelta(days=2 - d),
                    score=score - 2 + d,
                    band=band,
                    band_since=NOW - timedelta(days=30),
                    segment=acc.segment,
                    dimensions={"support": score, "product": 50.0},
                    drivers=[
                        {
                            "metric": "open_tickets",
                            "dimension": "support",
                            "direction": "down",
                            "impact": -4.2,
                            "value": 3,
                            "text": f"{prefix} drivers text {i}",
                        }
                    ],
                    metrics={},
                    confidence=0.9,
                    trend_30d=1.5 if band != "red" else -6.0,
                    sentiment_30d=0.1,
                    recommended_action="Call the sponsor",
                    model_version="test-1",
                )
            )
        session.add(
            m.Ticket(
                tenant_id=tenant.id,
                vendor="zendesk",
                external_id=f"{prefix}-T{i}",
                crm_account_id=acc.id,
                subject=f"{prefix} ticket {i}",
                status="open",
                priority="high",
                group_name="Tier 1",
                vendor_created_at=NOW - timedelta(days=i + 1),
                vendor_updated_at=NOW,
                sentiment_label="negative" if band == "red" else "positive",
                sentiment_score=-0.8 if band == "red" else 0.6,
                sentiment_confidence=0.9,
                sentiment_excerpt=f"{prefix} excerpt {i}",
            )
        )
        session.add(
            m.SurveyResponse(
                tenant_id=tenant.id,
                vendor="salesforce",
                external_id=f"{prefix}-S{i}",
                kind="nps",
                score=9 - i * 3,
                account_external_id=acc.external_id,
                responded_at=NOW - timedelta(days=5),
                vendor_updated_at=NOW,
            )
        )
        session.add(
            m.Deal(
                tenant_id=tenant.id,
                vendor="salesforce",
                external_id=f"{prefix}-D{i}",
                account_external_id=acc.external_id,
                name=f"{prefix} renewal {i}",
                kind="renewal",
                amount=Decimal(50_000),
                stage="Negotiation",
                close_date=date(2027, 1, 1),
                vendor_updated_at=NOW,
            )
        )
    # A linked Zendesk organization (auto) and an unmatched one (review).
    linked = m.Account(
        tenant_id=tenant.id,
        vendor="zendesk",
        external_id=f"{prefix}-ORG-1",
        name=f"{prefix} Green Org",
        domains=[],
        vendor_updated_at=NOW,
        metrics={},
    )
    orphan = m.Account(
        tenant_id=tenant.id,
        vendor="zendesk",
        external_id=f"{prefix}-ORG-2",
        name=f"{prefix} Mystery Org",
        domains=["mystery.example"],
        vendor_updated_at=NOW,
        metrics={},
    )
    session.add_all([linked, orphan])
    session.flush()
    green = data.accounts[f"{prefix} Green Corp"]
    session.add(
        m.AccountLink(
            tenant_id=tenant.id,
            source_account_id=linked.id,
            crm_account_id=green,
            method="domain",
            confidence=0.9,
            status="auto",
            updated_at=NOW,
        )
    )
    session.add(
        m.AccountLink(
            tenant_id=tenant.id,
            source_account_id=orphan.id,
            crm_account_id=None,
            method="unmatched",
            confidence=0.0,
            status="review",
            reason="no domain or name match",
            updated_at=NOW,
        )
    )
    data.org_id = orphan.id
    data.read_key = auth.create_api_key(session, tenant.id, "reader", "read").secret
    data.admin_key = auth.create_api_key(session, tenant.id, "automation", "admin").secret
    return data


def sidebar_key(url: str, tenant: TenantData) -> tuple[str, int]:
    """Connect Zendesk (a bare installation row) and make the sidebar's installation key, which is bound
    to it (installs/users.create_api_key); (the key, the installation's id). Not in the seed: a connected
    Zendesk changes the integrations page and the tests that connect it themselves."""
    from connector.store.db import transaction

    with transaction(url) as session:
        zendesk = m.Installation(
            tenant_id=tenant.id,
            vendor="zendesk",
            base_url=f"https://{tenant.slug}.zendesk.example",
            token_url=f"https://{tenant.slug}.zendesk.example/oauth/tokens",
            client_id="seed",
            client_secret_enc="",
            status="connected",
            created_at=NOW,
        )
        session.add(zendesk)
        session.flush()
        return auth.create_api_key(session, tenant.id, "zendesk sidebar", "installation").secret, zendesk.id


def sign_in_as(client: Any, tenant: TenantData, role: str = "admin") -> None:
    """Put a signed-in session on the test client (login itself is tested in test_auth.py)."""
    sign_in_user(client, tenant.admin_id if role == "admin" else tenant.viewer_id, tenant.id)


def sign_in_user(client: Any, uid: int, tid: int) -> str:
    """A server-side session for user `uid` and its cookie on `client`; returns the session id."""
    from connector.installs import users as auth
    from connector.store import models as m
    from connector.store.db import transaction

    with transaction(client.application.config["HEALTHSCORE"].sqlalchemy_url) as session:
        sid = auth.start_session(session, session.get(m.User, uid))
    with client.session_transaction() as sess:
        sess["uid"], sess["tid"], sess["sid"] = uid, tid, sid
    return sid


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
