"""Test-data builders for the pipeline's database-side modules: a few readable calls per scenario.

Rows go in the way production puts them there: vendor records through `store.upsert_records` (the
integrations.records dataclasses), installations through `store.save_installation` with a real Vault.
Every builder takes the session and the tenant explicitly, like the store does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from integrations import records as r
from integrations.oauth import TokenSet

# A fixed "now" for scenarios: far enough from the wall clock that an accidental utcnow() shows up.
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ACCESS_TOKEN = "access-SECRET-0123456789"
REFRESH_TOKEN = "refresh-SECRET-9876543210"
CLIENT_SECRET = "client-SECRET-abcdef"


def settings_for(db_url: str, tmp_path: Path, *keys: str, allow_private: bool = True) -> Settings:
    """Settings on `db_url` with explicit Fernet keys (newest first) and private webhook targets allowed."""
    return Settings(
        env="test",
        instance_path=str(tmp_path / "instance"),
        database_url=db_url,
        token_keys=tuple(keys) or (Fernet.generate_key().decode(),),
        webhooks_allow_private_targets=allow_private,
    )


@contextmanager
def session(db_url: str) -> Iterator[Session]:
    """One committed transaction (the store's own helper; named for readability in tests)."""
    with transaction(db_url) as s:
        yield s


def tenant(s: Session, slug: str = "acme", crm: str | None = "salesforce") -> int:
    return store.ensure_tenant(s, slug, slug.title(), primary_crm=crm).id


def installation(
    s: Session,
    vault: Vault,
    tenant_id: int,
    vendor: str = "salesforce",
    *,
    settings: dict[str, Any] | None = None,
) -> m.Installation:
    return store.save_installation(
        s,
        vault,
        tenant_id=tenant_id,
        vendor=vendor,
        base_url=f"https://{vendor}.example.test",
        token_url=f"https://{vendor}.example.test/oauth/token",
        client_id=f"{vendor}-client",
        client_secret=CLIENT_SECRET,
        tokens=TokenSet(
            access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, expires_at=T0 + timedelta(hours=1)
        ),
        settings=settings,
    )


def account_row(s: Session, tenant_id: int, vendor: str, external_id: str) -> m.Account:
    row = s.scalar(
        select(m.Account).where(
            m.Account.tenant_id == tenant_id, m.Account.vendor == vendor, m.Account.external_id == external_id
        )
    )
    assert row is not None, f"no {vendor} account {external_id} in tenant {tenant_id}"
    return row


def ticket_row(s: Session, tenant_id: int, external_id: str, vendor: str = "zendesk") -> m.Ticket:
    row = s.scalar(
        select(m.Ticket).where(
            m.Ticket.tenant_id == tenant_id, m.Ticket.vendor == vendor, m.Ticket.external_id == external_id
        )
    )
    assert row is not None, f"no {vendor} ticket {external_id} in tenant {tenant_id}"
    return row


def crm_account(
    s: Session,
    tenant_id: int,
    external_id: str,
    name: str = "",
    *,
    vendor: r.Vendor = "salesforce",
    domains: tuple[str, ...] = (),
    cross_ref: str | None = None,
    deleted: bool = False,
    arr: Decimal | None = None,
    arr_prev: Decimal | None = None,
    renewal_date: date | None = None,
    metrics: dict[str, Any] | None = None,
    updated_at: datetime = T0,
) -> int:
    """A CRM account (or, with vendor="zendesk", an organization); returns the store's account id."""
    store.upsert_records(
        s,
        tenant_id,
        [
            r.AccountRecord(
                vendor=vendor,
                external_id=external_id,
                name=name or f"Account {external_id}",
                domains=domains,
                cross_ref=cross_ref,
                arr=arr,
                arr_prev=arr_prev,
                renewal_date=renewal_date,
                metrics=metrics or {},
                updated_at=updated_at,
                deleted=deleted,
            )
        ],
    )
    return account_row(s, tenant_id, vendor, external_id).id


def org(
    s: Session,
    tenant_id: int,
    external_id: str,
    name: str = "",
    *,
    domains: tuple[str, ...] = (),
    cross_ref: str | None = None,
    deleted: bool = False,
) -> int:
    """A Zendesk organization; returns the store's account id."""
    return crm_account(
        s,
        tenant_id,
        external_id,
        name,
        vendor="zendesk",
        domains=domains,
        cross_ref=cross_ref,
        deleted=deleted,
    )


def ticket(
    s: Session,
    tenant_id: int,
    external_id: str,
    account_external_id: str | None,
    *,
    created: datetime = T0,
    vendor: r.Vendor = "zendesk",
    **fields: Any,
) -> None:
    fields.setdefault("status", "open")
    fields.setdefault("updated_at", max(created, fields.get("solved_at") or created))
    store.upsert_records(
        s,
        tenant_id,
        [
            r.TicketRecord(
                vendor=vendor,
                external_id=external_id,
                account_external_id=account_external_id,
                created_at=created,
                **fields,
            )
        ],
    )


def comment(
    s: Session,
    tenant_id: int,
    external_id: str,
    ticket_external_id: str,
    body: str,
    *,
    role: str = "customer",
    created: datetime = T0,
    vendor: r.Vendor = "zendesk",
    deleted: bool = False,
) -> None:
    store.upsert_records(
        s,
        tenant_id,
        [
            r.CommentRecord(
                vendor=vendor,
                external_id=external_id,
                ticket_external_id=ticket_external_id,
                author_role=role,  # type: ignore[arg-type]
                body=body,
                created_at=created,
                deleted=deleted,
            )
        ],
    )


def survey(
    s: Session,
    tenant_id: int,
    external_id: str,
    kind: str,
    score: float,
    *,
    responded: datetime = T0,
    vendor: r.Vendor = "salesforce",
    account_external_id: str | None = None,
    ticket_external_id: str | None = None,
    deleted: bool = False,
) -> None:
    store.upsert_records(
        s,
        tenant_id,
        [
            r.SurveyRecord(
                vendor=vendor,
                external_id=external_id,
                kind=kind,  # type: ignore[arg-type]
                score=score,
                account_external_id=account_external_id,
                ticket_external_id=ticket_external_id,
                responded_at=responded,
                updated_at=responded,
                deleted=deleted,
            )
        ],
    )


def deal(
    s: Session,
    tenant_id: int,
    external_id: str,
    account_external_id: str,
    *,
    kind: str = "renewal",
    stage: str = "",
    is_closed: bool = False,
    is_won: bool = False,
    close_date: date | None = None,
    created: datetime | None = None,
    updated: datetime | None = None,
    vendor: r.Vendor = "salesforce",
) -> None:
    store.upsert_records(
        s,
        tenant_id,
        [
            r.DealRecord(
                vendor=vendor,
                external_id=external_id,
                account_external_id=account_external_id,
                name=f"Deal {external_id}",
                kind=kind,  # type: ignore[arg-type]
                stage=stage,
                is_closed=is_closed,
                is_won=is_won,
                close_date=close_date,
                created_at=created,
                updated_at=updated or created or T0 - 200 * DAY,
            )
        ],
    )


def contact(
    s: Session,
    tenant_id: int,
    external_id: str,
    account_external_id: str,
    *,
    last_contacted: datetime | None,
    vendor: r.Vendor = "salesforce",
) -> None:
    store.upsert_records(
        s,
        tenant_id,
        [
            r.ContactRecord(
                vendor=vendor,
                external_id=external_id,
                account_external_id=account_external_id,
                email=f"{external_id}@example.test",
                name=f"Contact {external_id}",
                last_contacted_at=last_contacted,
                updated_at=T0 - 300 * DAY,
            )
        ],
    )


# ---- webhooks ---------------------------------------------------------------------------------------


def endpoint(s: Session, vault: Vault, tenant_id: int, url: str, secrets: list[str]) -> int:
    """An enabled endpoint with known secrets (webhook_admin.add_endpoint makes random ones)."""
    ep = m.WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        event_types=["account.band_changed", "account.score_changed"],
        secrets_enc=vault.encrypt_json(secrets),
        enabled=True,
        created_at=T0,
    )
    s.add(ep)
    s.flush()
    return ep.id


