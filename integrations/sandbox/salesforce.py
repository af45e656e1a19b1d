"""Salesforce REST API v59.0 sandbox: renders the Book as Salesforce sObjects for the unmodified simple-salesforce.

What it serves (docs: developer.salesforce.com REST API guide, OAuth web-server flow):
- OAuth 2.0: `/services/oauth2/authorize` (consent page, PKCE S256), `/services/oauth2/token`
  (authorization_code, refresh_token; `invalid_grant` as Salesforce sends it), `/services/oauth2/revoke`.
- `query/` and `queryAll/` with `nextRecordsUrl` paging (2,000 rows a page, `Sforce-Query-Options:
  batchSize=N` honoured for 200..2000) over a real SOQL subset (tokenizer + recursive-descent parser below).
- sObject describe (incl. our custom fields), single-record GET/PATCH, sObject Collections update
  (`PATCH composite/sobjects`, ≤200 records, allOrNone), Tooling API `POST tooling/sobjects/CustomField`,
  `limits/`, error bodies `[{"message","errorCode","fields"}]`, and `Sforce-Limit-Info` on every API call.
- Outbound Messages (SOAP `notifications`) for changed Accounts, Cases and Opportunities.

The Book is rendered on every request under `ctx.lock`; vendor-side state (tokens, our custom fields, the
values our product wrote, open query locators) lives in `ctx.vendors["salesforce"]`. Knobs tests may set in
`VendorState.extra`: `rotate_refresh` (refresh grants issue a new refresh token and revoke the old one),
`missing_permissions` ({"CustomizeApplication"}: Tooling field creation is refused with INSUFFICIENT_ACCESS),
`readonly_fields` (Account fields describe reports as not updateable; writes to them fail per record).
`org_id`/`user_id` are the identity behind every token (the Outbound Message `OrganizationId`).

How the Book maps (see the render_* functions): every Salesforce-present customer is an Account (custom fields
Segment__c, Plan__c, Renewal_Date__c, ARR_Prior_Year__c, Active_Users__c, Licensed_Seats__c and
Zendesk_Organization_Id__c when `cross_ref`); CRM-channel tickets are Cases; two in three Cases came in by
e-mail, so their public thread is EmailMessages (internal notes stay CaseComments) and the rest keep the whole
thread as CaseComments (customers as portal users); NPS and CRM-ticket CSAT are `Survey_Response__c` rows.
Deletes cascade (an Account's Contacts, Opportunities, Cases and their comments) and show in queryAll only.

This module holds the SOQL engine too: the sandbox's files are owned per vendor, so it cannot be split into a
sibling module without touching shared paths.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import flask
from werkzeug.exceptions import HTTPException

from integrations.sandbox.book import Book, Changes, Comment, Customer, Ticket
from integrations.sandbox.context import Fault, OAuthClient, SandboxContext, VendorState
from integrations.sandbox.ids import _B62, numeric_id, salesforce_id
from webhooks.inbound import SalesforceNotification, sign_salesforce_outbound
from webhooks.salesforce_om import MAX_NOTIFICATIONS

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


# ----------------------------------------------------------------------------------------------------------
# SOQL: tokenizer, recursive-descent parser, evaluator
# ----------------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # datetime|date|number|string|op|punct|ident|kw|eof
    text: str
    pos: int


def tokenize(soql: str) -> list[Token]:
    """Split a SOQL string into tokens; MALFORMED_QUERY on a character no token starts with."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        m = _TOKEN_RE.match(soql, pos)
        if not m:
            raise _malformed(soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = m.lastgroup or ""
        if kind != "ws":
            text = m.group()
            if kind == "ident" and text.upper() in KEYWORDS:
                kind, text = "kw", text.upper()
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(soql)))
    return tokens


@dataclass(frozen=True, slots=True)
class FieldRef:
    path: str  # as written, e.g. "Account.Name"
    pos: int


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # datetime|date|number|string|bool|null
    value: Any
    pos: int


@dataclass(frozen=True, slots=True)
class Cond:
    op: str  # and|or|not|cmp|in|like
    parts: tuple[Any, ...]


@dataclass(slots=True)
class Query:
    fields: list[FieldRef]
    sobject: str
    sobject_pos: int
    where: Cond | None = None
    order: list[tuple[FieldRef, bool, bool]] = field(default_factory=list)  # (field, desc, nulls_first)
    limit: int | None = None
    offset: int = 0


