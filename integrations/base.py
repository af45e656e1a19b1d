"""The one adapter shape all three vendors implement (see ARCHITECTURE.md §4)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from integrations.cursors import Cursor
from integrations.records import FieldChange, Record, ScoreWrite, WriteResult


class Stream(enum.StrEnum):
    """The kinds of records an adapter can read."""

    ACCOUNTS = "accounts"
    # changes of the mapped account metric fields (seat usage ...) from the CRM's field history
    ACCOUNT_HISTORY = "account_history"
    CONTACTS = "contacts"
    DEALS = "deals"
    TICKETS = "tickets"
    COMMENTS = "comments"
    SURVEYS = "surveys"


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """Records of one stream and the cursor to save once they are committed (None: keep the old one).

    `unreadable`: records of this page the vendor sent but the adapter could not read (a required id or
    timestamp missing or unparsable), skipped and logged one by one (integrations.skips); the sync reports
    the count."""

    stream: Stream
    records: Sequence[Record]
    cursor: Cursor | None
    unreadable: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    message: str
    hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """Result of Adapter.check: can we read, and can we write our fields?"""

    vendor: str
    ok: bool
    problems: tuple[Problem, ...] = ()
    missing_fields: tuple[str, ...] = ()
    granted_scopes: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class Adapter(Protocol):
    """Reads records from one vendor installation and writes scores back to it."""

    vendor: ClassVar[str]
    streams: ClassVar[frozenset[Stream]]

    def check(self) -> CheckReport: ...

    def read(self, stream: Stream, cursor: Cursor | None) -> Iterator[Page]: ...

    def ensure_fields(self) -> list[FieldChange]: ...

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteResult]: ...

    def close(self) -> None: ...
