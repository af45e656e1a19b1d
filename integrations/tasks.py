"""Vendor-neutral play tasks: what the write-back asks an adapter to create or close, and what came back.

`key` is the product's id for the operation (a play task id); every result echoes it, so the caller never
depends on a vendor answering in request order. Salesforce creates a Task on the Account, HubSpot a task
associated with the company, Zendesk (optional) a ticket on the organization for the support lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCreate:
    """A task for the owner of a CRM account (the adapter looks the owner up at write time)."""

    key: str
    account_external_id: str
    subject: str
    body: str
    due: date


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskClose:
    key: str
    task_external_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCreate:
    """A help-desk ticket on the account's organization (Zendesk), due with the CRM task."""

    key: str
    organization_external_id: str
    subject: str
    body: str
    due: date
    reference: str = ""  # our own id for the ticket (the play task), recorded on it where the vendor can


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    key: str
    ok: bool
    external_id: str | None = None  # the vendor's id of the created task/ticket
    error_code: str | None = None
    message: str | None = None
    retryable: bool = False
