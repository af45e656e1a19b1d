"""Small hand-built Books and a served Zendesk sandbox for the zendesk tests (no seed.py needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.sandbox import zendesk as zsb
from integrations.sandbox.book import Book, Comment, Contact, Customer, Presence, Survey, Ticket
from integrations.sandbox.context import Faults, SandboxContext
from integrations.sandbox.server import ServedApp, TLSMaterial

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=30)


def customer(n: int, **presence: object) -> Customer:
    key = f"C{n:06d}"
    return Customer(
        key=key,
        name=f"Customer {n}",
        domain=f"customer{n}.example",
        segment="smb",
        plan="growth",
        industry="software",
        owner="Rep",
        arr=Decimal(10000),
        arr_prev=Decimal(9000),
        created_at=T0 - timedelta(days=365),
        renewal_date=date(2027, 6, 1),
        active_users=10,
        licensed_seats=20,
        latent_health=0.5,
        updated_at=T0 + timedelta(minutes=n),
        zendesk=Presence(
            name=f"Customer {n} Inc",
            domains=[f"customer{n}.example"],
            cross_ref=n % 2 == 0,
            updated_at=T0 + timedelta(minutes=n),
            **presence,  # type: ignore[arg-type]
        ),
    )


def ticket(n: int, customer_key: str, *, minutes: int, comments: int = 2, **kw: object) -> Ticket:
    key = f"T{n:07d}"
    num = int(customer_key[1:7])
    created = T0 + timedelta(minutes=minutes)
    thread = [
        Comment(
            key=f"M{n:06d}{i:02d}",
            ticket_key=key,
            author_role="customer" if i % 2 == 0 else "agent",
            author_email=f"user{num}@customer{num}.example" if i % 2 == 0 else "ann.agent@northpeak.io",
            author_name="Pat Customer" if i % 2 == 0 else "Ann Agent",
            public=i != 3,
            body=f"Comment {i} on ticket {n}",
            html_body=f"<p>Comment {i} on ticket {n}</p>",
            created_at=created + timedelta(minutes=i),
        )
        for i in range(comments)
    ]
    fields: dict[str, object] = {
        "key": key,
        "customer_key": customer_key,
        "channel": "zendesk",
        "requester_email": f"user{num}@customer{num}.example",
        "subject": f"Ticket {n}",
        "priority": "normal",
        "status": "open",
        "escalated": False,
        "reopens": 0,
        "group": "Tier 1",
        "created_at": created,
        "updated_at": created + timedelta(minutes=comments),
        "solved_at": None,
        "first_reply_minutes": 30,
        "full_resolution_minutes": None,
        "tone": "neutral",
        "comments": thread,
    }
    fields.update(kw)
    return Ticket(**fields)  # type: ignore[arg-type]


def build_book(customers: int = 3, tickets: int = 5) -> Book:
    """`customers` orgs; `tickets` zendesk tickets spread over them; one CSAT per solved ticket; 1 CRM ticket."""
    book = Book(seed=0, now=NOW)
    for n in range(1, customers + 1):
        c = customer(n)
        book.customers[c.key] = c
        contact = Contact(
            key=f"P{n:06d}",
            customer_key=c.key,
            first_name="Pat",
            last_name=f"Customer{n}",
            email=f"user{n}@customer{n}.example",
            title="Ops",
            last_contacted_at=None,
            created_at=T0,
            updated_at=T0,
        )
        book.contacts[contact.key] = contact
    keys = list(book.customers)
    for n in range(1, tickets + 1):
        solved = n % 2 == 0
        t = ticket(
            n,
            keys[n % len(keys)],
            minutes=10 * n,
            status="solved" if solved else "open",
            solved_at=T0 + timedelta(minutes=10 * n + 50) if solved else None,
            full_resolution_minutes=50 if solved else None,
            escalated=n % 3 == 0,
            reopens=1 if n % 4 == 0 else 0,
            priority="urgent" if n % 5 == 0 else "normal",
        )
        book.tickets[t.key] = t
        if solved:
            s = Survey(
                key=f"S{n:06d}",
                customer_key=t.customer_key,
                kind="csat",
                score=5 if n % 4 else 1,
                comment=f"Rating for ticket {n}",
                contact_email=t.requester_email,
                ticket_key=t.key,
                responded_at=T0 + timedelta(minutes=10 * n + 60),
                updated_at=T0 + timedelta(minutes=10 * n + 60),
            )
            book.surveys[s.key] = s
    crm = ticket(9999, keys[0], minutes=5, channel="crm")
    book.tickets[crm.key] = crm
    return book


@dataclass
class Sandbox:
    ctx: SandboxContext
    served: ServedApp
    tls: TLSMaterial

    @property
    def base_url(self) -> str:
        return self.served.base_url

    @property
    def state(self) -> zsb.VendorState:
        return self.ctx.vendors[zsb.VENDOR]

    @property
    def token(self) -> str:
        return str(self.state.extra["initial_access_token"])

    @property
    def refresh_token(self) -> str:
        return str(self.state.extra["initial_refresh_token"])


@contextmanager
def served(book: Book, tls: TLSMaterial) -> Iterator[Sandbox]:
    ctx = SandboxContext(book=book, vendors={zsb.VENDOR: zsb.make_state(0)}, faults=Faults(seed=0))
    app = ServedApp(zsb.create_app(ctx), tls=tls, name="zendesk")
    ctx.base_urls[zsb.VENDOR] = app.base_url
    try:
        yield Sandbox(ctx=ctx, served=app, tls=tls)
    finally:
        app.shutdown()


def reset(sb: Sandbox, book: Book) -> Sandbox:
    """Reuse a running server for another test: new book, fresh vendor state, no faults, zero counters.

    (Stopping a werkzeug server waits out its 0.5 s poll interval, so tests share one server per module.)
    """
    with sb.ctx.lock:
        sb.ctx.book = book
        sb.ctx.vendors[zsb.VENDOR] = zsb.make_state(0)
        sb.ctx.faults.clear()
        sb.ctx.counters.reset()
    return sb


def cleanup_tls(material: TLSMaterial) -> None:
    """Remove the CA's temporary directory now rather than from a GC finalizer at interpreter exit.

    A TemporaryDirectory finalizer (rmtree) that the cycle collector happens to run inside a later compile()
    trips CPython 3.11.7's "AST constructor recursion depth mismatch" (seen when pytest's hypothesis plugin
    imports itself in the terminal summary, failing the run after every test passed).
    """
    if material._dir is not None:
        material._dir.cleanup()
