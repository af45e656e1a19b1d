"""The per-app rendering cache: indices and per-ticket renderings kept while the book is unchanged and
re-checked on every request, so ticks, restores and in-place edits show at once.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.book import Contact, Survey, Ticket
from integrations.sandbox.zendesk.state import _ts, rating_id, ticket_id
from integrations.sandbox.zendesk.view import _View

# --------------------------------------------------------------------------------------------------- cache


def _signature(t: Ticket) -> tuple[Any, ...]:
    """Everything a ticket's renderings depend on that lives on the ticket itself."""
    return (
        id(t), t.updated_at, t.deleted_at, t.status, t.customer_key, t.created_at, len(t.comments),
        t.priority, t.subject, t.escalated, t.reopens, t.group, t.solved_at, t.requester_email,
        t.first_reply_minutes, t.full_resolution_minutes, t.channel,
    )  # fmt: skip


class _Cache:
    """Renderings an app keeps between requests while the book is unchanged (used under `ctx.lock` only).

    A tick, a restore or a test can change the book in place, so validity is checked on every request (an
    O(tickets) tuple comparison, far cheaper than rendering): `epoch` covers the clock, the collections'
    identities and sizes (restore swaps the dicts, a tick moves the clock), `stamps` each ticket's identity
    and modification stamps. Rendered tickets, metric sets, users and events are memoised per ticket under
    `_signature`, so after a change only the tickets a page shows are rendered again.
    """

    def __init__(self) -> None:
        self.served_key: tuple[Any, ...] | None = None
        self.epoch: tuple[Any, ...] | None = None
        self.stamps: tuple[list[Any], ...] | None = None
        self.contacts_by_email: dict[str, Contact] = {}
        self.user_ids: dict[tuple[str, str], int] = {}
        self.ratings_by_ticket: dict[str, Survey] = {}
        self.tickets: list[tuple[tuple[int, int], Ticket]] = []  # export order (generated_timestamp, id)
        self.ticket_keys: list[tuple[int, int]] = []
        self.by_id: dict[int, Ticket] = {}
        # (timestamp, id), ticket, index in the ticket's event_plan; with the keys alone for bisect
        self._events: tuple[list[tuple[tuple[int, int], Ticket, int]], list[tuple[int, int]]] | None = None
        self.agents: list[dict[str, Any]] | None = None
        self._rating_stamps: tuple[list[Any], ...] | None = None
        self._ratings: list[tuple[tuple[int, int], Survey, Ticket]] = []
        self.rating_keys: list[tuple[int, int]] = []  # the ratings' keys alone, for bisect
        self.memo: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}

    def sync(self, view: _View) -> None:
        book = view.book
        epoch = (
            id(book), book.now, view.base, id(book.tickets), id(book.contacts), len(book.contacts),
            id(book.customers), len(book.customers), id(book.surveys), len(book.surveys),
        )  # fmt: skip
        if epoch != self.epoch:
            self.epoch, self.stamps, self._rating_stamps = epoch, None, None
            self.memo.clear()
            self.user_ids = {}
            self.contacts_by_email = {c.email.lower(): c for c in book.contacts.values()}
            self.ratings_by_ticket = {
                s.ticket_key: s
                for s in book.surveys.values()
                if s.kind == "csat" and s.ticket_key is not None and s.score != 3
            }

    def index(self, view: _View) -> None:
        """Bring the ticket index up to date (only the routes that read it pay this O(tickets) check)."""
        book = view.book
        trusted = view.ctx.read_cache is not None  # SandboxContext.read_cache: a served sandbox
        if (
            trusted
            and self.stamps is not None
            and self.served_key == (id(book.tickets), len(book.tickets), book.now, view.ctx.read_epoch)
        ):
            return  # a served sandbox: tickets change only with the clock (ticks) or in number (API creates)
        self.served_key = (id(book.tickets), len(book.tickets), book.now, view.ctx.read_epoch)
        # flat lists, not a tuple per ticket: ints and datetimes are not tracked by the garbage collector, so
        # this check allocates nothing that triggers a (costly, large-heap) collection
        tickets = list(view.book.tickets.values())
        stamps = (
            [id(t) for t in tickets],
            [t.updated_at for t in tickets],
            [t.deleted_at for t in tickets],
            [t.created_at for t in tickets],
            [len(t.comments) for t in tickets],
        )
        if stamps != self.stamps:
            self.stamps = stamps
            self._index(view)

    def _index(self, view: _View) -> None:
        tickets = view.zendesk_tickets()
        self.tickets = sorted(((view.generated(t), ticket_id(t.key)), t) for t in tickets)
        self.ticket_keys = [k for k, _ in self.tickets]
        self.by_id = {ticket_id(t.key): t for t in tickets}
        self._events = None
        self.agents = None

    def events(self, view: _View) -> tuple[list[tuple[tuple[int, int], Ticket, int]], list[tuple[int, int]]]:
        """Every event in export order (timestamp, id) and their keys; built on first use after a change, so
        ticket reads never pay for it."""
        self.index(view)
        if self._events is None:
            events = [
                (key, t, n) for _, t in self.tickets for n, (key, _, _) in enumerate(view.event_plan(t))
            ]
            events.sort(key=lambda e: e[0])
            self._events = (events, [e[0] for e in events])
        return self._events

    def warm(self, ctx: Any) -> None:
        """Build the ticket and event indexes and the ratings as the requests of a served sandbox will find
        them (the view's base is the URL the app serves at): called when a tick changed the book."""
        view = _View(ctx, ctx.base_urls.get("zendesk", ""), self)
        self.events(view)
        self.ratings(view)

    def ratings(self, view: _View) -> list[tuple[tuple[int, int], Survey, Ticket]]:
        """Zendesk's ratings in (updated_at, id) order; rebuilt when a survey changes (checked per request
        like the tickets' stamps), so paging through n ratings costs O(n) rather than O(n) per page."""
        surveys = list(view.book.surveys.values())
        stamps = ([id(s) for s in surveys], [s.updated_at for s in surveys], [s.score for s in surveys])
        if stamps != self._rating_stamps:
            self._rating_stamps = stamps
            self._ratings = sorted(((_ts(s.updated_at), rating_id(s.key)), s, t) for s, t in view.ratings())
            self.rating_keys = [k for k, _, _ in self._ratings]
        return self._ratings

    def rendered(self, kind: str, t: Ticket, render: Any) -> Any:
        """`render(t)`, memoised per ticket while its signature and the epoch hold."""
        sig = _signature(t)
        hit = self.memo.get((kind, t.key))
        if hit is not None and hit[0] == sig:
            return hit[1]
        value = render(t)
        self.memo[(kind, t.key)] = (sig, value)
        return value
