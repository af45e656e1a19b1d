"""Salesforce sandbox: constants, the error type (`[{message, errorCode, fields}]`), field types per
sObject (describe and SOQL type checks) and the id sequence behind query locators and new records.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.sandbox.context import VendorState
from integrations.sandbox.ids import _B62

VENDOR = "salesforce"
API_VERSION = "59.0"
DATA = f"/services/data/v{API_VERSION}"
PAGE_SIZE = 2000
MIN_BATCH = 200
COLLECTION_LIMIT = 200
DAILY_API_LIMIT = 15000
ACCESS_TTL = timedelta(hours=2)
CODE_TTL = timedelta(minutes=15)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
MAX_LOCATORS = 200
SURVEY_OBJECT = "Survey_Response__c"
HISTORY_OBJECT = "AccountHistory"
# Types of fields SOQL cannot filter on ("field 'NewValue' can not be filtered in a query call").
UNFILTERABLE = {"anyType"}


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------


class SalesforceApiError(Exception):
    """An error Salesforce reports as `[{"message","errorCode","fields"}]` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, Any]]:
        out: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            out["fields"] = self.fields
        return [out]


def _malformed(soql: str, pos: int, what: str) -> SalesforceApiError:
    # Salesforce echoes the query, points at the column and names the token it choked on.
    excerpt = soql.replace("\n", " ")
    msg = f"\n{excerpt}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{what}"
    return SalesforceApiError(400, "MALFORMED_QUERY", msg)


def _invalid_field(soql: str, pos: int, name: str, sobject: str) -> SalesforceApiError:
    msg = (
        f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\nNo such column '{name}' on entity "
        f"'{sobject}'. If you are attempting to use a custom field, be sure to append the '__c' after the "
        "custom field name. Please reference your WSDL or the describe call for the appropriate names."
    )
    return SalesforceApiError(400, "INVALID_FIELD", msg)


# ----------------------------------------------------------------------------------------------------------
# Schema: field types per sObject (describe + SOQL type checks)
# ----------------------------------------------------------------------------------------------------------

