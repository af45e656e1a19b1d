"""The OAuth apps healthscore uses per vendor: endpoints, scopes (each with the reason we ask for it), the
app configuration an install runs with, and its validation. Pure data and checks; the flow is installs.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    why: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class VendorSpec:
    vendor: str
    label: str
    authorize_path: str
    token_path: str
    scopes: tuple[Scope, ...]
    base_hint: str

    @property
    def scope_string(self) -> str:
        return " ".join(s.name for s in self.scopes)


SPECS: dict[str, VendorSpec] = {
    "salesforce": VendorSpec(
        "salesforce",
        "Salesforce",
        "/services/oauth2/authorize",
        "/services/oauth2/token",
        (
            Scope("api", "read Accounts, Opportunities, Cases and surveys; write the Health_* fields"),
            Scope("refresh_token", "keep syncing after the first hour without asking you again"),
        ),
        "https://login.salesforce.com (or https://test.salesforce.com, or your My Domain URL)",
    ),
    "hubspot": VendorSpec(
        "hubspot",
        "HubSpot",
        "/oauth/authorize",
        "/oauth/v1/token",
        (
            Scope("oauth", "HubSpot requires it for every app"),
            Scope("crm.objects.companies.read", "read companies (your accounts)"),
            Scope("crm.objects.companies.write", "write the healthscore_* company properties"),
            Scope("crm.objects.contacts.read", "match contacts' e-mail domains to companies"),
            Scope("crm.objects.contacts.write", "create tasks for company owners when a play fires"),
            Scope("crm.objects.deals.read", "read renewals and expansion deals"),
            Scope("crm.objects.owners.read", "show company owners by name and match reps by e-mail"),
            Scope("tickets", "read tickets for support signals"),
            Scope("crm.objects.feedback_submissions.read", "read NPS and CSAT survey answers"),
            Scope("crm.schemas.companies.read", "check that our company properties exist"),
            Scope("crm.schemas.contacts.read", "read contact property definitions"),
            Scope("crm.schemas.deals.read", "read deal property definitions (stages, amounts)"),
            Scope("crm.schemas.companies.write", "create the healthscore property group and properties"),
        ),
        "https://app.hubspot.com (API calls go to https://api.hubapi.com)",
    ),
    "zendesk": VendorSpec(
        "zendesk",
        "Zendesk",
        "/oauth/authorizations/new",
        "/oauth/tokens",
        (
            Scope("read", "read tickets, comments, organizations, users and CSAT ratings"),
            Scope("write", "create and fill the healthscore_* organization fields; register our webhook"),
        ),
        "https://YOUR-SUBDOMAIN.zendesk.com",
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AppConfig:
    """The vendor OAuth app an install uses."""

    vendor: str
    base_url: str  # where the user logs in: SF login host, HubSpot app host, Zendesk account URL
    client_id: str
    client_secret: str
    api_base_url: str = ""  # HubSpot API host when it differs from base_url
    ca_file: str | None = None

    @property
    def api_base(self) -> str:
        return (self.api_base_url or self.base_url).rstrip("/")


def oauth_apps_from_sandbox(credentials: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Connect-form defaults from `SandboxSet.credentials()` / `healthscore sandbox serve` output.

    Put the result in `app.config["OAUTH_APPS"]` (or write it as JSON to instance/oauth-apps.json) and the
    connect pages come pre-filled, so a demo admin only clicks Continue and Allow.
    """
    out: dict[str, dict[str, str]] = {}
    for vendor in SPECS:
        creds = credentials.get(vendor) or {}
        if creds.get("base_url"):
            out[vendor] = {
                "base_url": str(creds["base_url"]),
                "client_id": str(creds.get("client_id", "")),
                "client_secret": str(creds.get("client_secret", "")),
                "ca_file": str(credentials.get("ca_file") or ""),
            }
    return out


def config_problems(app: AppConfig) -> list[str]:
    problems = []
    if app.vendor not in SPECS:
        problems.append(f"unknown vendor {app.vendor!r}")
    for name, value in (("base URL", app.base_url), ("API base URL", app.api_base_url)):
        if value and urlsplit(value).scheme not in {"https", "http"}:
            problems.append(f"the {name} must start with https://")
        elif (
            value
            and urlsplit(value).scheme == "http"
            and urlsplit(value).hostname not in {"127.0.0.1", "localhost"}
        ):
            problems.append(f"the {name} must use https (http only for localhost)")
    if not app.base_url:
        problems.append("enter the base URL")
    if not app.client_id.strip():
        problems.append("enter the client id of your OAuth app")
    if not app.client_secret.strip():
        problems.append("enter the client secret of your OAuth app")
    return problems
