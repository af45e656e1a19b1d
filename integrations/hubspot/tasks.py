"""HubSpot play tasks (pure builders): a task for the company owner, associated with the company, made
with `POST /crm/v3/objects/tasks/batch/create` (≤ 100 inputs) and completed with
`POST /crm/v3/objects/tasks/batch/update` (`hs_task_status: COMPLETED`).

Task properties (HubSpot "Activities | Tasks"): `hs_timestamp` (the due date; required), `hs_task_subject`,
`hs_task_body`, `hs_task_status` (NOT_STARTED … COMPLETED), `hs_task_priority`, `hs_task_type`,
`hubspot_owner_id` (the assignee). The association to the company is HUBSPOT_DEFINED type 192
(task → company). Each input carries `objectWriteTraceId` = our key, which HubSpot echoes on its result,
so results are matched by key, not by position (batch results are not guaranteed in request order).

`hs_task_body` (the task's Notes) is rich text: HubSpot stores and shows it as HTML (its editor saves
`<div …><br></div>`, and markup sent over the API is rendered, sanitised). Our body is plain text built from
CRM data (account names, driver texts, the play's next step), so it is sent HTML-escaped with `<br>` for
each line break (`body_html`): a company named `A & B <Ltd>` reads as written, markup in a name is shown as
text, and the lines stay lines (security audit 11, open item C).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from integrations.hubspot.mapping import HubRecord
from integrations.tasks import TaskClose, TaskCreate

TASK_TO_COMPANY = 192
OWNER = "hubspot_owner_id"
OPEN_STATUS = "NOT_STARTED"
CLOSED_STATUS = "COMPLETED"
BODY_LIMIT = 65000  # characters of hs_task_body we send (HubSpot's text properties hold 65,536)
_CUT_TAIL = re.compile(r"&[A-Za-z0-9#]*$|<[^>]*$")  # an entity or a tag cut in half at the limit


def body_html(text: str, limit: int = BODY_LIMIT) -> str:
    """Plain text as `hs_task_body` HTML: escaped (`&`, `<`, `>`, quotes), each line break a `<br>`, at most
    `limit` characters without an entity or a `<br>` cut in half."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = "<br>".join(html.escape(line) for line in lines)
    if len(out) <= limit:
        return out
    return _CUT_TAIL.sub("", out[:limit])


def due_timestamp(due: date) -> str:
    """`hs_timestamp` for a due date (midnight UTC; HubSpot takes ISO 8601 or epoch milliseconds)."""
    return f"{due.isoformat()}T00:00:00.000Z"


def task_input(task: TaskCreate, owner_id: str | None) -> dict[str, Any]:
    props = {
        "hs_timestamp": due_timestamp(task.due),
        "hs_task_subject": task.subject[:255],
        "hs_task_body": body_html(task.body),
        "hs_task_status": OPEN_STATUS,
        "hs_task_priority": "HIGH",
        "hs_task_type": "TODO",
    }
    if owner_id:
        props[OWNER] = owner_id
    return {
        "objectWriteTraceId": task.key,
        "properties": props,
        "associations": [
            {
                "to": {"id": task.account_external_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_COMPANY}],
            }
        ],
    }


def close_input(task: TaskClose) -> dict[str, object]:
    return {"id": task.task_external_id, "properties": {"hs_task_status": CLOSED_STATUS}}


def owners(companies: Iterable[HubRecord]) -> dict[str, str]:
    """Company id → hubspot_owner_id (companies without an owner are left out)."""
    return {c.id: str(c.properties[OWNER]) for c in companies if c.properties.get(OWNER)}
