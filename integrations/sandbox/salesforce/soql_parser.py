"""The SOQL subset the Salesforce sandbox understands: tokenizer, query tree and recursive-descent parser.

Errors are `MALFORMED_QUERY` bodies pointing at the column, as Salesforce sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from integrations.sandbox.salesforce.schema import SalesforceApiError, _malformed

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
