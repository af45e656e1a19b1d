"""The seeded book of business: `generate_book` (deterministic per seed) and `advance` (a sandbox tick).

Every customer has a hidden latent health (0..1) that walks weekly over ~18 months of history (mean
reversion to a drifting baseline, noise, rare shocks, and for some renewals a sudden late shock) and drives
every signal with noise: ticket volume, priorities, escalations, reopens, reply and resolution times, the
tone of ticket threads, CSAT, NPS, contact recency, seat utilisation and renewal-deal progress. At each
renewal the outcome (renewed / churned) is drawn from the health of the last four weeks plus noise. The
process and its constants are documented in integrations/sandbox/README.md so backtest figures can be judged.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from integrations.sandbox import seed_identity as ident
from integrations.sandbox import seed_text as text
from integrations.sandbox.book import (
    Book,
    Changes,
    Comment,
    Contact,
    Customer,
    Deal,
    Presence,
    Survey,
    Ticket,
)

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 548  # ~18 months of activity before `now`
RENEWAL_DEAL_LEAD_DAYS = 150  # an open renewal deal exists this long before the renewal date
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

# segment -> mix share, median ARR, seat price, tickets/month at average health, contacts (min, max), churn bias
SEGMENTS = {
    "smb": (0.60, 12_000, 400, 0.55, (2, 4), 0.35),
    "mid_market": (0.30, 60_000, 520, 1.4, (4, 8), 0.0),
    "enterprise": (0.10, 260_000, 650, 3.2, (7, 14), -0.45),
}
PLANS = {"smb": ("starter", "growth"), "mid_market": ("growth", "enterprise"), "enterprise": ("enterprise",)}
GROUP_WEIGHTS = (0.36, 0.14, 0.16, 0.10, 0.10, 0.14)  # in seed_text.GROUPS order
TONE_BASE_CSAT = {"angry": 1.5, "negative": 2.3, "mixed": 3.1, "neutral": 3.9, "positive": 4.7}


@dataclass(frozen=True, slots=True)
class Traits:
    """Stable per-customer parameters, derived from (seed, key) so `advance` can recompute them."""

    base: float  # long-run health the walk reverts to
    drift: float  # weekly drift of that baseline
    noisiness: float  # ticket-volume multiplier unrelated to health ("noisy accounts that renew")


def traits(seed: int, key: str) -> Traits:
    r = random.Random(f"{seed}:traits:{key}")
    return Traits(
        base=r.betavariate(4.0, 2.0), drift=r.gauss(0.0, 0.0015), noisiness=r.lognormvariate(0.0, 0.45)
    )


def late_shock(seed: int, key: str, renewal: date) -> tuple[date, float] | None:
    """About 8 % of renewals are preceded by a sudden shock 10..60 days before (champion leaves, budget cut)."""
    r = random.Random(f"{seed}:shock:{key}:{renewal.isoformat()}")
    if r.random() >= 0.08:
        return None
    return renewal - timedelta(days=r.randint(10, 60)), r.uniform(0.25, 0.45)


def health_step(h: float, tr: Traits, week: int, rng: random.Random) -> float:
    """One week of the latent-health walk: mean reversion to a drifting baseline, noise, rare shocks."""
    target = min(0.95, max(0.05, tr.base + tr.drift * week))
    h += 0.04 * (target - h) + rng.gauss(0.0, 0.02)
    u = rng.random()
    if u < 0.006:
        h -= rng.uniform(0.15, 0.35)
    elif u < 0.010:
        h += rng.uniform(0.08, 0.2)
    return min(0.98, max(0.02, h))


def churn_probability(h_renewal: float, segment: str) -> float:
    """P(churn) at a renewal given the last four weeks' mean latent health; logistic plus a health-blind floor."""
    logit = -2.8 + SEGMENTS[segment][5] + 10.0 * (0.55 - h_renewal)
    return 0.02 + 0.98 / (1.0 + math.exp(-logit))


def health_at(customer: Customer, when: date) -> float:
    """The latent health on `when` (the last weekly point not after it)."""
    path = customer.health_path
    if not path:
        return customer.latent_health
    i = bisect.bisect_right(path, when, key=lambda p: p[0]) - 1
    return path[max(i, 0)][1]


