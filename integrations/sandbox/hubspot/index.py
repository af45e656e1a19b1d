"""HubSpot object ids and the per-type index (numeric id, book source) that lets a request render only the
objects its response carries.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.sandbox.book import Customer
from integrations.sandbox.context import SandboxContext, VendorState
from integrations.sandbox.hubspot.formats import hs_time
from integrations.sandbox.hubspot.schema import DEFAULT_READ, MOD_PROPERTY, SINGULAR, VENDOR, numeric_id
from integrations.sandbox.ids import number

# ---------------------------------------------------------------------------------------------------------
# Rendering the book
# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class HubObject:
    """One rendered CRM object (all property values are strings or None, as HubSpot sends them)."""

    id: str
    type: str
    key: str
    customer_key: str | None
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None
    assoc: dict[str, list[str]] = field(default_factory=dict)

    def json(self, props: Iterable[str] | None, with_assoc: Iterable[str] = ()) -> dict[str, Any]:
        wanted = list(props) if props is not None else list(DEFAULT_READ[self.type])
        # HubSpot always echoes these three, whatever was asked.
        always = (
            "hs_object_id",
            MOD_PROPERTY[self.type],
            "createdate" if "createdate" in self.properties else "hs_createdate",
        )
        names = list(dict.fromkeys([*wanted, *always]))
        out: dict[str, Any] = {
            "id": self.id,
            "properties": {n: self.properties.get(n) for n in names if n in self.properties},
            "createdAt": hs_time(self.created_at),
            "updatedAt": hs_time(self.updated_at),
            "archived": self.archived_at is not None,
        }
        if self.archived_at is not None:
            out["archivedAt"] = hs_time(self.archived_at)
        assoc_out = {}
        for to_type in with_assoc:
            ids = self.assoc.get(to_type, [])
            if ids:
                label = f"{SINGULAR[self.type]}_to_{SINGULAR[to_type]}"
                assoc_out[to_type] = {"results": [{"id": i, "type": label} for i in ids]}
        if assoc_out:
            out["associations"] = assoc_out
        return out


def company_id(key: str) -> str:
    return numeric_id("company", key)


def comment_id(ticket_key: str, index: int) -> str:
    """Comment book keys need not be globally numbered; derive a unique id from the ticket and position."""
    return str(100_000_000 + number(ticket_key) * 1000 + index + 1)


def _state(ctx: SandboxContext) -> VendorState:
    return ctx.vendors[VENDOR]


def _hub_customers(ctx: SandboxContext) -> dict[str, Customer]:
    return {k: c for k, c in ctx.book.customers.items() if c.hubspot.present}


def _crm_tickets(ctx: SandboxContext) -> list[Any]:
    return [t for t in ctx.book.tickets.values() if t.channel == "crm"]


def _latest(*values: datetime | None) -> datetime:
    present = [v for v in values if v is not None]
    return max(present)


def _custom_names(ctx: SandboxContext, object_type: str) -> list[str]:
    return [
        n for n, p in _state(ctx).custom_fields.items() if p.get("objectType", "companies") == object_type
    ]


@functools.lru_cache(maxsize=4096)
def _owner_id(owner: str) -> str:
    return str(10_000 + int(hashlib.sha1(owner.encode()).hexdigest()[:6], 16) % 90_000)


# --- the index: every object of a type as (numeric id, book source), sorted by id ---------------------------
#
# Requests touch a page of objects, not the whole book: lists bisect to `after`, the keyset search the
# adapter sends is evaluated on raw modification times, batch calls look ids up. Only the objects a
# response carries are rendered. The index depends on the book's membership only (which objects exist),
# so it is rebuilt when a count changes or an object was swapped (the runner restores books in place);
# modification and archive times are read live from the book.


@dataclass(slots=True)
class _Index:
    signature: tuple[int, ...]
    ids: list[int]
    sources: list[Any]
    by_id: dict[int, Any]


_INDEXES: dict[
    int, tuple[Any, dict[str, _Index]]
] = {}  # id(book) -> (book, indexes); the book ref pins the id
_INDEX_LOCK = threading.Lock()


def _is_note(comment: Any) -> bool:
    return bool(comment.author_role == "agent" and not comment.public)


def _signature(ctx: SandboxContext, object_type: str) -> tuple[int, ...]:
    book = ctx.book
    if object_type == "companies":
        return (len(book.customers), sum(1 for c in book.customers.values() if c.hubspot.present))
    if object_type in ("notes", "emails"):
        return (len(book.tickets), sum(len(t.comments) for t in book.tickets.values()))
    if object_type == "feedback_submissions":
        return (len(book.surveys), len(book.tickets))
    return (len(getattr(book, object_type)),)


def _members(ctx: SandboxContext, object_type: str) -> list[tuple[int, Any]]:
    book = ctx.book
    if object_type == "companies":
        return [(int(company_id(c.key)), c) for c in book.customers.values() if c.hubspot.present]
    if object_type == "contacts":
        return [(int(numeric_id("contact", k.key)), k) for k in book.contacts.values()]
    if object_type == "deals":
        return [(int(numeric_id("deal", d.key)), d) for d in book.deals.values()]
    if object_type == "tickets":
        return [(int(numeric_id("ticket", t.key)), t) for t in _crm_tickets(ctx)]
    if object_type in ("notes", "emails"):
        want_notes = object_type == "notes"
        return [
            (int(comment_id(t.key, i)), (t, i, c))
            for t in _crm_tickets(ctx)
            for i, c in enumerate(t.comments)
            if _is_note(c) == want_notes
        ]
    crm = {t.key for t in _crm_tickets(ctx)}
    # CSAT on Zendesk-channel tickets lives in Zendesk only; NPS and CRM-ticket CSAT are feedback here.
    return [
        (int(numeric_id("survey", s.key)), s)
        for s in book.surveys.values()
        if s.kind == "nps" or s.ticket_key in crm
    ]


def _index(ctx: SandboxContext, object_type: str) -> _Index:
    """The id-sorted index of a type (call under ctx.lock)."""
    book = ctx.book
    if ctx.read_cache is not None:  # served: the collections' identities, sizes and the clock suffice
        fast = (
            id(book),
            book.now,
            *(id(c) for c in _collections(book)),
            *(len(c) for c in _collections(book)),
        )
        hit = ctx.read_cache.get(("index", object_type))
        if hit is not None and hit[0] == fast and hit[1].sources is not None:
            return hit[1]
        index = _index_checked(ctx, object_type)
        ctx.read_cache[("index", object_type)] = (fast, index)
        return index
    return _index_checked(ctx, object_type)


def _collections(book: Any) -> tuple[Any, ...]:
    return (book.customers, book.contacts, book.deals, book.tickets, book.surveys)


def _index_checked(ctx: SandboxContext, object_type: str) -> _Index:
    book = ctx.book
    signature = _signature(ctx, object_type)
    with _INDEX_LOCK:
        entry = _INDEXES.get(id(book))
        if entry is None or entry[0] is not book:
            if len(_INDEXES) >= 4:  # tests swap books; keep a few, never grow without bound
                _INDEXES.pop(next(iter(_INDEXES)))
            entry = (book, {})
            _INDEXES[id(book)] = entry
        cached = entry[1].get(object_type)
    if cached is not None and cached.signature == signature and _current(ctx, object_type, cached):
        return cached
    members = sorted(_members(ctx, object_type), key=lambda m: m[0])
    index = _Index(signature, [m[0] for m in members], [m[1] for m in members], dict(members))
    with _INDEX_LOCK:
        entry[1][object_type] = index
    return index


def _current(ctx: SandboxContext, object_type: str, index: _Index) -> bool:
    """Every indexed object is still the book's own (a restore may swap objects in place, same counts)."""
    book = ctx.book
    if object_type in ("notes", "emails"):
        tickets = book.tickets
        return all(
            tickets.get(t.key) is t and i < len(t.comments) and t.comments[i] is c
            for t, i, c in index.sources
        )
    collection = {
        "companies": book.customers,
        "contacts": book.contacts,
        "deals": book.deals,
        "tickets": book.tickets,
        "feedback_submissions": book.surveys,
    }[object_type]
    return all(collection.get(src.key) is src for src in index.sources)


def _raw_modified(object_type: str, source: Any) -> datetime:
    if object_type == "companies":
        return _latest(source.hubspot.updated_at, source.updated_at, source.created_at)
    if object_type in ("notes", "emails"):
        return source[2].created_at
    return source.updated_at


def _archived(object_type: str, source: Any) -> datetime | None:
    if object_type == "companies":
        return source.hubspot.deleted_at or source.deleted_at
    if object_type in ("contacts", "deals", "tickets"):
        return source.deleted_at
    return None


def _modified(ctx: SandboxContext, object_type: str, oid: int, source: Any) -> datetime:
    """The modification time HubSpot shows: the book's, or later when our write-back touched the record."""
    raw = _raw_modified(object_type, source)
    touched = _state(ctx).extra["touched"].get(str(oid))
    return touched if touched is not None and touched > raw else raw
