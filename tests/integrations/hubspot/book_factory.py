"""Small hand-built Books and a served HubSpot sandbox for the HubSpot tests (no seed.py needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.sandbox import hubspot as hs
from integrations.sandbox.book import Book, Comment, Contact, Customer, Deal, Presence, Survey, Ticket
from integrations.sandbox.context import Faults, SandboxContext
from integrations.sandbox.server import ServedApp, TLSMaterial

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
KINDS = ("new_business", "renewal", "upsell")


def customer(i: int, *, updated: datetime | None = None) -> Customer:
    key = f"C{i:06d}"
    when = updated or NOW - timedelta(days=10, minutes=i)
    return Customer(
        key=key,
        name=f"Customer {i}",
        domain=f"customer{i}.example",
        segment=("smb", "mid_market", "enterprise")[i % 3],
        plan="growth",
        industry="Software",
        owner=f"Rep {i % 4}",
        arr=Decimal(10_000 + i * 100),
        arr_prev=Decimal(9_000 + i * 100),
        created_at=NOW - timedelta(days=400),
        renewal_date=date(2026, 9, 1),
        active_users=40 + i,
        licensed_seats=50,
        latent_health=0.5,
        updated_at=when,
        hubspot=Presence(
            present=True,
            name=f"Customer {i} Inc.",
            domains=[f"customer{i}.example"],
            cross_ref=i % 2 == 0,
            updated_at=when,
        ),
    )


def contact(i: int, customer_key: str, *, updated: datetime | None = None) -> Contact:
    return Contact(
        key=f"P{i:07d}",
        customer_key=customer_key,
        first_name=f"First{i}",
        last_name=f"Last{i}",
        email=f"person{i}@{customer_key.lower()}.example",
        title="Ops",
        last_contacted_at=NOW - timedelta(days=3),
        created_at=NOW - timedelta(days=200),
        updated_at=updated or NOW - timedelta(days=9, seconds=i),
    )


def deal(i: int, customer_key: str) -> Deal:
    return Deal(
        key=f"D{i:06d}",
        customer_key=customer_key,
        name=f"Deal {i}",
        kind=KINDS[i % 3],  # type: ignore[arg-type]
        amount=Decimal("12000.50") + i,
        stage=STAGES[i % len(STAGES)],
        close_date=date(2026, 6, 30),
        created_at=NOW - timedelta(days=60),
        updated_at=NOW - timedelta(days=8, minutes=i),
    )


def ticket(i: int, customer_key: str, *, channel: str = "crm", comments: int = 3) -> Ticket:
    key = f"T{i:07d}"
    created = NOW - timedelta(days=7, minutes=i)
    t = Ticket(
        key=key,
        customer_key=customer_key,
        channel=channel,  # type: ignore[arg-type]
        requester_email=f"person{i}@{customer_key.lower()}.example",
        subject=f"Problem {i}",
        priority=("low", "normal", "high", "urgent")[i % 4],  # type: ignore[arg-type]
        status=("new", "open", "pending", "solved", "closed")[i % 5],  # type: ignore[arg-type]
        escalated=False,
        reopens=0,
        group="Tier 1",
        created_at=created,
        updated_at=created + timedelta(hours=2),
        solved_at=created + timedelta(hours=5) if i % 5 >= 3 else None,
        first_reply_minutes=30 + i,
        full_resolution_minutes=300 if i % 5 >= 3 else None,
        tone="neutral",
    )
    roles = [("customer", True), ("agent", True), ("agent", False)]
    for j in range(comments):
        role, public = roles[j % 3]
        t.comments.append(
            Comment(
                key=f"{key}-{j}",
                ticket_key=key,
                author_role=role,  # type: ignore[arg-type]
                author_email=f"{role}{j}@example.com",
                author_name=role.title(),
                public=public,
                body=f"Hello, comment {j} on ticket {i}",
                html_body=f"<p>Hello, comment {j} on ticket {i}</p>",
                created_at=created + timedelta(minutes=10 * j),
            )
        )
    return t


def survey(i: int, customer_key: str, *, kind: str = "nps", ticket_key: str | None = None) -> Survey:
    return Survey(
        key=f"S{i:07d}",
        customer_key=customer_key,
        kind=kind,  # type: ignore[arg-type]
        score=(9 if kind == "nps" else 4),
        comment=f"Survey comment {i}",
        contact_email=f"person{i}@{customer_key.lower()}.example",
        ticket_key=ticket_key,
        responded_at=NOW - timedelta(days=5, minutes=i),
        updated_at=NOW - timedelta(days=5, minutes=i),
    )


def make_book(customers: int = 5, contacts_per: int = 2, deals_per: int = 1, tickets_per: int = 2) -> Book:
    """A small deterministic book: every customer in HubSpot, crm tickets with 3 comments each, surveys."""
    book = Book(seed=0, now=NOW)
    n_contact = n_deal = n_ticket = n_survey = 0
    for i in range(1, customers + 1):
        c = customer(i)
        book.customers[c.key] = c
        for _ in range(contacts_per):
            n_contact += 1
            k = contact(n_contact, c.key)
            book.contacts[k.key] = k
        for _ in range(deals_per):
            n_deal += 1
            d = deal(n_deal, c.key)
            book.deals[d.key] = d
        for _ in range(tickets_per):
            n_ticket += 1
            t = ticket(n_ticket, c.key)
            book.tickets[t.key] = t
            n_survey += 1
            s = survey(n_survey, c.key, kind="csat", ticket_key=t.key)
            book.surveys[s.key] = s
        n_survey += 1
        s = survey(n_survey, c.key, kind="nps")
        book.surveys[s.key] = s
    # One zendesk-channel ticket: never rendered by HubSpot (nor its CSAT).
    zt = ticket(9_000, "C000001", channel="zendesk")
    book.tickets[zt.key] = zt
    zs = survey(9_000, "C000001", kind="csat", ticket_key=zt.key)
    book.surveys[zs.key] = zs
    return book


def make_context(book: Book, seed: int = 0) -> SandboxContext:
    return SandboxContext(book=book, vendors={hs.VENDOR: hs.make_state(seed)}, faults=Faults(seed))


@dataclass
class Served:
    ctx: SandboxContext
    server: ServedApp
    tls: TLSMaterial

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ca_file(self) -> str:
        return self.tls.ca_file

    @property
    def state(self) -> hs.VendorState:
        return self.ctx.vendors[hs.VENDOR]

    @property
    def token(self) -> str:
        return str(self.state.extra["initial"]["access_token"])

    @property
    def refresh_token(self) -> str:
        return str(self.state.extra["initial"]["refresh_token"])


_TLS: TLSMaterial | None = None


def tls_material() -> TLSMaterial:
    """One CA per test session: generating keys is the slow part of starting a server."""
    global _TLS
    if _TLS is None:
        _TLS = TLSMaterial.generate()
    return _TLS


def reset(served: Served, book: Book) -> Served:
    """Reuse a running server for another test: new book, fresh vendor state, no faults, zero counters.

    (Stopping a werkzeug server waits out its 0.5 s poll interval, so tests share servers.)
    """
    ctx = served.ctx
    with ctx.lock:
        ctx.book = book
        ctx.vendors[hs.VENDOR] = hs.make_state(0)
        ctx.faults.clear()
        ctx.counters.reset()
    return served


@contextmanager
def serve(book: Book) -> Iterator[Served]:
    ctx = make_context(book)
    tls = tls_material()
    server = ServedApp(hs.create_app(ctx), tls=tls, name="hubspot")
    ctx.base_urls[hs.VENDOR] = server.base_url
    try:
        yield Served(ctx, server, tls)
    finally:
        server.shutdown()
