"""Small hand-built Books and a served Salesforce sandbox for the Salesforce tests (no seed.py needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import requests

from integrations.sandbox import salesforce as sf_sandbox
from integrations.sandbox.book import Book, Comment, Contact, Customer, Deal, Presence, Survey, Ticket
from integrations.sandbox.context import Faults, SandboxContext
from integrations.sandbox.server import ServedApp, TLSMaterial

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")


def make_book(
    customers: int = 6,
    *,
    contacts_per: int = 2,
    deals_per: int = 1,
    tickets_per: int = 2,
    comments_per: int = 3,
    now: datetime = NOW,
) -> Book:
    """A deterministic little book: every customer in Salesforce, CRM-channel tickets, CSAT + NPS surveys."""
    book = Book(seed=0, now=now)
    t_no = 0
    for i in range(1, customers + 1):
        key = f"C{i:06d}"
        domain = f"customer{i}.example"
        stamp = now - timedelta(days=30, minutes=i)
        book.customers[key] = Customer(
            key=key,
            name=f"Customer {i} Inc",
            domain=domain,
            segment=("smb", "mid_market", "enterprise")[i % 3],  # type: ignore[arg-type]
            plan=("starter", "growth", "enterprise")[i % 3],
            industry="Software",
            owner=f"Rep {i % 4}",
            arr=Decimal(10000 * i),
            arr_prev=Decimal(9000 * i),
            created_at=now - timedelta(days=400),
            renewal_date=date(2026, 9, 1) + timedelta(days=i),
            active_users=10 * i,
            licensed_seats=12 * i,
            latent_health=0.5,
            # one change of active users each (AccountHistory): 8i when created, 10i since `stamp`
            usage_path=[(now - timedelta(days=400), 8 * i), (stamp, 10 * i)],
            updated_at=stamp,
            salesforce=Presence(
                name=f"Customer {i}", domains=[domain], cross_ref=i % 2 == 0, updated_at=stamp
            ),
        )
        for j in range(contacts_per):
            ck = f"K{i:04d}{j:03d}"
            book.contacts[ck] = Contact(
                key=ck,
                customer_key=key,
                first_name=f"Ann{j}",
                last_name=f"Lee{i}",
                email=f"ann{j}@{domain}",
                title="Ops",
                last_contacted_at=stamp,
                created_at=stamp - timedelta(days=10),
                updated_at=stamp,
            )
        for j in range(deals_per):
            dk = f"D{i:04d}{j:03d}"
            book.deals[dk] = Deal(
                key=dk,
                customer_key=key,
                name=f"Customer {i} - renewal {j}",
                kind=("renewal", "new_business", "upsell")[j % 3],  # type: ignore[arg-type]
                amount=Decimal(5000 + i),
                stage=STAGES[(i + j) % len(STAGES)],
                close_date=date(2026, 7, 1),
                created_at=stamp - timedelta(days=20),
                updated_at=stamp,
            )
        for j in range(tickets_per):
            t_no += 1
            tk = f"T{t_no:07d}"
            created = stamp - timedelta(days=5, hours=j)
            ticket = Ticket(
                key=tk,
                customer_key=key,
                channel="crm",
                requester_email=f"ann0@{domain}",
                subject=f"Problem {t_no}",
                priority=("low", "normal", "high", "urgent")[t_no % 4],  # type: ignore[arg-type]
                status=("new", "open", "pending", "solved", "closed")[t_no % 5],  # type: ignore[arg-type]
                escalated=t_no % 5 == 0,
                reopens=0,
                group="Tier 1",
                created_at=created,
                updated_at=stamp,
                solved_at=created + timedelta(hours=30) if t_no % 5 in (3, 4) else None,
                first_reply_minutes=30,
                full_resolution_minutes=1800 if t_no % 5 in (3, 4) else None,
                tone="neutral",
            )
            for k in range(comments_per):
                role = "customer" if k % 2 == 0 else "agent"
                ticket.comments.append(
                    Comment(
                        key=f"M{t_no:07d}{k:03d}",
                        ticket_key=tk,
                        author_role=role,  # type: ignore[arg-type]
                        author_email=f"ann0@{domain}" if role == "customer" else "agent@vendor.example",
                        author_name="Ann" if role == "customer" else "Agent Smith",
                        public=True,
                        body=f"Hello, message {k} on ticket {t_no}",
                        html_body=f"<p>Hello, message {k} on ticket {t_no}</p>",
                        created_at=created + timedelta(minutes=10 * k),
                    )
                )
            book.tickets[tk] = ticket
            book.surveys[f"S{t_no:07d}"] = Survey(
                key=f"S{t_no:07d}",
                customer_key=key,
                kind="csat",
                score=1 + t_no % 5,
                comment="ok",
                contact_email=f"ann0@{domain}",
                ticket_key=tk,
                responded_at=stamp,
                updated_at=stamp,
            )
        book.surveys[f"S9{i:06d}"] = Survey(
            key=f"S9{i:06d}",
            customer_key=key,
            kind="nps",
            score=i % 11,
            comment="would recommend",
            contact_email=f"ann1@{domain}",
            ticket_key=None,
            responded_at=stamp,
            updated_at=stamp,
        )
    return book


def make_ctx(book: Book, seed: int = 0) -> SandboxContext:
    return SandboxContext(
        book=book, vendors={sf_sandbox.VENDOR: sf_sandbox.make_state(seed)}, faults=Faults(seed)
    )


@dataclass
class SalesforceSandbox:
    """A served Salesforce sandbox: ctx, base URL, CA file and the initial tokens."""

    ctx: SandboxContext
    base_url: str
    ca_file: str

    @property
    def state(self) -> sf_sandbox.VendorState:
        return self.ctx.vendors[sf_sandbox.VENDOR]

    @property
    def access_token(self) -> str:
        return str(self.state.extra["initial_access_token"])

    @property
    def refresh_token(self) -> str:
        return str(self.state.extra["initial_refresh_token"])

    def reset(self, book: Book) -> SalesforceSandbox:
        """Fresh book, vendor state, faults and counters on the same running server (servers are slow to stop)."""
        self.ctx.book = book
        self.ctx.vendors[sf_sandbox.VENDOR] = sf_sandbox.make_state(0)
        self.ctx.faults.clear()
        self.ctx.counters.reset()
        return self

    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify = self.ca_file
        s.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
        return s


_TLS: list[TLSMaterial] = []


def tls() -> TLSMaterial:
    """One throwaway CA per test session (generating keys is the slow part)."""
    if not _TLS:
        _TLS.append(TLSMaterial.generate())
    return _TLS[0]


@contextmanager
def served(book: Book) -> Iterator[SalesforceSandbox]:
    ctx = make_ctx(book)
    material = tls()
    server = ServedApp(sf_sandbox.create_app(ctx), tls=material, name="salesforce")
    ctx.base_urls[sf_sandbox.VENDOR] = server.base_url
    try:
        yield SalesforceSandbox(ctx=ctx, base_url=server.base_url, ca_file=material.ca_file)
    finally:
        server.shutdown()