def event(
    s: Session,
    tenant_id: int,
    endpoint_ids: list[int],
    *,
    msg_id: str,
    created: datetime = T0,
    due: datetime = T0,
) -> int:
    """A queued band_changed event with one pending delivery per endpoint; returns the event id."""
    payload = {"type": "account.band_changed", "timestamp": created.isoformat(), "data": {"name": msg_id}}
    ev = m.WebhookEvent(
        tenant_id=tenant_id, msg_id=msg_id, type="account.band_changed", payload=payload, created_at=created
    )
    s.add(ev)
    s.flush()
    for ep_id in endpoint_ids:
        s.add(
            m.WebhookDelivery(
                tenant_id=tenant_id,
                endpoint_id=ep_id,
                event_id=ev.id,
                status="pending",
                attempts=0,
                next_attempt_at=due,
                created_at=created,
                updated_at=created,
            )
        )
    s.flush()
    return ev.id


@contextmanager
def running(receiver: Any) -> Iterator[Any]:
    """Serve a tests.webhooks.receiver.Receiver with werkzeug on 127.0.0.1, a free port, in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    receiver.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class SecretReceiver:
    """A WSGI receiver that verifies with `standardwebhooks` using the one secret it was given (what a
    customer's receiver holds); 204 when verified, 401 otherwise. Serve it with `running`."""

    def __init__(self, secret: str) -> None:
        import threading

        self.secret = secret
        self.base_url = ""
        self.hits: list[tuple[dict[str, str], bytes, bool]] = []
        self.release = threading.Event()

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        import standardwebhooks

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            standardwebhooks.Webhook(self.secret).verify(body, headers)
            ok = True
        except Exception:  # noqa: BLE001 - the package raises several unrelated types
            ok = False
        self.hits.append((headers, body, ok))
        start_response("204 No Content" if ok else "401 Unauthorized", [])
        return [b""]
