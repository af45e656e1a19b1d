"""Salesforce play tasks (pure builders): a Task on the Account for the account's owner, created and
completed through sObject Collections (POST / PATCH `composite/sobjects`, ≤ 200 records a call).

Task fields (Salesforce Object Reference, Task): `WhatId` (the Account), `OwnerId` (the assigned user; the
integration user would get it otherwise), `Subject` (255), `Description` (32,000), `ActivityDate` (the due
date, a date), `Status` ("Not Started" → "Completed"), `Priority`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from integrations.tasks import TaskClose, TaskCreate

OPEN_STATUS = "Not Started"
CLOSED_STATUS = "Completed"
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def valid_id(value: str) -> bool:
    """A 15/18-character Salesforce id (anything else never reaches a SOQL string)."""
    return bool(_ID.match(value))


def owners_query(account_ids: Iterable[str]) -> str:
    """SOQL for the current owner of each Account (ids validated by the caller with `valid_id`)."""
    quoted = ", ".join(f"'{i}'" for i in account_ids if valid_id(i))
    return f"SELECT Id, OwnerId FROM Account WHERE Id IN ({quoted})"


def owner_map(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Account id (15 and 18 characters) → OwnerId, from the owners query's records."""
    out: dict[str, str] = {}
    for row in rows:
        rid, owner = row.get("Id"), row.get("OwnerId")
        if isinstance(rid, str) and isinstance(owner, str):
            out[rid] = owner
            out[rid[:15]] = owner
    return out


def task_record(task: TaskCreate, owner_id: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "WhatId": task.account_external_id,
        "Subject": task.subject[:255],
        "Description": task.body[:32000],
        "ActivityDate": task.due.isoformat(),
        "Status": OPEN_STATUS,
        "Priority": "High",
    }
    if owner_id:
        record["OwnerId"] = owner_id
    return record


def close_record(task: TaskClose) -> dict[str, Any]:
    return {"attributes": {"type": "Task"}, "id": task.task_external_id, "Status": CLOSED_STATUS}
