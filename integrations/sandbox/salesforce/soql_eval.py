"""SOQL evaluation: resolve field references against the schema, type-check literals, compile WHERE
clauses into row predicates and order rows (nulls first/last as Salesforce does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.context import VendorState
from integrations.sandbox.salesforce.schema import (
    NUMERIC,
    RELATIONS,
    STANDARD_FIELDS,
    STRINGY,
    UNFILTERABLE,
    SalesforceApiError,
    _canonical,
    _invalid_field,
    field_types,
)
from integrations.sandbox.salesforce.soql_parser import Cond, FieldRef, Literal, Parser, Query


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


def visible_objects(vs: VendorState) -> dict[str, str]:
    """Lower-cased name -> sObject the integration user can query. `VendorState.extra["hidden_objects"]`
    names objects the org does not offer this user (no access, or a feature the org has not turned on):
    Salesforce answers those as if they did not exist (INVALID_TYPE, describe NOT_FOUND)."""
    hidden = {name.lower() for name in vs.extra.get("hidden_objects", ())}
    return {name.lower(): name for name in STANDARD_FIELDS if name != "User" and name.lower() not in hidden}


def compile_query(vs: VendorState, soql: str) -> Compiled:
    """Parse and type-check a SOQL string into a row predicate and a projection."""
    query = Parser(soql).parse()
    sobject = visible_objects(vs).get(query.sobject.lower())
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
    if res.type in UNFILTERABLE:
        pos = cond.parts[0].pos
        raise SalesforceApiError(
            400,
            "INVALID_FIELD",
            f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n"
            f"field '{res.key}' can not be filtered in a query call",
        )
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