_AUDIT = [("CreatedDate", "datetime"), ("LastModifiedDate", "datetime"), ("SystemModstamp", "datetime")]
STANDARD_FIELDS: dict[str, list[tuple[str, str]]] = {
    "Account": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("Name", "string"),
        ("Type", "picklist"),
        ("Industry", "picklist"),
        ("Website", "url"),
        ("AnnualRevenue", "currency"),
        ("OwnerId", "reference"),
        *_AUDIT,
        ("Segment__c", "picklist"),
        ("Plan__c", "picklist"),
        ("Renewal_Date__c", "date"),
        ("ARR_Prior_Year__c", "currency"),
        ("Active_Users__c", "double"),
        ("Licensed_Seats__c", "double"),
        ("Zendesk_Organization_Id__c", "string"),
    ],
    "Contact": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("AccountId", "reference"),
        ("FirstName", "string"),
        ("LastName", "string"),
        ("Name", "string"),
        ("Email", "email"),
        ("Title", "string"),
        ("LastActivityDate", "date"),
        *_AUDIT,
    ],
    "Opportunity": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("AccountId", "reference"),
        ("Name", "string"),
        ("Type", "picklist"),
        ("StageName", "picklist"),
        ("Amount", "currency"),
        ("CloseDate", "date"),
        ("IsClosed", "boolean"),
        ("IsWon", "boolean"),
        ("Probability", "percent"),
        *_AUDIT,
    ],
    "Case": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("CaseNumber", "string"),
        ("AccountId", "reference"),
        ("Subject", "string"),
        ("Description", "textarea"),
        ("Status", "picklist"),
        ("Priority", "picklist"),
        ("IsEscalated", "boolean"),
        ("Origin", "picklist"),
        ("SuppliedEmail", "email"),
        ("IsClosed", "boolean"),
        ("ClosedDate", "datetime"),
        *_AUDIT,
    ],
    "CaseComment": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("ParentId", "reference"),
        ("CommentBody", "textarea"),
        ("IsPublished", "boolean"),
        ("CreatedById", "reference"),
        *_AUDIT,
    ],
    "EmailMessage": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("ParentId", "reference"),
        ("Incoming", "boolean"),
        ("Subject", "string"),
        ("TextBody", "textarea"),
        ("HtmlBody", "textarea"),
        ("FromAddress", "email"),
        ("ToAddress", "email"),
        ("MessageDate", "datetime"),
        ("Status", "picklist"),
        *_AUDIT,
    ],
    SURVEY_OBJECT: [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("Name", "string"),
        ("Type__c", "picklist"),
        ("Score__c", "double"),
        ("Comment__c", "textarea"),
        ("Account__c", "reference"),
        ("Case__c", "reference"),
        ("Contact_Email__c", "email"),
        ("Responded_At__c", "datetime"),
        *_AUDIT,
    ],
    "User": [("Id", "id"), ("Name", "string"), ("Email", "email"), ("UserType", "picklist"), *_AUDIT],
    # Field history of the tracked Account fields (render.render_account_history). History rows are never
    # modified, so there is no LastModifiedDate or SystemModstamp; OldValue/NewValue are anyType (a number
    # field's values come back as JSON numbers) and cannot be filtered on.
    HISTORY_OBJECT: [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("AccountId", "reference"),
        ("CreatedById", "reference"),
        ("CreatedDate", "datetime"),
        ("Field", "picklist"),
        ("DataType", "picklist"),
        ("OldValue", "anyType"),
        ("NewValue", "anyType"),
    ],
    # Tasks exist only when our product creates them (plays); tasks.py writes them, render.py lists them.
    "Task": [
        ("Id", "id"),
        ("IsDeleted", "boolean"),
        ("WhatId", "reference"),
        ("OwnerId", "reference"),
        ("Subject", "string"),
        ("Description", "textarea"),
        ("ActivityDate", "date"),
        ("Status", "picklist"),
        ("Priority", "picklist"),
        ("IsClosed", "boolean"),
        *_AUDIT,
    ],
}
# relationship name -> (parent sObject, foreign-key field on the child)
RELATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "Account": {"Owner": ("User", "OwnerId")},
    "Contact": {"Account": ("Account", "AccountId")},
    "Opportunity": {"Account": ("Account", "AccountId")},
    "Case": {"Account": ("Account", "AccountId")},
    "CaseComment": {"Parent": ("Case", "ParentId"), "CreatedBy": ("User", "CreatedById")},
    "EmailMessage": {"Parent": ("Case", "ParentId")},
    SURVEY_OBJECT: {"Account__r": ("Account", "Account__c"), "Case__r": ("Case", "Case__c")},
    "User": {},
    HISTORY_OBJECT: {"Account": ("Account", "AccountId"), "CreatedBy": ("User", "CreatedById")},
    "Task": {"What": ("Account", "WhatId"), "Owner": ("User", "OwnerId")},
}
KEY_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Case": "500",
    "CaseComment": "00a",
    "EmailMessage": "02s",
    SURVEY_OBJECT: "0Mr",
    "User": "005",
    "Task": "00T",
    HISTORY_OBJECT: "017",
}
# Tooling API Metadata.type -> describe type
CUSTOM_TYPES = {
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Picklist": "picklist",
    "DateTime": "datetime",
    "Date": "date",
    "Checkbox": "boolean",
}
NUMERIC = {"double", "currency", "percent", "int"}
STRINGY = {"id", "reference", "string", "textarea", "picklist", "email", "url", "phone"}


def field_types(vs: VendorState, sobject: str) -> dict[str, str]:
    """Field name -> describe type for `sobject`, with our custom fields on Account."""
    out = dict(STANDARD_FIELDS[sobject])
    if sobject == "Account":
        for name, meta in vs.custom_fields.items():
            out[name] = CUSTOM_TYPES.get(str(meta.get("type")), "string")
    return out


def _canonical(sobject_fields: dict[str, str]) -> dict[str, str]:
    return {name.lower(): name for name in sobject_fields}


def _b62(n: int) -> str:
    digits = ""
    while True:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
        if n == 0:
            return digits


def _next_seq(vs: VendorState) -> int:
    vs.extra["seq"] = int(vs.extra.get("seq", 0)) + 1
    return int(vs.extra["seq"])