class Parser:
    """Recursive descent over the SOQL subset incremental reads need.

    query     := SELECT field {, field} FROM ident [WHERE condition] [ORDER BY order {, order}]
                 [LIMIT int] [OFFSET int]
    condition := term {AND term} | term {OR term}     (mixing AND/OR needs parentheses, as in SOQL)
    term      := NOT term | ( condition ) | field op literal | field [NOT] IN ( literal {, literal} )
                 | field LIKE string
    """

    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: Token | None = None) -> SalesforceApiError:
        tok = tok or self.peek()
        return _malformed(self.soql, tok.pos, f"unexpected token: '{tok.text}'")

    def accept_kw(self, kw: str) -> bool:
        if self.peek().kind == "kw" and self.peek().text == kw:
            self.i += 1
            return True
        return False

    def expect_kw(self, kw: str) -> None:
        if not self.accept_kw(kw):
            raise self.fail()

    def expect_punct(self, p: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.text != p:
            raise self.fail(tok)

    def field_ref(self) -> FieldRef:
        tok = self.next()
        if tok.kind != "ident":
            raise self.fail(tok)
        return FieldRef(tok.text, tok.pos)

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields = [self.field_ref()]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.next()
            fields.append(self.field_ref())
        self.expect_kw("FROM")
        obj = self.next()
        if obj.kind != "ident" or "." in obj.text:
            raise self.fail(obj)
        query = Query(fields=fields, sobject=obj.text, sobject_pos=obj.pos)
        if self.accept_kw("WHERE"):
            query.where = self.condition()
        if self.accept_kw("ORDER"):
            self.expect_kw("BY")
            query.order.append(self.order_item())
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.next()
                query.order.append(self.order_item())
        if self.accept_kw("LIMIT"):
            query.limit = self.integer()
        if self.accept_kw("OFFSET"):
            query.offset = self.integer()
        if self.peek().kind != "eof":
            raise self.fail()
        return query

    def integer(self) -> int:
        tok = self.next()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.fail(tok)
        return int(tok.text)

    def order_item(self) -> tuple[FieldRef, bool, bool]:
        ref = self.field_ref()
        desc = False
        if self.accept_kw("DESC"):
            desc = True
        else:
            self.accept_kw("ASC")
        nulls_first = not desc
        if self.accept_kw("NULLS"):
            if self.accept_kw("FIRST"):
                nulls_first = True
            else:
                self.expect_kw("LAST")
                nulls_first = False
        return ref, desc, nulls_first

    def condition(self) -> Cond:
        first = self.term()
        parts = [first]
        joiner: str | None = None
        while self.peek().kind == "kw" and self.peek().text in ("AND", "OR"):
            tok = self.next()
            if joiner is not None and tok.text != joiner:
                raise self.fail(tok)  # SOQL refuses `a AND b OR c` without parentheses
            joiner = tok.text
            parts.append(self.term())
        if joiner is None:
            return first
        return Cond(joiner.lower(), tuple(parts))

    def term(self) -> Cond:
        if self.accept_kw("NOT"):
            return Cond("not", (self.term(),))
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        ref = self.field_ref()
        nxt = self.peek()
        if nxt.kind == "op":
            self.next()
            op = "!=" if nxt.text == "<>" else nxt.text
            return Cond("cmp", (ref, op, self.literal()))
        negate = self.accept_kw("NOT")
        if self.accept_kw("IN"):
            self.expect_punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.next()
                values.append(self.literal())
            self.expect_punct(")")
            return Cond("in", (ref, tuple(values), negate))
        if negate:
            raise self.fail()
        if self.accept_kw("LIKE"):
            lit = self.literal()
            if lit.kind != "string":
                raise _malformed(self.soql, lit.pos, "LIKE needs a string literal")
            return Cond("like", (ref, lit))
        raise self.fail()

    def literal(self) -> Literal:
        tok = self.next()
        if tok.kind == "string":
            raw = tok.text[1:-1]
            return Literal("string", re.sub(r"\\(.)", r"\1", raw), tok.pos)
        if tok.kind == "number":
            return Literal("number", float(tok.text), tok.pos)
        if tok.kind == "datetime":
            return Literal("datetime", _parse_dt(tok.text), tok.pos)
        if tok.kind == "date":
            return Literal("date", date.fromisoformat(tok.text), tok.pos)
        if tok.kind == "kw" and tok.text in ("TRUE", "FALSE"):
            return Literal("bool", tok.text == "TRUE", tok.pos)
        if tok.kind == "kw" and tok.text == "NULL":
            return Literal("null", None, tok.pos)
        raise self.fail(tok)


def _parse_dt(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(slots=True)
class Resolved:
    """A field path checked against the schema: (relationship or None, canonical field, type)."""

    relation: str | None
    name: str
    type: str

    @property
    def key(self) -> str:
        return f"{self.relation}.{self.name}" if self.relation else self.name


def resolve_field(vs: VendorState, soql: str, sobject: str, ref: FieldRef) -> Resolved:
    """Check a (possibly relationship) field against the schema; INVALID_FIELD if it does not exist."""
    parts = ref.path.split(".")
    if len(parts) > 2:
        raise _invalid_field(soql, ref.pos, ref.path, sobject)
    if len(parts) == 2:
        rels = {r.lower(): r for r in RELATIONS[sobject]}
        rel = rels.get(parts[0].lower())
        if rel is None:
            raise _invalid_field(soql, ref.pos, ref.path, sobject)
        parent = RELATIONS[sobject][rel][0]
        types = field_types(vs, parent)
        name = _canonical(types).get(parts[1].lower())
        if name is None:
            raise _invalid_field(soql, ref.pos, ref.path, sobject)
        return Resolved(rel, name, types[name])
    types = field_types(vs, sobject)
    name = _canonical(types).get(parts[0].lower())
    if name is None:
        raise _invalid_field(soql, ref.pos, ref.path, sobject)
    return Resolved(None, name, types[name])


_TYPE_WORD = {"datetime": "dateTime", "date": "date", "boolean": "boolean", "number": "double"}


def _check_literal(soql: str, res: Resolved, lit: Literal) -> None:
    if lit.kind == "null":
        return
    ftype = res.type
    expected = (
        "datetime"
        if ftype == "datetime"
        else "date"
        if ftype == "date"
        else "bool"
        if ftype == "boolean"
        else "number"
        if ftype in NUMERIC
        else "string"
    )
    if lit.kind == expected:
        return
    word = _TYPE_WORD.get("boolean" if expected == "bool" else expected, "string")
    if expected == "string":
        msg = f"value of filter criterion for field '{res.key}' must be of type string and should be enclosed in quotes"
    else:
        msg = f"value of filter criterion for field '{res.key}' must be of type {word} and should not be enclosed in quotes"
    raise SalesforceApiError(
        400, "INVALID_FIELD", f"\n{soql}\n{' ' * lit.pos}^\nERROR at Row:1:Column:{lit.pos + 1}\n{msg}"
    )


@dataclass(slots=True)
class Compiled:
    query: Query
    select: list[Resolved]
    predicate: Callable[[dict[str, Any]], bool]
    order: list[tuple[Resolved, bool, bool]]


def compile_query(vs: VendorState, soql: str) -> Compiled:
    """Parse and type-check a SOQL string into a row predicate and a projection."""
    query = Parser(soql).parse()
    objects = {name.lower(): name for name in STANDARD_FIELDS if name != "User"}
    sobject = objects.get(query.sobject.lower())
    if sobject is None:
        raise SalesforceApiError(
            400,
            "INVALID_TYPE",
            f"\n{soql}\n{' ' * query.sobject_pos}^\nERROR at Row:1:Column:{query.sobject_pos + 1}\n"
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
        )
    query.sobject = sobject
    select = [resolve_field(vs, soql, sobject, ref) for ref in query.fields]
    predicate = _compile_cond(vs, soql, sobject, query.where) if query.where else (lambda row: True)
    order = [(resolve_field(vs, soql, sobject, ref), desc, nf) for ref, desc, nf in query.order]
    return Compiled(query, select, predicate, order)


def _value(row: dict[str, Any], res: Resolved) -> Any:
    if res.relation is None:
        return row.get(res.name)
    parent = row.get("__rel__", {}).get(res.relation)
    return None if parent is None else parent.get(res.name)


def _norm(value: Any, ftype: str) -> Any:
    # Text comparisons in SOQL are case-insensitive; ids are not.
    if isinstance(value, str) and ftype in STRINGY and ftype not in ("id", "reference"):
        return value.casefold()
    return value


def _compare(a: Any, op: str, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if a is None or b is None:
        return False
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _like(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def _compile_cond(vs: VendorState, soql: str, sobject: str, cond: Cond) -> Callable[[dict[str, Any]], bool]:
    if cond.op in ("and", "or"):
        subs = [_compile_cond(vs, soql, sobject, c) for c in cond.parts]
        if cond.op == "and":
            return lambda row: all(s(row) for s in subs)
        return lambda row: any(s(row) for s in subs)
    if cond.op == "not":
        sub = _compile_cond(vs, soql, sobject, cond.parts[0])
        return lambda row: not sub(row)
    res = resolve_field(vs, soql, sobject, cond.parts[0])
    if cond.op == "cmp":
        _, op, lit = cond.parts
        _check_literal(soql, res, lit)
        target = _norm(lit.value, res.type)
        return lambda row: _compare(_norm(_value(row, res), res.type), op, target)
    if cond.op == "in":
        _, lits, negate = cond.parts
        for lit in lits:
            _check_literal(soql, res, lit)
        targets = [_norm(lit.value, res.type) for lit in lits]
        return lambda row: (_norm(_value(row, res), res.type) in targets) != negate
    _, lit = cond.parts
    if res.type not in STRINGY:
        raise SalesforceApiError(400, "INVALID_FIELD", f"invalid operator on field '{res.key}': LIKE")
    rx = _like(lit.value)
    return lambda row: isinstance(_value(row, res), str) and bool(rx.match(_value(row, res)))


def order_rows(rows: list[dict[str, Any]], order: list[tuple[Resolved, bool, bool]]) -> list[dict[str, Any]]:
    """Stable multi-key sort with SOQL's NULLS FIRST/LAST; text sorts case-insensitively."""
    for res, desc, nulls_first in reversed(order):
        nulls = [r for r in rows if _value(r, res) is None]
        present = [r for r in rows if _value(r, res) is not None]
        present.sort(key=lambda r, res=res: _norm(_value(r, res), res.type), reverse=desc)  # type: ignore[misc]
        rows = nulls + present if nulls_first else present + nulls
    return rows


# ----------------------------------------------------------------------------------------------------------
# Rendering the Book as sObjects
# ----------------------------------------------------------------------------------------------------------

SEGMENTS = {"smb": "SMB", "mid_market": "Mid-Market", "enterprise": "Enterprise"}
STAGES = {
    "prospecting": ("Prospecting", 10),
    "qualification": ("Qualification", 20),
    "proposal": ("Proposal/Price Quote", 75),
    "negotiation": ("Negotiation/Review", 90),
    "closed_won": ("Closed Won", 100),
    "closed_lost": ("Closed Lost", 0),
}
OPP_TYPES = {"new_business": "New Customer", "renewal": "Renewal", "upsell": "Existing Customer - Upgrade"}
CASE_STATUS = {
    "new": "New",
    "open": "Working",
    "pending": "On Hold",
    "solved": "Resolved",
    "closed": "Closed",
}
CASE_PRIORITY = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Critical"}


def hashed_id(sobject: str, key: str) -> str:
    """An 18-char id from a hash, for keys whose trailing number is not unique (comments, users)."""
    n = int.from_bytes(hashlib.sha256(f"{sobject}:{key}".encode()).digest()[:8], "big") % (62**10)
    digits = ""
    for _ in range(10):
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return KEY_PREFIX[sobject] + "5g" + digits + "AAA"


def _latest(*stamps: datetime | None) -> datetime:
    return max(s for s in stamps if s is not None)


def _account_id(book: Book, customer_key: str) -> str | None:
    c = book.customers.get(customer_key)
    if c is None or not c.salesforce.present:
        return None
    return salesforce_id("Account", customer_key)


def _customer_deleted(c: Customer) -> datetime | None:
    return c.salesforce.deleted_at or c.deleted_at


def _user_row(name: str, email: str, user_type: str, created: datetime) -> dict[str, Any]:
    return {
        "Id": hashed_id("User", email.lower()),
        "Name": name,
        "Email": email,
        "UserType": user_type,
        "CreatedDate": created,
        "LastModifiedDate": created,
        "SystemModstamp": created,
    }


def _owner_email(owner: str) -> str:
    return owner.lower().replace(" ", ".") + "@sandbox-crm.example"


def _account_type(ctx: SandboxContext, c: Any) -> str:
    """A churned customer is a former customer from its outcome date on (sandbox README, ground truth)."""
    if c.outcome == "churned" and c.outcome_date is not None and c.outcome_date <= ctx.book.now.date():
        return "Former Customer"
    return "Customer - Direct"


def render_accounts(ctx: SandboxContext) -> list[dict[str, Any]]:
    vs = ctx.vendors[VENDOR]
    stamps: dict[str, datetime] = vs.extra.setdefault("modstamps", {})
    rows = []
    for c in ctx.book.customers.values():
        p = c.salesforce
        if not p.present:
            continue
        rid = salesforce_id("Account", c.key)
        deleted = _customer_deleted(c)
        modified = _latest(c.created_at, c.updated_at, p.updated_at, deleted, stamps.get(rid))
        row: dict[str, Any] = {
            "Id": rid,
            "IsDeleted": deleted is not None,
            "Name": p.name or c.name,
            "Type": _account_type(ctx, c),
            "Industry": c.industry,
            "Website": f"www.{p.domains[0]}" if p.domains else None,
            "AnnualRevenue": float(c.arr),
            "OwnerId": hashed_id("User", _owner_email(c.owner)),
            "CreatedDate": c.created_at,
            "LastModifiedDate": modified,
            "SystemModstamp": modified,
            "Segment__c": SEGMENTS.get(c.segment, c.segment),
            "Plan__c": c.plan,
            "Renewal_Date__c": c.renewal_date,
            "ARR_Prior_Year__c": float(c.arr_prev),
            "Active_Users__c": float(c.active_users),
            "Licensed_Seats__c": float(c.licensed_seats),
            "Zendesk_Organization_Id__c": numeric_id("organization", c.key) if p.cross_ref else None,
        }
        for name in vs.custom_fields:
            row[name] = None
        row.update(vs.written.get(rid, {}))
        rows.append(row)
    return rows


def render_contacts(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for ct in book.contacts.values():
        c = book.customers.get(ct.customer_key)
        cdel = _customer_deleted(c) if c else None
        deleted = ct.deleted_at or cdel
        rows.append(
            {
                "Id": salesforce_id("Contact", ct.key),
                "IsDeleted": deleted is not None,
                "AccountId": _account_id(book, ct.customer_key),
                "FirstName": ct.first_name,
                "LastName": ct.last_name,
                "Name": f"{ct.first_name} {ct.last_name}",
                "Email": ct.email,
                "Title": ct.title,
                "LastActivityDate": ct.last_contacted_at.date() if ct.last_contacted_at else None,
                "CreatedDate": ct.created_at,
                "LastModifiedDate": _latest(ct.updated_at, deleted),
                "SystemModstamp": _latest(ct.updated_at, deleted),
            }
        )
    return rows


def render_opportunities(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for d in book.deals.values():
        c = book.customers.get(d.customer_key)
        deleted = d.deleted_at or (_customer_deleted(c) if c else None)
        stage, prob = STAGES.get(d.stage, (d.stage, 50))
        rows.append(
            {
                "Id": salesforce_id("Opportunity", d.key),
                "IsDeleted": deleted is not None,
                "AccountId": _account_id(book, d.customer_key),
                "Name": d.name,
                "Type": OPP_TYPES.get(d.kind, d.kind),
                "StageName": stage,
                "Amount": float(d.amount),
                "CloseDate": d.close_date,
                "IsClosed": d.stage.startswith("closed"),
                "IsWon": d.stage == "closed_won",
                "Probability": float(prob),
                "CreatedDate": d.created_at,
                "LastModifiedDate": _latest(d.updated_at, deleted),
                "SystemModstamp": _latest(d.updated_at, deleted),
            }
        )
    return rows


def _crm_tickets(book: Book) -> Iterable[Ticket]:
    return (t for t in book.tickets.values() if t.channel == "crm")


def case_origin(ticket: Ticket) -> str:
    """Two in three CRM cases come in by e-mail (Email-to-Case: the thread is EmailMessages)."""
    return "Web" if int(re.sub(r"\D", "", ticket.key) or 0) % 3 == 0 else "Email"


def _ticket_deleted(book: Book, t: Ticket) -> datetime | None:
    c = book.customers.get(t.customer_key)
    return t.deleted_at or (_customer_deleted(c) if c else None)


def render_cases(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for t in _crm_tickets(book):
        deleted = _ticket_deleted(book, t)
        first = t.comments[0].body if t.comments else ""
        rows.append(
            {
                "Id": salesforce_id("Case", t.key),
                "IsDeleted": deleted is not None,
                "CaseNumber": f"{int(re.sub(r'[^0-9]', '', t.key) or 0):08d}",
                "AccountId": _account_id(book, t.customer_key),
                "Subject": t.subject,
                "Description": first,
                "Status": CASE_STATUS.get(t.status, t.status),
                "Priority": CASE_PRIORITY.get(t.priority, t.priority),
                "IsEscalated": t.escalated,
                "Origin": case_origin(t),
                "SuppliedEmail": t.requester_email,
                "IsClosed": t.status in ("solved", "closed"),
                "ClosedDate": t.solved_at if t.status in ("solved", "closed") else None,
                "CreatedDate": t.created_at,
                "LastModifiedDate": _latest(t.updated_at, deleted),
                "SystemModstamp": _latest(t.updated_at, deleted),
            }
        )
    return rows


def _case_comment_source(book: Book) -> Iterable[tuple[Ticket, Comment, datetime | None]]:
    """Web cases keep their whole thread as CaseComments; Email-to-Case keeps only internal notes there."""
    for t in _crm_tickets(book):
        email = case_origin(t) == "Email"
        deleted = _ticket_deleted(book, t)
        for cm in t.comments:
            if not email or not cm.public:
                yield t, cm, deleted


def _email_source(book: Book) -> Iterable[tuple[Ticket, Comment, datetime | None]]:
    for t in _crm_tickets(book):
        if case_origin(t) != "Email":
            continue
        deleted = _ticket_deleted(book, t)
        for cm in t.comments:
            if cm.public:
                yield t, cm, deleted


def render_case_comments(ctx: SandboxContext) -> list[dict[str, Any]]:
    rows = []
    for t, cm, deleted in _case_comment_source(ctx.book):
        user_type = "Standard" if cm.author_role == "agent" else "CspLitePortal"
        rows.append(
            {
                "Id": hashed_id("CaseComment", cm.key),
                "IsDeleted": deleted is not None,
                "ParentId": salesforce_id("Case", t.key),
                "CommentBody": cm.body,
                "IsPublished": cm.public,
                "CreatedById": hashed_id("User", cm.author_email.lower()),
                "CreatedDate": cm.created_at,
                "LastModifiedDate": _latest(cm.created_at, deleted),
                "SystemModstamp": _latest(cm.created_at, deleted),
                "__user__": _user_row(cm.author_name, cm.author_email, user_type, cm.created_at),
            }
        )
    return rows


def render_email_messages(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for t, cm, deleted in _email_source(book):
        incoming = cm.author_role == "customer"
        rows.append(
            {
                "Id": hashed_id("EmailMessage", cm.key),
                "IsDeleted": deleted is not None,
                "ParentId": salesforce_id("Case", t.key),
                "Incoming": incoming,
                "Subject": ("" if incoming else "RE: ") + t.subject,
                "TextBody": cm.body,
                "HtmlBody": cm.html_body,
                "FromAddress": cm.author_email,
                "ToAddress": "support@sandbox-crm.example" if incoming else t.requester_email,
                "MessageDate": cm.created_at,
                "Status": "0" if incoming else "3",  # 0 = New, 3 = Sent (EmailMessage.Status codes)
                "CreatedDate": cm.created_at,
                "LastModifiedDate": _latest(cm.created_at, deleted),
                "SystemModstamp": _latest(cm.created_at, deleted),
            }
        )
    return rows


def render_surveys(ctx: SandboxContext) -> list[dict[str, Any]]:
    book = ctx.book
    rows = []
    for s in book.surveys.values():
        ticket = book.tickets.get(s.ticket_key) if s.ticket_key else None
        if s.kind == "csat" and (ticket is None or ticket.channel != "crm"):
            continue  # CSAT on Zendesk tickets lives in Zendesk
        c = book.customers.get(s.customer_key)
        deleted = _customer_deleted(c) if c else None
        rows.append(
            {
                "Id": salesforce_id("SurveyResponse", s.key),
                "IsDeleted": deleted is not None,
                "Name": f"SR-{int(re.sub(r'[^0-9]', '', s.key) or 0):06d}",
                "Type__c": s.kind,
                "Score__c": float(s.score),
                "Comment__c": s.comment,
                "Account__c": _account_id(book, s.customer_key),
                "Case__c": salesforce_id("Case", ticket.key) if ticket is not None else None,
                "Contact_Email__c": s.contact_email,
                "Responded_At__c": s.responded_at,
                "CreatedDate": s.responded_at,
                "LastModifiedDate": _latest(s.updated_at, deleted),
                "SystemModstamp": _latest(s.updated_at, deleted),
            }
        )
    return rows


def render_users(ctx: SandboxContext) -> list[dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for c in ctx.book.customers.values():
        email = _owner_email(c.owner)
        users.setdefault(email, _user_row(c.owner, email, "Standard", c.created_at))
    for row in render_case_comments(ctx):
        users.setdefault(row["__user__"]["Email"], row["__user__"])
    return list(users.values())


RENDERERS: dict[str, Callable[[SandboxContext], list[dict[str, Any]]]] = {
    "Account": render_accounts,
    "Contact": render_contacts,
    "Opportunity": render_opportunities,
    "Case": render_cases,
    "CaseComment": render_case_comments,
    "EmailMessage": render_email_messages,
    SURVEY_OBJECT: render_surveys,
    "User": render_users,
}


def _attach_relations(ctx: SandboxContext, sobject: str, rows: list[dict[str, Any]], used: set[str]) -> None:
    for rel in used:
        parent, fk = RELATIONS[sobject][rel]
        if (sobject, rel) == ("CaseComment", "CreatedBy"):
            for row in rows:  # each comment row carries its author; rendering all users again is costly
                row.setdefault("__rel__", {})[rel] = row["__user__"]
            continue
        index = {r["Id"]: r for r in RENDERERS[parent](ctx)}
        for row in rows:
            row.setdefault("__rel__", {})[rel] = index.get(row.get(fk) or "")


# ----------------------------------------------------------------------------------------------------------
# Serialising records
# ----------------------------------------------------------------------------------------------------------


def sf_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime format: 2024-01-31T09:30:00.000+0000."""
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _attributes(sobject: str, rid: str) -> dict[str, str]:
    return {"type": sobject, "url": f"{DATA}/sobjects/{sobject}/{rid}"}


def project(sobject: str, row: dict[str, Any], select: list[Resolved]) -> dict[str, Any]:
    """The JSON record for one row: attributes first, then the selected fields in query order."""
    out: dict[str, Any] = {"attributes": _attributes(sobject, row["Id"])}
    for res in select:
        if res.relation is None:
            out[res.name] = _json_value(row.get(res.name))
            continue
        parent_obj = RELATIONS[sobject][res.relation][0]
        parent = row.get("__rel__", {}).get(res.relation)
        if parent is None:
            out[res.relation] = None
            continue
        sub = out.get(res.relation) or {"attributes": _attributes(parent_obj, parent["Id"])}
        sub[res.name] = _json_value(parent.get(res.name))
        out[res.relation] = sub
    return out


def full_record(ctx: SandboxContext, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(sobject, row["Id"])}
    for name in field_types(ctx.vendors[VENDOR], sobject):
        out[name] = _json_value(row.get(name))
    return out


# ----------------------------------------------------------------------------------------------------------
# Query execution and locators
# ----------------------------------------------------------------------------------------------------------


def run_query(ctx: SandboxContext, soql: str, include_deleted: bool) -> tuple[str, list[dict[str, Any]]]:
    """All records a query returns (a snapshot, as Salesforce's query cursor is)."""
    vs = ctx.vendors[VENDOR]
    compiled = compile_query(vs, soql)
    sobject = compiled.query.sobject
    rows = RENDERERS[sobject](ctx)
    used = {r.relation for r in [*compiled.select, *(o[0] for o in compiled.order)] if r.relation}
    used |= _relations_in(compiled.query.where)
    if used:
        _attach_relations(ctx, sobject, rows, {_rel_name(sobject, u) for u in used})
    if not include_deleted:
        rows = [r for r in rows if not r.get("IsDeleted")]
    rows = [r for r in rows if compiled.predicate(r)]
    rows.sort(key=lambda r: r["Id"])
    rows = order_rows(rows, compiled.order)
    rows = rows[compiled.query.offset :]
    if compiled.query.limit is not None:
        rows = rows[: compiled.query.limit]
    return sobject, [project(sobject, r, compiled.select) for r in rows]


def _relations_in(cond: Cond | None) -> set[str]:
    if cond is None:
        return set()
    if cond.op in ("and", "or", "not"):
        out: set[str] = set()
        for c in cond.parts:
            out |= _relations_in(c)
        return out
    ref: FieldRef = cond.parts[0]
    return {ref.path.split(".")[0]} if "." in ref.path else set()


def _rel_name(sobject: str, written: str) -> str:
    return {r.lower(): r for r in RELATIONS[sobject]}[written.lower()]


def _batch_size(header: str | None) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", header or "", re.IGNORECASE)
    if not m:
        return PAGE_SIZE
    return max(MIN_BATCH, min(PAGE_SIZE, int(m.group(1))))


def _page(ctx: SandboxContext, qid: str, offset: int, endpoint: str) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    locators: OrderedDict[str, dict[str, Any]] = vs.extra["locators"]
    entry = locators.get(qid)
    if entry is None or offset < 0 or offset > len(entry["records"]):
        raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    locators.move_to_end(qid)
    records = entry["records"]
    size = entry["batch"]
    chunk = records[offset : offset + size]
    end = offset + len(chunk)
    body: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"{DATA}/{endpoint}/{qid}-{end}"
    body["records"] = chunk
    return body


def start_query(ctx: SandboxContext, soql: str, include_deleted: bool, batch: int) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    _, records = run_query(ctx, soql, include_deleted)
    seq = _next_seq(vs)
    qid = "01g5g" + _b62(seq).rjust(10, "0") + "AAA"
    locators: OrderedDict[str, dict[str, Any]] = vs.extra["locators"]
    locators[qid] = {"records": records, "batch": batch}
    while len(locators) > MAX_LOCATORS:
        locators.popitem(last=False)  # Salesforce also expires old cursors (INVALID_QUERY_LOCATOR)
    return _page(ctx, qid, 0, "queryAll" if include_deleted else "query")


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


# ----------------------------------------------------------------------------------------------------------
# Describe, record writes, Tooling
# ----------------------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    return name.removesuffix("__c").replace("_", " ")


def describe(ctx: SandboxContext, sobject: str) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    readonly: set[str] = vs.extra.setdefault("readonly_fields", set())
    fields = []
    for name, ftype in field_types(vs, sobject).items():
        meta = vs.custom_fields.get(name, {}) if sobject == "Account" else {}
        system = name in (
            "Id",
            "IsDeleted",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
            "CaseNumber",
        )
        computed = name in ("IsClosed", "IsWon", "Name") and sobject in ("Opportunity", "Contact")
        updateable = not system and not computed and name not in readonly
        rel = next((r for r, (_, fk) in RELATIONS[sobject].items() if fk == name), None)
        fields.append(
            {
                "name": name,
                "label": meta.get("label") or _label(name),
                "type": ftype,
                "custom": name.endswith("__c"),
                "updateable": updateable,
                "createable": updateable,
                "nillable": name not in ("Id", "IsDeleted", "Name"),
                "filterable": ftype != "textarea",
                "sortable": ftype != "textarea",
                "calculated": False,
                "externalId": False,
                "unique": False,
                "idLookup": name == "Id",
                "length": int(meta.get("length", 255 if ftype in STRINGY else 0)),
                "precision": int(meta.get("precision", 18 if ftype in NUMERIC else 0)),
                "scale": int(meta.get("scale", 2 if ftype in NUMERIC else 0)),
                "digits": 0,
                "referenceTo": [RELATIONS[sobject][rel][0]] if rel else [],
                "relationshipName": rel,
                "picklistValues": [
                    {"active": True, "defaultValue": False, "label": v, "value": v}
                    for v in meta.get("picklist", [])
                ],
            }
        )
    return {
        "name": sobject,
        "label": _label(sobject),
        "labelPlural": _label(sobject) + "s",
        "keyPrefix": KEY_PREFIX[sobject],
        "custom": sobject.endswith("__c"),
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "fields": fields,
        "childRelationships": [],
        "recordTypeInfos": [],
        "urls": {
            "sobject": f"{DATA}/sobjects/{sobject}",
            "describe": f"{DATA}/sobjects/{sobject}/describe",
            "rowTemplate": f"{DATA}/sobjects/{sobject}/{{ID}}",
        },
    }


def _coerce(name: str, ftype: str, value: Any, length: int) -> tuple[Any, str | None]:
    """(stored value, per-record error code) for one written value; raises for whole-request JSON errors."""
    if value is None:
        return None, None
    if ftype in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value), None
                except ValueError:
                    pass
            raise SalesforceApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of double from VALUE_STRING value {value} or request may be "
                "missing a required field",
            )
        return float(value), None
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}"
            )
        return value, None
    if ftype in ("datetime", "date"):
        try:
            parsed = _parse_dt(str(value)) if ftype == "datetime" else date.fromisoformat(str(value))
        except ValueError as exc:
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize value of type {ftype} from String {value!r}"
            ) from exc
        return parsed, None
    text = str(value)
    if length and len(text) > length:
        return None, "STRING_TOO_LONG"
    return text, None


def update_records(
    ctx: SandboxContext,
    sobject_default: str,
    records: list[dict[str, Any]],
    all_or_none: bool,
    row_fault: Fault | None,
) -> list[dict[str, Any]]:
    """sObject Collections update semantics: per-record SaveResults in request order."""
    vs = ctx.vendors[VENDOR]
    accounts = {r["Id"]: r for r in render_accounts(ctx)}
    types = field_types(vs, "Account")
    canon = _canonical(types)
    describe_fields = {f["name"]: f for f in describe(ctx, "Account")["fields"]}
    planned: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]] = []
    for index, rec in enumerate(records):
        attrs = rec.get("attributes") or {}
        sobject = attrs.get("type") or sobject_default
        if sobject != "Account":
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported for update here"
            )
        rid = rec.get("id") or rec.get("Id")
        values: dict[str, Any] = {}
        error: dict[str, Any] | None = None
        for key, value in rec.items():
            if key in ("attributes", "id", "Id"):
                continue
            name = canon.get(key.lower())
            if name is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type Account"
                )
            meta = describe_fields[name]
            stored, code = _coerce(name, types[name], value, int(meta.get("length") or 0))
            if not meta["updateable"] and error is None:
                error = _err(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [name],
                )
            if code and error is None:
                error = _err(
                    code, f"{meta['label']}: data value too large (max length={meta['length']})", [name]
                )
            values[name] = stored
        if error is None:
            error = _id_error(rid, accounts)
        if error is None and row_fault is not None and _row_rejected(row_fault, rid, index):
            error = _err(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION", row_fault.message or "Rejected by a validation rule", []
            )
        planned.append((rid, values, error))
    failed = any(err is not None for _, _, err in planned)
    results = []
    for rid, values, error in planned:
        if all_or_none and failed:
            err = error or _err(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
                [],
            )
            results.append({"id": rid, "success": False, "errors": [err]})
            continue
        if error is not None:
            results.append({"success": False, "errors": [error]})
            continue
        _apply_write(ctx, str(rid), values)
        results.append({"id": rid, "success": True, "errors": []})
    return results


def _err(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields}


def _row_rejected(fault: Fault, rid: Any, index: int) -> bool:
    return rid in fault.ids or (fault.every > 0 and (index + 1) % fault.every == 0)


def _id_error(rid: Any, accounts: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not rid:
        return _err("MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not isinstance(rid, str) or len(rid) not in (15, 18) or not rid.startswith(KEY_PREFIX["Account"]):
        return _err("MALFORMED_ID", f"Account ID: id value of incorrect type: {rid}", ["Id"])
    row = accounts.get(rid)
    if row is None:
        return _err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if row["IsDeleted"]:
        return _err("ENTITY_IS_DELETED", "entity is deleted", [])
    return None


def _apply_write(ctx: SandboxContext, rid: str, values: dict[str, Any]) -> None:
    vs = ctx.vendors[VENDOR]
    written = vs.written.setdefault(rid, {})
    written.update(values)
    # Our own write bumps SystemModstamp, as a real update does.
    vs.extra.setdefault("modstamps", {})[rid] = ctx.book.now


CUSTOM_FIELD_RE = re.compile(r"^Account\.([A-Za-z][A-Za-z0-9_]*__c)$")


def create_custom_field(ctx: SandboxContext, body: Any) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    if "CustomizeApplication" in vs.extra.setdefault("missing_permissions", set()):
        raise SalesforceApiError(
            403,
            "INSUFFICIENT_ACCESS",
            "insufficient access rights on object id: the user needs the Customize Application permission",
        )
    if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", "The request body is not a CustomField with Metadata"
        )
    full_name = str(body.get("FullName") or "")
    m = CUSTOM_FIELD_RE.match(full_name)
    if not m:
        raise SalesforceApiError(
            400, "INVALID_FIELD", f"Invalid FullName for a custom field on Account: {full_name}"
        )
    name = m.group(1)
    meta = body["Metadata"]
    ftype = meta.get("type")
    if ftype not in CUSTOM_TYPES:
        raise SalesforceApiError(
            400, "FIELD_INTEGRITY_EXCEPTION", f"Field type: bad value for restricted picklist field: {ftype}"
        )
    existing = {n.lower() for n in field_types(vs, "Account")}
    if name.lower() in existing:
        raise SalesforceApiError(
            400,
            "DUPLICATE_DEVELOPER_NAME",
            f"There is already a field named {name.removesuffix('__c')} on Account.",
        )
    picklist = [
        v.get("fullName")
        for v in (meta.get("valueSet") or {}).get("valueSetDefinition", {}).get("value", [])
        if isinstance(v, dict)
    ]
    fid = "00N5g" + _b62(_next_seq(vs)).rjust(10, "0") + "AAA"
    vs.custom_fields[name] = {
        "id": fid,
        "label": meta.get("label") or _label(name),
        "type": ftype,
        "length": meta.get("length", 0),
        "precision": meta.get("precision", 0),
        "scale": meta.get("scale", 0),
        "picklist": picklist,
    }
    return {"id": fid, "success": True, "errors": [], "warnings": [], "infos": []}


# ----------------------------------------------------------------------------------------------------------
# OAuth
# ----------------------------------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def org_id(seed: int) -> str:
    return ("00D5g" + _b62(seed + 1).rjust(10, "0") + "EAA")[:18]


def make_state(seed: int) -> VendorState:
    """Deterministic connected app + one initial token pair (the access token does not expire by itself:
    make_state has no clock; faults script expiry)."""
    client_id = "3MVG9" + _digest("sf-client-id", seed)[:48]
    client_secret = _digest("sf-client-secret", seed)[:64].upper()
    vs = VendorState(vendor=VENDOR, oauth=OAuthClient(client_id, client_secret, ACCESS_TTL))
    oid = org_id(seed)
    access = f"{oid}!AQ0AQ{_digest('sf-access', seed, 0)[:80]}"
    refresh = f"5Aep861{_digest('sf-refresh', seed, 0)[:80]}"
    vs.access_tokens[access] = FAR_FUTURE
    vs.refresh_tokens.add(refresh)
    vs.webhook_secret = ""  # Outbound Messages carry no signature; receivers check OrganizationId
    vs.extra.update(
        {
            "seed": seed,
            "org_id": oid,
            "user_id": ("0055g" + _b62(seed + 7).rjust(10, "0") + "AAA")[:18],
            "initial_access_token": access,
            "initial_refresh_token": refresh,
            "refresh_scope": {refresh: "api refresh_token"},
            "refresh_access": {refresh: {access}},
            "rotate_refresh": False,
            "locators": OrderedDict(),
            "modstamps": {},
            "missing_permissions": set(),
            "readonly_fields": set(),
            "seq": 0,
        }
    )
    return vs


def _base_url(ctx: SandboxContext) -> str:
    return ctx.base_urls.get(VENDOR) or flask.request.host_url.rstrip("/")


def _issue_tokens(ctx: SandboxContext, scope: str, refresh: str | None, new_refresh: bool) -> dict[str, Any]:
    vs = ctx.vendors[VENDOR]
    seq = _next_seq(vs)
    oid = vs.extra["org_id"]
    access = f"{oid}!AQ0AQ{_digest('sf-access', vs.extra['seed'], 'issued', seq)[:80]}"
    vs.access_tokens[access] = ctx.now + vs.oauth.access_ttl
    base = _base_url(ctx)
    ident = f"{base}/id/{oid}/{vs.extra['user_id']}"
    issued_at = str(int(ctx.now.timestamp() * 1000))
    signature = base64.b64encode(
        hmac.new(vs.oauth.client_secret.encode(), (ident + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {"access_token": access}
    if new_refresh:
        refresh = f"5Aep861{_digest('sf-refresh', vs.extra['seed'], 'issued', seq)[:80]}"
        vs.refresh_tokens.add(refresh)
        vs.extra["refresh_scope"][refresh] = scope
        body["refresh_token"] = refresh
    if refresh is not None:
        vs.extra["refresh_access"].setdefault(refresh, set()).add(access)
    body.update(
        {
            "signature": signature,
            "scope": scope,
            "instance_url": base,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )
    return body


def _oauth_error(error: str, description: str, status: int = 400) -> flask.Response:
    return flask.Response(
        json.dumps({"error": error, "error_description": description}), status, mimetype="application/json"
    )


def _pkce_ok(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)
    return hmac.compare_digest(verifier, challenge)


def token_endpoint(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    form = flask.request.form
    grant = form.get("grant_type")
    if form.get("client_id") != vs.oauth.client_id:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    secret = form.get("client_secret")
    if secret is not None and not hmac.compare_digest(secret, vs.oauth.client_secret):
        return _oauth_error("invalid_client", "invalid client credentials")
    if grant == "authorization_code":
        code = vs.auth_codes.pop(form.get("code") or "", None)
        if code is None or code["expires"] < ctx.now:
            return _oauth_error("invalid_grant", "authentication failure")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if secret is None and not code.get("code_challenge"):
            return _oauth_error("invalid_client", "invalid client credentials")
        if not _pkce_ok(
            form.get("code_verifier"), code.get("code_challenge"), code.get("code_challenge_method")
        ):
            return _oauth_error("invalid_grant", "invalid code verifier")
        body = _issue_tokens(ctx, code["scope"], None, new_refresh="refresh_token" in code["scope"].split())
        return flask.jsonify(body)
    if grant == "refresh_token":
        refresh = form.get("refresh_token") or ""
        if refresh not in vs.refresh_tokens:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        scope = vs.extra["refresh_scope"].get(refresh, "api refresh_token")
        if vs.extra.get("rotate_refresh"):
            _revoke_refresh(vs, refresh)
            return flask.jsonify(_issue_tokens(ctx, scope, None, new_refresh=True))
        return flask.jsonify(_issue_tokens(ctx, scope, refresh, new_refresh=False))
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _revoke_refresh(vs: VendorState, refresh: str) -> None:
    vs.refresh_tokens.discard(refresh)
    for access in vs.extra["refresh_access"].pop(refresh, set()):
        vs.access_tokens.pop(access, None)


_CONSENT = """<!doctype html>
<html><head><title>Allow Access?</title></head>
<body>
<h1>Allow Access?</h1>
<p>healthscore is asking to: access and manage your data (api), perform requests at any time
(refresh_token, offline_access).</p>
<form method="post" action="/services/oauth2/authorize">
{hidden}
<button type="submit" name="decision" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="decision" value="deny" id="oadeny">Deny</button>
</form></body></html>"""


def authorize(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    args = flask.request.values
    redirect_uri = args.get("redirect_uri") or ""
    if args.get("client_id") != vs.oauth.client_id:
        return flask.Response("error=invalid_client_id&error_description=client%20identifier%20invalid", 400)
    if args.get("response_type") != "code" or not redirect_uri:
        return flask.Response(
            "error=unsupported_response_type&error_description=response%20type%20not%20supported", 400
        )
    keep = (
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    )
    if flask.request.method == "GET":
        hidden = "\n".join(
            f'<input type="hidden" name="{k}" value="{html.escape(args[k])}">' for k in keep if args.get(k)
        )
        return flask.Response(_CONSENT.format(hidden=hidden), 200, mimetype="text/html")
    state = args.get("state")
    if args.get("decision") != "allow":
        params = {"error": "access_denied", "error_description": "end-user denied authorization"}
    else:
        code = "aPrx" + _digest("sf-code", vs.extra["seed"], _next_seq(vs))[:60]
        vs.auth_codes[code] = {
            "redirect_uri": redirect_uri,
            "scope": args.get("scope") or "api refresh_token",
            "code_challenge": args.get("code_challenge"),
            "code_challenge_method": args.get("code_challenge_method"),
            "expires": ctx.now + CODE_TTL,
        }
        params = {"code": code}
    if state:
        params["state"] = state
    sep = "&" if "?" in redirect_uri else "?"
    return flask.redirect(redirect_uri + sep + urlencode(params), 302)


def revoke(ctx: SandboxContext) -> flask.Response:
    vs = ctx.vendors[VENDOR]
    token = flask.request.values.get("token") or ""
    if token in vs.refresh_tokens:
        _revoke_refresh(vs, token)
    elif token in vs.access_tokens:
        vs.access_tokens.pop(token)
    else:
        return _oauth_error("invalid_token", "invalid token")
    return flask.Response("", 200)


# ----------------------------------------------------------------------------------------------------------
# The Flask app
# ----------------------------------------------------------------------------------------------------------


def _error_response(exc: SalesforceApiError) -> flask.Response:
    return flask.Response(json.dumps(exc.body()), exc.status, mimetype="application/json")


def _fault_response(fault: Fault, path: str) -> flask.Response | None:
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return None
    if fault.kind == "timeout":
        time.sleep(fault.delay)
        return _error_response(SalesforceApiError(504, "SERVER_UNAVAILABLE", "Gateway timeout"))
    if fault.kind == "rate_limit":
        resp = _error_response(
            SalesforceApiError(429, "TOO_MANY_REQUESTS", fault.message or "Too many requests")
        )
        resp.headers["Retry-After"] = f"{fault.retry_after:g}"
        return resp
    if fault.kind == "server_error":
        code = "SERVER_UNAVAILABLE" if fault.status == 503 else "UNKNOWN_EXCEPTION"
        msg = fault.message or (
            "Server temporarily unavailable"
            if fault.status == 503
            else "An unexpected error occurred. Please include this ErrorId if you contact support: 1384157063-1 (-1)"
        )
        return _error_response(SalesforceApiError(fault.status, code, msg))
    if fault.kind == "expired_token":
        return _error_response(SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    if fault.kind == "revoked_refresh":
        if path.startswith("/services/oauth2/"):
            return _oauth_error("invalid_grant", "expired access/refresh token")
        return _error_response(SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    if fault.kind == "quota":
        return _error_response(
            SalesforceApiError(
                403, "REQUEST_LIMIT_EXCEEDED", fault.message or "TotalRequests Limit exceeded."
            )
        )
    if fault.kind == "malformed_page":
        # A body cut off mid-stream, served as JSON: what a proxy reset looks like to the client.
        return flask.Response(
            '{"totalSize": 3, "done": false, "records": [{"attributes": ', 200, mimetype="application/json"
        )
    return None  # reject_rows: read by the batch handler


def _check_session(ctx: SandboxContext) -> None:
    vs = ctx.vendors[VENDOR]
    auth = flask.request.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    expiry = vs.access_tokens.get(token)
    if expiry is None or expiry <= ctx.now:
        raise SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _json_body() -> Any:
    try:
        return json.loads(flask.request.get_data() or b"null")
    except ValueError as exc:
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}"
        ) from exc


def create_app(ctx: SandboxContext) -> flask.Flask:
    """The Salesforce sandbox WSGI app bound to `ctx`."""
    app = flask.Flask(__name__)
    app.url_map.strict_slashes = False
    app.json.sort_keys = False  # type: ignore[attr-defined]  # Salesforce keeps "attributes" first

    @app.before_request
    def _enter() -> flask.Response | None:
        rule = flask.request.url_rule
        key = f"{flask.request.method} {rule.rule if rule is not None else '<unmatched>'}"
        flask.g.key = key
        ctx.counters.record(VENDOR, key)
        fault = ctx.faults.take(VENDOR, key)
        flask.g.row_fault = fault if fault is not None and fault.kind == "reject_rows" else None
        if fault is not None:
            resp = _fault_response(fault, flask.request.path)
            if resp is not None:
                return resp
        if flask.request.path.startswith("/services/data/") and rule is not None:
            with ctx.lock:
                _check_session(ctx)
        return None

    @app.after_request
    def _limit_info(resp: flask.Response) -> flask.Response:
        if flask.request.path.startswith("/services/data/"):
            used = ctx.counters.get(VENDOR, "* /services/data/*")
            resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{DAILY_API_LIMIT}"
        return resp

    @app.errorhandler(SalesforceApiError)
    def _api_error(exc: SalesforceApiError) -> flask.Response:
        return _error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> flask.Response:
        if exc.code == 404:
            return _error_response(
                SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            )
        if exc.code == 405:
            return _error_response(
                SalesforceApiError(
                    405, "METHOD_NOT_ALLOWED", f"HTTP Method '{flask.request.method}' not allowed."
                )
            )
        return _error_response(
            SalesforceApiError(exc.code or 500, "UNKNOWN_EXCEPTION", exc.description or "")
        )

    def _query(include_deleted: bool) -> flask.Response:
        soql = flask.request.args.get("q")
        if not soql:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = _batch_size(flask.request.headers.get("Sforce-Query-Options"))
        with ctx.lock:
            return flask.jsonify(start_query(ctx, soql, include_deleted, batch))

    def _more(locator: str, endpoint: str) -> flask.Response:
        qid, _, offset = locator.partition("-")
        if not offset.isdigit():
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        with ctx.lock:
            return flask.jsonify(_page(ctx, qid, int(offset), endpoint))

    app.add_url_rule(f"{DATA}/query/", "query", lambda: _query(False))
    app.add_url_rule(f"{DATA}/queryAll/", "queryAll", lambda: _query(True))
    app.add_url_rule(f"{DATA}/query/<locator>", "query_more", lambda locator: _more(locator, "query"))
    app.add_url_rule(
        f"{DATA}/queryAll/<locator>", "queryAll_more", lambda locator: _more(locator, "queryAll")
    )

    def _sobject(name: str) -> str:
        objects = {n.lower(): n for n in STANDARD_FIELDS if n != "User"}
        found = objects.get(name.lower())
        if found is None:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    @app.get(f"{DATA}/sobjects/<name>/describe")
    def _describe(name: str) -> flask.Response:
        with ctx.lock:
            return flask.jsonify(describe(ctx, _sobject(name)))

    @app.get(f"{DATA}/sobjects/<name>/<rid>")
    def _get_record(name: str, rid: str) -> flask.Response:
        sobject = _sobject(name)
        with ctx.lock:
            rows = [r for r in RENDERERS[sobject](ctx) if r["Id"] == rid and not r.get("IsDeleted")]
            if not rows:
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return flask.jsonify(full_record(ctx, sobject, rows[0]))

    @app.patch(f"{DATA}/sobjects/<name>/<rid>")
    def _patch_record(name: str, rid: str) -> flask.Response:
        sobject = _sobject(name)
        body = _json_body()
        if sobject != "Account" or not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected an Account field map")
        with ctx.lock:
            result = update_records(ctx, "Account", [{**body, "id": rid}], True, None)[0]
        if not result["success"]:
            err = result["errors"][0]
            status = 404 if err["statusCode"] in ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED") else 400
            raise SalesforceApiError(status, err["statusCode"], err["message"], err.get("fields", []))
        return flask.Response("", 204)

    @app.patch(f"{DATA}/composite/sobjects")
    def _collections_update() -> flask.Response:
        body = _json_body()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body must be {allOrNone, records: [...]}"
            )
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        row_fault = flask.g.row_fault or ctx.faults.peek(VENDOR, flask.g.key, "reject_rows")
        with ctx.lock:
            results = update_records(ctx, "Account", records, bool(body.get("allOrNone")), row_fault)
        return flask.jsonify(results)

    @app.post(f"{DATA}/tooling/sobjects/CustomField")
    def _custom_field() -> flask.Response:
        body = _json_body()
        with ctx.lock:
            created = create_custom_field(ctx, body)
        return flask.Response(json.dumps(created), 201, mimetype="application/json")

    @app.get(f"{DATA}/limits")
    def _limits() -> flask.Response:
        used = ctx.counters.get(VENDOR, "* /services/data/*")
        return flask.jsonify(
            {
                "DailyApiRequests": {"Max": DAILY_API_LIMIT, "Remaining": max(0, DAILY_API_LIMIT - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            }
        )

    @app.post("/services/oauth2/token")
    def _token() -> flask.Response:
        with ctx.lock:
            return token_endpoint(ctx)

    @app.route("/services/oauth2/authorize", methods=["GET", "POST"])
    def _authorize() -> flask.Response:
        with ctx.lock:
            return authorize(ctx)

    @app.get("/id/<org>/<user>")
    def _identity(org: str, user: str) -> flask.Response:
        # The identity URL from the token response's `id` (OAuth "Identity URLs"): who the token belongs to.
        with ctx.lock:
            _check_session(ctx)
            vs = ctx.vendors[VENDOR]
            if (org, user) != (vs.extra["org_id"], vs.extra["user_id"]):
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            base = _base_url(ctx)
            return flask.jsonify(
                {
                    "id": f"{base}/id/{org}/{user}",
                    "asserted_user": True,
                    "user_id": user,
                    "organization_id": org,
                    "username": "integration@sandbox-crm.example",
                    "display_name": "Integration User",
                    "email": "integration@sandbox-crm.example",
                    "active": True,
                    "user_type": "STANDARD",
                    "urls": {
                        "rest": f"{base}/services/data/v{{version}}/",
                        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                        "query": f"{base}/services/data/v{{version}}/query/",
                    },
                }
            )

    @app.post("/services/oauth2/revoke")
    def _revoke() -> flask.Response:
        with ctx.lock:
            return revoke(ctx)

    return app


# ----------------------------------------------------------------------------------------------------------
# Control-API hooks: ground truth, written fields, outbound messages
# ----------------------------------------------------------------------------------------------------------


def truth(ctx: SandboxContext) -> dict[str, dict[str, str]]:
    """Which Account/Case is which customer (ground truth for linking checks)."""
    with ctx.lock:
        book = ctx.book
        accounts = {
            salesforce_id("Account", c.key): c.salesforce.duplicate_of or c.key
            for c in book.customers.values()
            if c.salesforce.present
        }
        tickets = {salesforce_id("Case", t.key): t.customer_key for t in _crm_tickets(book)}
    return {"accounts": accounts, "tickets": tickets}


def written_fields(ctx: SandboxContext) -> dict[str, dict[str, object]]:
    """Current value of every custom field our product wrote, by Account Id (JSON-ready)."""
    with ctx.lock:
        vs = ctx.vendors[VENDOR]
        return {rid: {k: _json_value(v) for k, v in values.items()} for rid, values in vs.written.items()}


_OM_FIELDS = {
    "Account": ("Id", "Name", "SystemModstamp"),
    "Case": ("Id", "AccountId", "Status", "Priority", "SystemModstamp"),
    "Opportunity": ("Id", "AccountId", "StageName", "Amount", "SystemModstamp"),
}


def _soap_message(
    ctx: SandboxContext, sobject: str, rows: list[dict[str, Any]]
) -> tuple[dict[str, str], bytes]:
    vs = ctx.vendors[VENDOR]
    oid = vs.extra["org_id"]
    base = ctx.base_urls.get(VENDOR, "https://127.0.0.1")
    action = "04k5g" + hashed_id("User", f"outbound-action-{sobject}")[5:]
    notes = [
        SalesforceNotification(
            id="04l5g" + hashed_id("User", f"notification-{row['Id']}-{row['SystemModstamp']}")[5:],
            sobject_type=sobject,
            fields={
                name: None if row.get(name) is None else str(_json_value(row.get(name)))
                for name in _OM_FIELDS[sobject]
            },
        )
        for row in rows
    ]
    return sign_salesforce_outbound(
        oid,
        action,
        notes,
        enterprise_url=f"{base}/services/Soap/c/{API_VERSION}/{oid}",
        partner_url=f"{base}/services/Soap/u/{API_VERSION}/{oid}",
    )


def outbound_webhooks(ctx: SandboxContext, changes: Changes) -> list[tuple[str, dict[str, str], bytes]]:
    """Outbound Messages (SOAP `notifications`, ≤100 each) for changed Accounts, Cases and Opportunities.

    Salesforce signs nothing: receivers check `OrganizationId` against the tenant's org (security.md §2),
    so the headers are the ones Salesforce sends.
    """
    vs = ctx.vendors[VENDOR]
    if vs.webhook_url is None:
        return []
    out: list[tuple[str, dict[str, str], bytes]] = []
    with ctx.lock:
        wanted = {
            "Account": {salesforce_id("Account", k) for k in changes.customers - changes.deleted},
            "Case": {salesforce_id("Case", k) for k in changes.tickets - changes.deleted},
            "Opportunity": {salesforce_id("Opportunity", k) for k in changes.deals - changes.deleted},
        }
        for sobject, ids in wanted.items():
            if not ids:
                continue
            rows = [r for r in RENDERERS[sobject](ctx) if r["Id"] in ids and not r["IsDeleted"]]
            rows.sort(key=lambda r: r["Id"])
            for start in range(0, len(rows), MAX_NOTIFICATIONS):
                headers, body = _soap_message(ctx, sobject, rows[start : start + MAX_NOTIFICATIONS])
                out.append((vs.webhook_url, headers, body))
    return out
