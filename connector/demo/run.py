"""The embedded default: two demo tenants installed against the vendor sandboxes, a demo webhook
receiver, and one whole pass. `healthscore demo` is a thin command around `prepare` and `run`."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, request
from sqlalchemy import select

from connector.admin.webhooks import add_endpoint
from connector.config import Settings
from connector.demo.emulator import Emulator, record_world
from connector.installs.vault import Vault
from connector.store import models as m
from connector.store import repo as store
from connector.store.db import transaction
from connector.store.repo import audit
from integrations.oauth import TokenSet

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "healthscore-demo"  # noqa: S105 - printed for the demo sign-in, sandbox data only
# Contoso first: both tenants share the sandbox Zendesk and only Northwind writes into it. Zendesk's export
# leaves out the last minute of changes, and the sandbox clock stands still between ticks, so organizations
# Northwind has just written would stay out of Contoso's first export until the next tick.
TENANTS = (
    {"slug": "contoso", "name": "Contoso (HubSpot + Zendesk)", "crm": "hubspot"},
    {"slug": "northwind", "name": "Northwind (Salesforce + Zendesk)", "crm": "salesforce"},
)
TOKEN_PATHS = {
    "salesforce": "/services/oauth2/token",
    "hubspot": "/oauth/v1/token",
    "zendesk": "/oauth/tokens",
}


def credentials_from(sandbox_url: str) -> dict[str, Any]:
    """The credentials object of an already running sandbox (as `healthscore sandbox serve` printed it)."""
    return Emulator(sandbox_url).credentials()


@dataclass(slots=True)
class Receiver:
    """A local webhook receiver for the demo: verifies each event with the `standardwebhooks` package."""

    secrets: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    url: str = ""
    _server: Any = None

    def start(self) -> Receiver:
        from werkzeug.serving import make_server

        app = Flask("healthscore-demo-receiver")

        @app.post("/hooks")
        def hooks() -> tuple[str, int]:
            from standardwebhooks.webhooks import Webhook, WebhookVerificationError

            body = request.get_data()
            for secret in self.secrets:
                try:
                    Webhook(secret).verify(body, dict(request.headers))
                except WebhookVerificationError:
                    continue
                self.received.append(json.loads(body))
                return "", 204
            self.rejected += 1
            return "bad signature", 400

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="demo-receiver").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()


def prepare(settings: Settings, creds: dict[str, Any], receiver_url: str | None) -> dict[str, Any]:
    """Create (or refresh) the demo tenants, installations, sign-ins and webhook endpoint. Idempotent."""
    from connector.installs.users import create_user

    vault = Vault(settings)
    out: dict[str, Any] = {"tenants": [], "users": [], "webhook_secrets": []}
    with transaction(settings.sqlalchemy_url) as session:
        for spec in TENANTS:
            tenant = store.ensure_tenant(session, spec["slug"], spec["name"], primary_crm=spec["crm"])
            for vendor in (spec["crm"], "zendesk"):
                c = creds[vendor]
                store.save_installation(
                    session, vault, tenant_id=tenant.id, vendor=vendor, base_url=c["base_url"],
                    token_url=c["base_url"].rstrip("/") + TOKEN_PATHS[vendor], client_id=c["client_id"],
                    client_secret=c["client_secret"],
                    tokens=TokenSet(access_token=c["access_token"], refresh_token=c.get("refresh_token")),
                    ca_file=creds.get("ca_file"), vendor_account=c.get("account"),
                    settings={
                        "sandbox_admin": creds.get("admin"),
                        # "Open in Salesforce/HubSpot/Zendesk" links land on the emulators' read-only record
                        # pages at the vendors' own deep-link paths, served on the control API's plain-HTTP
                        # port (the vendor APIs serve TLS with a CA no browser trusts; they have no pages).
                        "web_url": creds.get("admin"),
                        # One sandbox Zendesk serves both demo tenants; only Northwind writes into it.
                        "write_back": not (vendor == "zendesk" and spec["slug"] != "northwind"),
                    },
                )  # fmt: skip
            email = f"admin@{spec['slug']}.demo"
            if session.scalar(select(m.User).where(m.User.email == email)) is None:
                create_user(session, tenant.id, email, "admin", password=DEMO_PASSWORD, name="Demo admin")
            out["users"].append({"email": email, "password": DEMO_PASSWORD, "tenant": spec["slug"]})
            out["tenants"].append(spec["slug"])
            if receiver_url:
                out["webhook_secrets"] += _demo_endpoint(session, vault, tenant.id, receiver_url)
    if creds.get("admin"):
        # Product code reads the simulated clock and the book's truth from the store, never the emulator.
        record_world(settings.sqlalchemy_url, str(creds["admin"]))
    return out


DEMO_RECEIVER = "demo receiver"  # the endpoint's description: how a later run finds the one it made


def _demo_endpoint(session: Any, vault: Vault, tenant_id: int, receiver_url: str) -> list[str]:
    """The tenant's demo-receiver endpoint, pointed at this run's receiver; returns the secrets that sign.

    The receiver listens on a new port every run. Re-running the demo on the same instance (after Ctrl+C,
    say) used to add another endpoint each time while the earlier ones pointed at ports nobody listened on
    and their deliveries failed for ever. Now the first demo endpoint moves to the new address, is enabled
    again and keeps its secret and its queued deliveries; endpoints earlier runs left beside it are
    disabled, saying why (kept, not deleted: their delivery history stays readable).
    """
    ours = session.scalars(
        select(m.WebhookEndpoint)
        .where(m.WebhookEndpoint.tenant_id == tenant_id, m.WebhookEndpoint.description == DEMO_RECEIVER)
        .order_by(m.WebhookEndpoint.id)
    ).all()
    if not ours:
        _, secret = add_endpoint(
            session,
            vault,
            tenant_id,
            receiver_url,
            description=DEMO_RECEIVER,
            allow_private=True,
            actor="demo",
        )
        return [secret]
    kept, *older = ours
    if kept.url != receiver_url or not kept.enabled:
        audit(session, tenant_id, "demo", "webhook.endpoint_moved", target=receiver_url, old_url=kept.url)
        kept.url, kept.enabled, kept.disabled_reason = receiver_url, True, None
    for ep in older:
        if ep.enabled:
            ep.enabled = False
            ep.disabled_reason = "left by an earlier demo run; the demo receiver is now the first endpoint"
    return [str(x) for x in vault.decrypt_json(kept.secrets_enc)]


# Which demo tenant receives each vendor's webhooks (the sandbox has one webhook URL per vendor; one
# sandbox Zendesk serves both tenants and only Northwind writes into it).
WEBHOOK_TENANTS = {"salesforce": "northwind", "hubspot": "contoso", "zendesk": "northwind"}


def subscribe_sandbox_webhooks(
    settings: Settings, creds: dict[str, Any], public_base_url: str
) -> dict[str, Any]:
    """Point each sandbox vendor's webhooks at our inbound endpoints and store what verifying them needs:
    a fresh Zendesk signing secret (encrypted), the HubSpot portal id and the Salesforce org id
    (`vendor_account`), and a per-install Salesforce URL token (`settings["inbound_token"]`).

    Run after `prepare` (which resets installation settings). Returns {vendor: {"tenant", "url"}} with the
    Salesforce token redacted."""
    import secrets

    admin = str(creds["admin"]).rstrip("/")
    base = public_base_url.rstrip("/")
    emulator = Emulator(admin, creds.get("ca_file"))
    config = emulator.webhook_config()
    vault = Vault(settings)
    out: dict[str, Any] = {}
    with transaction(settings.sqlalchemy_url) as session:
        for vendor, slug in WEBHOOK_TENANTS.items():
            inst = session.scalar(
                select(m.Installation)
                .join(m.Tenant, m.Tenant.id == m.Installation.tenant_id)
                .where(m.Tenant.slug == slug, m.Installation.vendor == vendor)
            )
            if inst is None:
                continue
            secret: str | None = None
            url = f"{base}/inbound/{vendor}/{slug}"
            if vendor == "zendesk":
                secret = secrets.token_urlsafe(32)
                inst.webhook_secret_enc = vault.encrypt(secret)
            elif vendor == "hubspot":
                inst.vendor_account = str(creds["hubspot"].get("portal_id") or _hubspot_portal(creds))
                secret = creds["hubspot"]["client_secret"]  # HubSpot signs with the app's client secret
            else:
                inst.vendor_account = config["salesforce"]["organization_id"]
                from connector.realtime.inbound import inbound_token, set_inbound_token

                token = inbound_token(inst, vault) or secrets.token_urlsafe(24)
                set_inbound_token(inst, vault, token)  # encrypted, like every other secret
                url = f"{url}/{token}"
            emulator.subscribe(vendor, url, secret)
            out[vendor] = {
                "tenant": slug,
                "url": url.rsplit("/", 1)[0] + "/…" if vendor == "salesforce" else url,
            }
    return out


def _hubspot_portal(creds: dict[str, Any]) -> str:
    """The portal (hub) id behind the install's access token, as HubSpot's token-info endpoint reports it."""
    hub = creds["hubspot"]
    resp = requests.get(
        f"{hub['base_url'].rstrip('/')}/oauth/v1/access-tokens/{hub['access_token']}",
        timeout=10,
        verify=creds.get("ca_file") or True,
    )
    resp.raise_for_status()
    return str(resp.json()["hub_id"])


def add_demo_people(settings: Settings) -> list[dict[str, str]]:
    """After the first pass: per demo tenant an account rep signed in as a real CRM owner (so "My accounts"
    lists that owner's book) and a support lead. Owners differ per tenant (an e-mail has one tenant)."""
    from sqlalchemy import func

    from connector.installs.users import create_user

    people: list[dict[str, str]] = []
    taken: set[str] = set()
    with transaction(settings.sqlalchemy_url) as session:
        taken.update(e.casefold() for e in session.scalars(select(m.User.email)))
        for spec in TENANTS:
            tenant = store.tenants(session, spec["slug"])[0]
            owners = session.execute(
                select(m.Account.owner_email, func.count())
                .where(m.Account.tenant_id == tenant.id, m.Account.owner_email.is_not(None))
                .group_by(m.Account.owner_email)
                .order_by(func.count().desc(), m.Account.owner_email)
            ).all()
            existing = session.scalar(
                select(m.User.email)
                .where(m.User.tenant_id == tenant.id, m.User.role == "rep")
                .order_by(m.User.id)
            )
            rep = existing or next((str(e) for e, _ in owners if e and str(e).casefold() not in taken), None)
            wanted = [(rep, "rep", "Account rep")] if rep else []
            wanted.append((f"support@{spec['slug']}.demo", "support_lead", "Support lead"))
            for email, role, label in wanted:
                if email.casefold() not in taken:
                    create_user(session, tenant.id, email, role, password=DEMO_PASSWORD, name=label)
                    taken.add(email.casefold())
                people.append(
                    {"email": email, "password": DEMO_PASSWORD, "tenant": spec["slug"], "role": label}
                )
    return people
