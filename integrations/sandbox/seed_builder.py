"""Record factories of the seeded book: customers with their identity mess, contacts, tickets with threads,
CSAT/NPS, deals and renewal resolution, with running key counters (shared by generation and ticks).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.sandbox import seed_identity as ident
from integrations.sandbox.book import (
    Book,
    Changes,
    Contact,
    Customer,
    Deal,
    Presence,
)
from integrations.sandbox.seed_model import (
    OPEN_STAGES,
    PLANS,
    RENEWAL_DEAL_LEAD_DAYS,
    SEGMENTS,
    churn_probability,
    clip,
    key_number,
    money,
    renewal_health,
)
from integrations.sandbox.seed_tickets import TicketFactory


class Builder(TicketFactory):
    """Creates book records with running key counters; shared by generate_book and advance."""

    def __init__(self, book: Book, rng: random.Random) -> None:
        self.book, self.rng = book, rng
        self.next = {
            p: (key_number(next(reversed(d))) + 1 if d else 1)
            for p, d in (("K", book.contacts), ("D", book.deals), ("T", book.tickets), ("S", book.surveys))
        }
        self.contacts_of: dict[str, list[Contact]] = {}
        for c in book.contacts.values():
            if c.deleted_at is None:
                self.contacts_of.setdefault(c.customer_key, []).append(c)
        self.dup_of = {c.zendesk.duplicate_of: k for k, c in book.customers.items() if c.zendesk.duplicate_of}
        self.open_renewal = {
            d.customer_key: d.key
            for d in book.deals.values()
            if d.kind == "renewal" and d.deleted_at is None and not d.stage.startswith("closed")
        }
        self.domain_set: set[str] = set()

    def key(self, prefix: str, width: int = 7) -> str:
        n = self.next[prefix]
        self.next[prefix] = n + 1
        return f"{prefix}{n:0{width}d}"

    # --- customers -------------------------------------------------------------------------------------
    def customer(self, i: int, now: datetime, names: set[str], domains: list[str]) -> Customer:
        rng = self.rng
        seg = rng.choices(list(SEGMENTS), weights=[s[0] for s in SEGMENTS.values()])[0]
        _, median, seat_price, *_ = SEGMENTS[seg]
        while True:
            name, root = ident.company_name(rng)
            norm = ident.normalise_name(name)
            if norm not in names or rng.random() < 0.004:  # rare legit twins ("Apex Systems Inc"/"... GmbH")
                break
        names.add(norm)
        if domains and rng.random() < 0.01:
            domain = rng.choice(domains)  # a second customer on the same domain (parent/subsidiary)
        else:
            domain = ident.domain_for(rng, root)
            while domain in self.domain_set:
                domain = ident.domain_for(rng, root + str(rng.randint(2, 99)))
        domains.append(domain)
        self.domain_set.add(domain)
        arr_prev = median * rng.lognormvariate(0.0, 0.45)
        if rng.random() < 0.12:  # signed within the last year: no past renewal yet
            created = now - timedelta(days=rng.randint(20, 330), minutes=rng.randint(0, 1439))
            renewal = (created + timedelta(days=365)).date()
        else:
            anniversary = (now - timedelta(days=rng.randint(1, 364))).date()
            created = datetime.combine(anniversary, datetime.min.time(), UTC) - timedelta(
                days=365 * rng.randint(1, 5)
            )
            renewal = anniversary
        seats = max(3, int(arr_prev / seat_price))
        cust = Customer(
            key=f"C{i:06d}",
            name=name,
            domain=domain,
            segment=seg,
            plan=rng.choice(PLANS[seg]),  # type: ignore[arg-type]
            industry=rng.choice(ident.INDUSTRIES),
            owner=rng.choice(ident.OWNERS),
            arr=money(arr_prev),
            arr_prev=money(arr_prev),
            created_at=created,
            renewal_date=renewal,
            active_users=seats,
            licensed_seats=seats,
            latent_health=0.5,
            updated_at=created,
        )
        self.presences(cust, root, domains)
        return cust

    def presences(self, cust: Customer, root: str, domains: list[str]) -> None:
        rng = self.rng
        r = rng.random()
        crm_domains = [] if r < 0.04 else ["www." + cust.domain] if r < 0.07 else [cust.domain]
        in_zendesk = rng.random() < 0.93
        cust.salesforce = Presence(
            name=cust.name,
            domains=list(crm_domains),
            cross_ref=in_zendesk and rng.random() < 0.15,
            updated_at=cust.created_at,
        )
        cust.hubspot = Presence(
            name=cust.name,
            domains=list(crm_domains),
            cross_ref=in_zendesk and rng.random() < 0.40,
            updated_at=cust.created_at,
        )
        zname, _ = ident.zendesk_name(rng, cust.name, root)
        cust.zendesk = Presence(
            present=in_zendesk,
            name=zname,
            domains=self.zendesk_domains(cust, domains),
            cross_ref=in_zendesk and rng.random() < 0.35,
            updated_at=cust.created_at,
        )

    def zendesk_domains(self, cust: Customer, domains: list[str]) -> list[str]:
        r = self.rng.random()
        if r < 0.03:
            return []
        if r < 0.055:
            return [self.rng.choice(ident.FREE_MAIL)]
        if r < 0.065:
            return [f"{cust.domain.split('.')[0]}.{self.rng.choice(ident.SHARED_DOMAINS)}"]
        if r < 0.0665 and len(domains) > 1 and cust.segment != "enterprise":
            return [self.rng.choice(domains[:-1])]  # stale domain of another customer: the trap for matchers
        return [cust.domain] + (["www." + cust.domain] if r > 0.97 else [])

    def duplicate(self, cust: Customer) -> Customer:
        """An extra Zendesk-only organization duplicating `cust` (created by a second import)."""
        rng = self.rng
        dup_name = rng.choice(
            (cust.name.upper(), cust.name + " (2)", cust.zendesk.name + " ", cust.name.replace(" ", ""))
        )
        dom = [] if rng.random() < 0.5 else [cust.domain]
        created = cust.created_at + timedelta(days=rng.randint(30, 300))
        dup = Customer(
            key=cust.key + "-dup",
            name=dup_name,
            domain=cust.domain,
            segment=cust.segment,
            plan=cust.plan,
            industry=cust.industry,
            owner=cust.owner,
            arr=Decimal(0),
            arr_prev=Decimal(0),
            created_at=created,
            renewal_date=cust.renewal_date,
            active_users=0,
            licensed_seats=0,
            latent_health=cust.latent_health,
            updated_at=created,
            salesforce=Presence(present=False),
            hubspot=Presence(present=False),
            zendesk=Presence(
                name=dup_name,
                domains=dom,
                cross_ref=rng.random() < 0.05,
                duplicate_of=cust.key,
                updated_at=created,
            ),
        )
        self.dup_of[cust.key] = dup.key
        return dup

    def contacts(self, cust: Customer, now: datetime) -> None:
        rng = self.rng
        lo, hi = SEGMENTS[cust.segment][4]
        free_share = 0.2 if cust.segment == "smb" else 0.07
        for _ in range(rng.randint(lo, hi)):
            first, last = ident.person(rng)
            dom = rng.choice(ident.FREE_MAIL) if rng.random() < free_share else cust.domain
            created = cust.created_at + timedelta(
                days=rng.randint(0, max(1, (now - cust.created_at).days // 3))
            )
            con = Contact(
                key=self.key("K"),
                customer_key=cust.key,
                first_name=first,
                last_name=last,
                email=f"{ident.email_local(first, last, rng)}@{dom}",
                title=rng.choice(ident.TITLES),
                last_contacted_at=None,
                created_at=created,
                updated_at=created,
            )
            self.book.contacts[con.key] = con
            self.contacts_of.setdefault(cust.key, []).append(con)

    def touch_contacts(self, cust: Customer, now: datetime, h: float) -> list[str]:
        """CRM 'last contacted' recency: healthy accounts are talked to more recently."""
        changed = []
        for con in self.contacts_of.get(cust.key, []):
            gap = self.rng.expovariate(1.0 / (6.0 + 70.0 * (1.0 - h) ** 1.5))
            when = now - timedelta(days=gap)
            if when > con.created_at and (con.last_contacted_at is None or when > con.last_contacted_at):
                con.last_contacted_at, con.updated_at = when, max(con.updated_at, when)
                changed.append(con.key)
        return changed

    # --- deals -----------------------------------------------------------------------------------------
    def deal(
        self, cust: Customer, kind: str, amount: Decimal, stage: str, close: date, created: datetime
    ) -> Deal:
        label = {"new_business": "New Business", "renewal": f"Renewal {close.year}", "upsell": "Upsell"}[kind]
        d = Deal(
            key=self.key("D"),
            customer_key=cust.key,
            name=f"{cust.name} - {label}",
            kind=kind,  # type: ignore[arg-type]
            amount=amount,
            stage=stage,
            close_date=close,
            created_at=created,
            updated_at=created,
        )
        self.book.deals[d.key] = d
        return d

    def renewal_stage(self, days_left: int, h: float, cust_key: str, renewal: date) -> str:
        """Stage of an open renewal deal; the noise is fixed per renewal so ticks don't ratchet it up."""
        progress = (RENEWAL_DEAL_LEAD_DAYS - days_left) / RENEWAL_DEAL_LEAD_DAYS
        noise = random.Random(f"{self.book.seed}:stage:{cust_key}:{renewal.isoformat()}").gauss(0.0, 0.12)
        x = progress * (0.45 + 0.8 * h) + noise
        return OPEN_STAGES[int(clip(x * 4, 0, 3))]

    def resolve_renewal(
        self, cust: Customer, seed: int, changes: Changes, now: datetime | None = None
    ) -> None:
        """Draw the outcome of the renewal at cust.renewal_date and update customer and renewal deal; a
        renewal due on the clock's own day is stamped no later than the clock (`now`)."""
        r = cust.renewal_date
        h = renewal_health(cust, r)
        churned = self.rng.random() < churn_probability(h, cust.segment)
        when = datetime.combine(r, datetime.min.time(), UTC) + timedelta(hours=self.rng.randint(8, 18))
        if now is not None:
            when = min(when, now)  # the draw stays: every later draw of the book is as before
        open_key = self.open_renewal.pop(cust.key, None)
        deal = self.book.deals[open_key] if open_key else None
        if deal is None or deal.deleted_at is not None:
            deal = self.deal(
                cust, "renewal", cust.arr, "negotiation", r, when - timedelta(days=RENEWAL_DEAL_LEAD_DAYS)
            )
        deal.stage, deal.updated_at = ("closed_lost" if churned else "closed_won"), when
        changes.deals.add(deal.key)
        cust.outcome, cust.outcome_date, cust.updated_at = ("churned" if churned else "renewed"), r, when
        if churned:
            cust.active_users = 0
            cust.usage_path.append((when, 0))
        else:
            cust.arr_prev = cust.arr
            cust.arr = money(float(cust.arr) * math.exp(self.rng.gauss(0.3 * (h - 0.6), 0.1)))
            deal.amount = cust.arr
            cust.renewal_date = r + timedelta(days=365)
        for p in (cust.salesforce, cust.hubspot):
            p.updated_at = when
        changes.customers.add(cust.key)


def nps_wave_in(first: date, days: int) -> datetime | None:
    """Quarterly NPS surveys go out on days whose ordinal is a multiple of 91 (the same dates for everyone)."""
    offset = -first.toordinal() % 91
    if offset >= days:
        return None
    return datetime.combine(first + timedelta(days=offset), datetime.min.time(), UTC) + timedelta(hours=9)


def upsell(b: Builder, cust: Customer, h: float, t: datetime, now: datetime) -> None:
    close = (t + timedelta(days=b.rng.randint(20, 90))).date()
    amount = money(float(cust.arr) * b.rng.uniform(0.1, 0.4))
    if close < now.date():
        stage = "closed_won" if b.rng.random() < 0.3 + 0.6 * h else "closed_lost"
    else:
        stage = b.rng.choice(OPEN_STAGES[:3])
    d = b.deal(cust, "upsell", amount, stage, close, t)
    if stage.startswith("closed"):
        d.updated_at = datetime.combine(close, datetime.min.time(), UTC)