def renewal_health(customer: Customer, renewal: date) -> float:
    pts = [h for d, h in customer.health_path if renewal - timedelta(days=28) <= d <= renewal]
    return sum(pts) / len(pts) if pts else health_at(customer, renewal)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    threshold, k, p = math.exp(-lam), 0, rng.random()
    while p > threshold:
        k += 1
        p *= rng.random()
    return k


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _money(x: float) -> Decimal:
    return Decimal(round(x / 100.0) * 100)


def _num(key: str) -> int:
    return int(key.lstrip("CKDTSM").split("-")[0])


class _Builder:
    """Creates book records with running key counters; shared by generate_book and advance."""

    def __init__(self, book: Book, rng: random.Random) -> None:
        self.book, self.rng = book, rng
        self.next = {
            p: (_num(next(reversed(d))) + 1 if d else 1)
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
            arr=_money(arr_prev),
            arr_prev=_money(arr_prev),
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

    # --- tickets ---------------------------------------------------------------------------------------
    def ticket(self, cust: Customer, h: float, created: datetime, now: datetime) -> Ticket:
        rng = self.rng
        contacts = self.contacts_of.get(cust.key) or []
        requester = rng.choice(contacts) if contacts else None
        channel = "zendesk" if cust.zendesk.present and rng.random() < 0.75 else "crm"
        owner_key = cust.key
        if channel == "zendesk" and cust.key in self.dup_of and rng.random() < 0.35:
            owner_key = self.dup_of[cust.key]
        group = rng.choices(text.GROUPS, weights=GROUP_WEIGHTS)[0]
        s = h + rng.gauss(0.0, 0.2) - (0.08 if group == "Billing" else 0.0)
        tone = (
            "angry"
            if s < 0.18
            else "negative"
            if s < 0.36
            else "mixed"
            if s < 0.45
            else "neutral"
            if s < 0.8
            else "positive"
        )
        p = 0.6 * (1 - h) + rng.gauss(0.0, 0.25) + (0.2 if tone == "angry" else 0.0)
        priority = "urgent" if p > 0.75 else "high" if p > 0.5 else "normal" if p > 0.0 else "low"
        escalated = rng.random() < 0.02 + 0.15 * (1 - h) ** 2 + (0.1 if priority == "urgent" else 0.0)
        reopens = 0
        while reopens < 3 and rng.random() < (0.05 + 0.2 * (1 - h)) / (1 + reopens):
            reopens += 1
        frt = int(
            {"urgent": 40, "high": 120, "normal": 360, "low": 900}[priority]
            * rng.lognormvariate(0, 0.8)
            * (1 + 0.4 * (1 - h))
        )
        res = frt + int(
            60
            * 20
            * rng.lognormvariate(0, 1.0)
            * (1 + reopens)
            * (1.8 if escalated else 1.0)
            * (1 + 0.6 * (1 - h))
        )
        subject, opening = text.subject(rng, group, cust.plan)
        t = Ticket(
            key=self.key("T"),
            customer_key=owner_key,
            channel=channel,  # type: ignore[arg-type]
            requester_email=requester.email if requester else f"info@{cust.domain}",
            subject=subject,
            priority=priority,
            status="open",
            escalated=escalated,
            reopens=reopens,  # type: ignore[arg-type]
            group="Tier 2" if escalated and rng.random() < 0.6 else group,
            created_at=created,
            updated_at=created,
            solved_at=None,
            first_reply_minutes=None,
            full_resolution_minutes=None,
            tone=tone,  # type: ignore[arg-type]
        )
        self.thread(t, cust, requester, opening, frt, res, now)
        return t

    def customer_tone(self, tone: str, i: int, last: bool) -> str:
        if tone == "mixed":
            return "positive" if last else ("angry" if i == 0 and self.rng.random() < 0.5 else "negative")
        if tone == "positive":
            return "neutral" if i == 0 and not last else "positive"
        if tone == "neutral" and last and self.rng.random() < 0.4:
            return "positive"
        return tone

    def thread(
        self,
        t: Ticket,
        cust: Customer,
        requester: Contact | None,
        opening: str,
        frt: int,
        res: int,
        now: datetime,
    ) -> None:
        """Customer opens, agent replies after `frt`, turns alternate until solved after `res` minutes."""
        rng = self.rng
        sender = (
            (requester.first_name, requester.last_name, requester.email, requester.title)
            if requester
            else ("Support", "Desk", t.requester_email, "IT")
        )
        agent = rng.choice(ident.AGENTS)
        turns = 2 + 2 * min(3, _poisson(rng, 0.5 + 0.6 * t.escalated + 0.5 * t.reopens))
        start, end = t.created_at, t.created_at + timedelta(minutes=res)
        times = [start, start + timedelta(minutes=frt)]
        span = max(1.0, (end - times[1]).total_seconds() / 60.0)
        times += sorted(times[1] + timedelta(minutes=rng.uniform(1, span)) for _ in range(turns - 2))
        prev: text.Message | None = None
        reopen_at = (
            set(rng.sample(range(2, turns, 2), k=min(t.reopens, (turns - 2) // 2))) if turns > 2 else set()
        )
        for i, when in enumerate(times):
            if when > now:
                break
            if i % 2 == 0:
                tone = self.customer_tone(t.tone, i, last=i >= turns - 2)
                prev = text.customer_mail(
                    rng,
                    tone=tone,
                    opening=opening if i == 0 else None,
                    plan=cust.plan,
                    sender=sender,
                    company=cust.name,
                    previous=prev,
                    when=when,
                    reopen=i in reopen_at,
                )
            else:
                prev = text.agent_mail(
                    rng,
                    agent=agent,
                    customer_first=sender[0],
                    plan=cust.plan,
                    group=t.group,
                    previous=prev,
                    when=when,
                    closing_thanks=i == turns - 1 and t.tone in ("positive", "mixed"),
                )
                if i == 1:
                    t.first_reply_minutes = frt
            self.add_comment(t, prev)
            if i == 1 and rng.random() < 0.12:
                note = text.agent_mail(
                    rng,
                    agent=agent,
                    customer_first="",
                    plan=cust.plan,
                    group=t.group,
                    previous=None,
                    when=when + timedelta(minutes=5),
                    internal=True,
                )
                if note.created_at <= now:
                    self.add_comment(t, note)
        if end <= now:
            self.solve(t, end, now)
        else:
            t.status = (
                "new"
                if len(t.comments) <= 1 and t.first_reply_minutes is None
                else rng.choice(("open", "pending"))
            )

    def add_comment(self, t: Ticket, m: text.Message) -> None:
        key = f"M{_num(t.key):07d}{len(t.comments):03d}"
        t.comments.append(
            Comment(
                key=key,
                ticket_key=t.key,
                author_role=m.role,
                author_email=m.author_email,  # type: ignore[arg-type]
                author_name=m.author_name,
                public=m.public,
                body=m.body,
                html_body=m.html_body,
                created_at=m.created_at,
            )
        )
        t.updated_at = max(t.updated_at, m.created_at)

    def solve(self, t: Ticket, when: datetime, now: datetime) -> None:
        t.solved_at = when
        t.full_resolution_minutes = int((when - t.created_at).total_seconds() // 60)
        closed = now - when > timedelta(days=4)  # Zendesk's default automation closes 4 days after solved
        t.status = "closed" if closed else "solved"
        t.updated_at = max(t.updated_at, when + timedelta(days=4) if closed else when)

    def csat(self, t: Ticket, h: float, now: datetime) -> Survey | None:
        rng = self.rng
        if t.solved_at is None or rng.random() >= 0.28:
            return None
        when = t.solved_at + timedelta(minutes=rng.randint(30, 4000))
        if when > now:
            return None
        score = int(_clip(round(TONE_BASE_CSAT[t.tone] + 1.0 * (h - 0.6) + rng.gauss(0, 0.8)), 1, 5))
        return self.survey(
            t.customer_key, "csat", score, text.csat_comment(rng, score), t.requester_email, t.key, when
        )

    def survey(
        self, ckey: str, kind: str, score: int, comment: str, email: str, tkey: str | None, when: datetime
    ) -> Survey:
        s = Survey(
            key=self.key("S"),
            customer_key=ckey,
            kind=kind,
            score=score,
            comment=comment,  # type: ignore[arg-type]
            contact_email=email,
            ticket_key=tkey,
            responded_at=when,
            updated_at=when,
        )
        self.book.surveys[s.key] = s
        return s

    def nps_wave(self, cust: Customer, h: float, when: datetime, until: datetime) -> list[str]:
        out = []
        for con in self.contacts_of.get(cust.key, []):
            if con.created_at < when and self.rng.random() < 0.28:
                score = int(_clip(round(1.8 + 9.5 * h + self.rng.gauss(0, 1.6)), 0, 10))
                at = min(when + timedelta(hours=self.rng.uniform(1, 240)), until)
                out.append(
                    self.survey(
                        cust.key, "nps", score, text.nps_comment(self.rng, score), con.email, None, at
                    ).key
                )
        return out

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
        return OPEN_STAGES[int(_clip(x * 4, 0, 3))]

    def resolve_renewal(self, cust: Customer, seed: int, changes: Changes) -> None:
        """Draw the outcome of the renewal at cust.renewal_date and update customer and renewal deal."""
        r = cust.renewal_date
        h = renewal_health(cust, r)
        churned = self.rng.random() < churn_probability(h, cust.segment)
        when = datetime.combine(r, datetime.min.time(), UTC) + timedelta(hours=self.rng.randint(8, 18))
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
        else:
            cust.arr_prev = cust.arr
            cust.arr = _money(float(cust.arr) * math.exp(self.rng.gauss(0.3 * (h - 0.6), 0.1)))
            deal.amount = cust.arr
            cust.renewal_date = r + timedelta(days=365)
        for p in (cust.salesforce, cust.hubspot):
            p.updated_at = when
        changes.customers.add(cust.key)


def _simulate(b: _Builder, cust: Customer, seed: int, start: datetime, now: datetime) -> None:
    """Walk one customer's health weekly from max(start, created) to now, emitting its activity."""
    rng, tr = b.rng, traits(seed, cust.key)
    first = max(start, cust.created_at)
    h = _clip(tr.base + rng.gauss(0.0, 0.08), 0.05, 0.95)
    lam_week = SEGMENTS[cust.segment][3] * 12 / 52 * tr.noisiness
    past_renewal = cust.renewal_date if cust.renewal_date < now.date() else None
    upcoming = past_renewal + timedelta(days=365) if past_renewal else cust.renewal_date
    # the upcoming renewal's late shock may already have happened when it is < 60 days away
    shocks = [s for r in (past_renewal, upcoming) if r and (s := late_shock(seed, cust.key, r))]
    week, t = 0, first
    sink = Changes()
    while t < now:
        for when, size in shocks:
            if when <= t.date() < when + timedelta(days=7):
                h = max(0.02, h - size)
        cust.health_path.append((t.date(), round(h, 4)))
        if past_renewal and t.date() > past_renewal and cust.outcome is None:
            b.resolve_renewal(cust, seed, sink)
            if cust.outcome == "churned":
                break
        onboarding = 2.0 if (t - cust.created_at).days < 60 else 1.0
        for _ in range(_poisson(rng, lam_week * onboarding * (0.45 + 1.6 * (1 - h)))):
            created = t + timedelta(minutes=rng.randint(0, 7 * 1440 - 1))
            if created < now:
                tk = b.ticket(cust, h, created, now)
                b.book.tickets[tk.key] = tk
                b.csat(tk, h, now)
        wave = _nps_wave_in(t.date(), 7)
        if wave is not None:
            b.nps_wave(cust, h, wave, now)
        if rng.random() < 0.004 * (2.5 if h > 0.6 else 0.5):
            _upsell(b, cust, h, t, now)
        h = health_step(h, tr, week, rng)
        week += 1
        t += timedelta(days=7)
    if past_renewal and cust.outcome is None:  # renewal fell in the last week before `now`
        b.resolve_renewal(cust, seed, sink)
    cust.latent_health = cust.health_path[-1][1] if cust.health_path else h
    end = (
        datetime.combine(cust.outcome_date, datetime.min.time(), UTC)
        if cust.outcome == "churned" and cust.outcome_date
        else now
    )
    b.touch_contacts(cust, end, cust.latent_health)
    util = _clip(0.3 + 0.6 * cust.latent_health + rng.gauss(0, 0.12), 0.05, 1.0)
    if cust.outcome != "churned":
        cust.active_users = max(1, round(cust.licensed_seats * util))
        days_left = (cust.renewal_date - now.date()).days
        if days_left <= RENEWAL_DEAL_LEAD_DAYS:
            created = now - timedelta(days=RENEWAL_DEAL_LEAD_DAYS - days_left)
            d = b.deal(
                cust,
                "renewal",
                cust.arr,
                b.renewal_stage(days_left, cust.latent_health, cust.key, cust.renewal_date),
                cust.renewal_date,
                created,
            )
            b.open_renewal[cust.key] = d.key
            d.updated_at = now - timedelta(days=rng.randint(0, 20))


def _nps_wave_in(first: date, days: int) -> datetime | None:
    """Quarterly NPS surveys go out on days whose ordinal is a multiple of 91 (the same dates for everyone)."""
    offset = -first.toordinal() % 91
    if offset >= days:
        return None
    return datetime.combine(first + timedelta(days=offset), datetime.min.time(), UTC) + timedelta(hours=9)


def _upsell(b: _Builder, cust: Customer, h: float, t: datetime, now: datetime) -> None:
    close = (t + timedelta(days=b.rng.randint(20, 90))).date()
    amount = _money(float(cust.arr) * b.rng.uniform(0.1, 0.4))
    if close < now.date():
        stage = "closed_won" if b.rng.random() < 0.3 + 0.6 * h else "closed_lost"
    else:
        stage = b.rng.choice(OPEN_STAGES[:3])
    d = b.deal(cust, "upsell", amount, stage, close, t)
    if stage.startswith("closed"):
        d.updated_at = datetime.combine(close, datetime.min.time(), UTC)


def generate_book(seed: int = 0, accounts: int = 500, now: datetime | None = None) -> Book:
    """A deterministic book of `accounts` customers with ~18 months of history ending at `now`."""
    now = now or DEFAULT_NOW
    book = Book(seed=seed, now=now)
    b = _Builder(book, random.Random(seed))
    names: set[str] = set()
    domains: list[str] = []
    start = now - timedelta(days=HISTORY_DAYS)
    for i in range(1, accounts + 1):
        cust = b.customer(i, now, names, domains)
        book.customers[cust.key] = cust
        b.deal(
            cust,
            "new_business",
            cust.arr_prev,
            "closed_won",
            cust.created_at.date(),
            cust.created_at - timedelta(days=45),
        )
        if cust.zendesk.present and b.rng.random() < 0.015:
            dup = b.duplicate(cust)
            book.customers[dup.key] = dup
        b.contacts(cust, now)
        _simulate(b, cust, seed, start, now)
        if cust.key in b.dup_of:
            book.customers[b.dup_of[cust.key]].latent_health = cust.latent_health
    return book


def advance(book: Book, days: int, rng: random.Random | None = None) -> Changes:
    """Move the book clock `days` forward and generate that period's activity; returns what changed.

    Open tickets progress (replies, solves, auto-close, reopens), latent health walks on, new tickets with
    threads, CSAT and NPS arrive, renewal deals progress, renewals falling due resolve (outcome drawn),
    upsells open and close, a few records are deleted and a few customers renamed in one system.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    rng = rng or random.Random(f"{book.seed}:tick:{book.now.isoformat()}:{days}")
    b, changes = _Builder(book, rng), Changes()
    old, new = book.now, book.now + timedelta(days=days)
    if days == 0:
        return changes
    _progress_tickets(b, old, new, changes)
    for cust in list(book.customers.values()):
        if cust.zendesk.duplicate_of or cust.deleted_at or cust.outcome == "churned":
            continue
        _advance_customer(b, cust, old, new, changes)
    _mess(b, old, new, changes)
    book.now = new
    return changes


def _advance_customer(b: _Builder, cust: Customer, old: datetime, new: datetime, changes: Changes) -> None:
    rng, seed = b.rng, b.book.seed
    tr = traits(seed, cust.key)
    last = cust.health_path[-1][0] if cust.health_path else old.date()
    h = health_at(cust, last)
    while last + timedelta(days=7) <= new.date():
        nxt = last + timedelta(days=7)
        h = health_step(h, tr, len(cust.health_path), rng)
        shock = late_shock(seed, cust.key, cust.renewal_date)
        if shock and last < shock[0] <= nxt:
            h = max(0.02, h - shock[1])
        cust.health_path.append((nxt, round(h, 4)))
        last = nxt
    cust.latent_health = h
    end = new
    while cust.renewal_date <= new.date() and cust.outcome != "churned":
        b.resolve_renewal(cust, seed, changes)
        if cust.outcome == "churned" and cust.outcome_date:
            end = datetime.combine(cust.outcome_date, datetime.min.time(), UTC) + timedelta(hours=18)
    lam_day = SEGMENTS[cust.segment][3] * 12 / 365 * tr.noisiness
    day = old
    while day < end:
        hd = health_at(cust, day.date())
        for _ in range(_poisson(rng, lam_day * (0.45 + 1.6 * (1 - hd)))):
            created = day + timedelta(minutes=rng.randint(0, 1439))
            if old < created < end:
                tk = b.ticket(cust, hd, created, new)
                b.book.tickets[tk.key] = tk
                changes.tickets.add(tk.key)
                s = b.csat(tk, hd, new)
                if s:
                    changes.surveys.add(s.key)
        day += timedelta(days=1)
    if cust.outcome == "churned" and cust.outcome_date and cust.outcome_date <= new.date():
        return
    wave = _nps_wave_in(old.date() + timedelta(days=1), (new - old).days)
    if wave is not None and wave < new:
        changes.surveys.update(b.nps_wave(cust, h, wave, new))
    days = (new - old).days
    if rng.random() < min(1.0, days / 30):
        changes.contacts.update(b.touch_contacts(cust, new, h))
    if rng.random() < min(1.0, days / 60):
        util = _clip(0.3 + 0.6 * h + rng.gauss(0, 0.12), 0.05, 1.0)
        cust.active_users, cust.updated_at = max(1, round(cust.licensed_seats * util)), new
        changes.customers.add(cust.key)
    _renewal_deal(b, cust, h, new, changes)
    if rng.random() < 0.004 * days / 7 * (2.5 if h > 0.6 else 0.5):
        _upsell(b, cust, h, new - timedelta(hours=rng.randint(1, 24 * days)), new)
        changes.deals.add(next(reversed(b.book.deals)))


def _renewal_deal(b: _Builder, cust: Customer, h: float, new: datetime, changes: Changes) -> None:
    days_left = (cust.renewal_date - new.date()).days
    if days_left > RENEWAL_DEAL_LEAD_DAYS:
        return
    key = b.open_renewal.get(cust.key)
    stage = b.renewal_stage(days_left, h, cust.key, cust.renewal_date)
    if key is None or b.book.deals[key].deleted_at is not None:
        d = b.deal(
            cust, "renewal", cust.arr, stage, cust.renewal_date, new - timedelta(hours=b.rng.randint(1, 48))
        )
        b.open_renewal[cust.key] = d.key
        changes.deals.add(d.key)
        return
    d = b.book.deals[key]
    if d.stage in OPEN_STAGES and OPEN_STAGES.index(stage) > OPEN_STAGES.index(d.stage):
        d.stage, d.updated_at = stage, new - timedelta(hours=b.rng.randint(1, 48))
        changes.deals.add(d.key)


def _progress_tickets(b: _Builder, old: datetime, new: datetime, changes: Changes) -> None:
    """Open tickets get replies or are solved; solved ones close after 4 days or, rarely, reopen."""
    rng, days = b.rng, (new - old).total_seconds() / 86400
    for t in b.book.tickets.values():
        if t.deleted_at is not None or t.status == "closed":
            continue
        cust = b.book.customers[t.customer_key]
        h = cust.latent_health
        last = max(t.updated_at, old)
        if t.status == "solved" and t.solved_at is not None:
            if rng.random() < 0.03 * (1.5 - h) and t.reopens < 3:
                when = last + (new - last) * rng.random()
                t.reopens, t.status, t.solved_at, t.full_resolution_minutes = (
                    t.reopens + 1,
                    "open",
                    None,
                    None,
                )
                b.add_comment(t, _mail(b, t, cust, "customer", when, reopen=True))
                changes.tickets.add(t.key)
            elif new - t.solved_at > timedelta(days=4):
                t.status, t.updated_at = "closed", t.solved_at + timedelta(days=4)
                changes.tickets.add(t.key)
            continue
        if rng.random() > 1 - math.exp(-days / 2):  # no activity on this ticket in a short tick
            continue
        when = last + (new - last) * rng.uniform(0.1, 0.9)
        if t.first_reply_minutes is None:
            b.add_comment(t, _mail(b, t, cust, "agent", when))
            t.first_reply_minutes = int((when - t.created_at).total_seconds() // 60)
        elif rng.random() < 1 - math.exp(-days / 6):
            b.add_comment(t, _mail(b, t, cust, "agent", when, closing=True))
            b.solve(t, when, new)
            s = b.csat(t, h, new)
            if s:
                changes.surveys.add(s.key)
        else:
            role = "customer" if t.comments and t.comments[-1].author_role == "agent" else "agent"
            b.add_comment(t, _mail(b, t, cust, role, when))
            t.status = "open" if role == "customer" else "pending"
        changes.tickets.add(t.key)


def _mail(
    b: _Builder,
    t: Ticket,
    cust: Customer,
    role: str,
    when: datetime,
    *,
    reopen: bool = False,
    closing: bool = False,
) -> text.Message:
    prev = t.comments[-1] if t.comments else None
    pm = (
        text.Message(
            prev.author_role,
            prev.author_name,
            prev.author_email,
            prev.public,
            prev.body,
            prev.html_body,
            prev.created_at,
        )
        if prev
        else None
    )
    if role == "customer":
        con = next(
            (
                c
                for c in b.contacts_of.get(cust.zendesk.duplicate_of or cust.key, [])
                if c.email == t.requester_email
            ),
            None,
        )
        sender = (
            (con.first_name, con.last_name, con.email, con.title)
            if con
            else ("Support", "Desk", t.requester_email, "IT")
        )
        tone = b.customer_tone(t.tone, len(t.comments), last=False)
        return text.customer_mail(
            b.rng,
            tone=tone,
            opening=None,
            plan=cust.plan,
            sender=sender,
            company=cust.name,
            previous=pm,
            when=when,
            reopen=reopen,
        )
    agent = next(
        ((c.author_name, c.author_email) for c in t.comments if c.author_role == "agent"),
        b.rng.choice(ident.AGENTS),
    )
    first = t.comments[0].author_name.split(" ")[0] if t.comments else "there"
    return text.agent_mail(
        b.rng,
        agent=agent,
        customer_first=first,
        plan=cust.plan,
        group=t.group,
        previous=pm,
        when=when,
        closing_thanks=closing,
    )


def _mess(b: _Builder, old: datetime, new: datetime, changes: Changes) -> None:
    """Deletions (contacts, spam tickets, stale upsell deals) and renames in one system, as real books see."""
    rng, days = b.rng, (new - old).days
    stamp = lambda: old + (new - old) * rng.random()  # noqa: E731
    for con in b.book.contacts.values():
        if con.deleted_at is None and rng.random() < 0.002 * days / 7:
            con.deleted_at = con.updated_at = max(stamp(), con.updated_at)
            changes.deleted.add(con.key)
            changes.contacts.discard(con.key)
    for key in sorted(changes.tickets):
        t = b.book.tickets[key]
        if t.created_at > old and rng.random() < 0.005:
            t.deleted_at = t.updated_at = max(t.updated_at, stamp())
            changes.deleted.add(key)
            changes.tickets.discard(key)
    for d in b.book.deals.values():
        if (
            d.deleted_at is None
            and d.kind == "upsell"
            and d.stage in OPEN_STAGES
            and rng.random() < 0.01 * days / 7
        ):
            d.deleted_at = d.updated_at = max(d.updated_at, stamp())
            changes.deleted.add(d.key)
    for cust in b.book.customers.values():
        if cust.deleted_at is None and rng.random() < 0.003 * days / 7:
            when = stamp()
            target = (
                cust.zendesk
                if cust.zendesk.present and rng.random() < 0.6
                else rng.choice((cust.salesforce, cust.hubspot))
            )
            if target.present:
                target.name, target.updated_at = ident.crm_rename(rng, target.name), when
                cust.updated_at = max(cust.updated_at or when, when)
                changes.customers.add(cust.key)
