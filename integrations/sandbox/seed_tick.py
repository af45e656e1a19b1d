"""`advance`: one sandbox tick over the book (see integrations/sandbox/README.md, "advance()")."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from integrations.sandbox import seed_identity as ident
from integrations.sandbox import seed_text as text
from integrations.sandbox.book import (
    Book,
    Changes,
    Customer,
    Ticket,
)
from integrations.sandbox.seed_builder import Builder, nps_wave_in, upsell
from integrations.sandbox.seed_model import (
    OPEN_STAGES,
    RENEWAL_DEAL_LEAD_DAYS,
    SEGMENTS,
    health_at,
    health_step,
    late_shock,
    month_starts,
    monthly_active_users,
    poisson,
    traits,
    usage_time,
)


def advance(book: Book, days: int, rng: random.Random | None = None) -> Changes:
    """Move the book clock `days` forward and generate that period's activity; returns what changed.

    Open tickets progress (replies, solves, auto-close, reopens), latent health walks on, new tickets with
    threads, CSAT and NPS arrive, renewal deals progress, renewals falling due resolve (outcome drawn),
    upsells open and close, a few records are deleted and a few customers renamed in one system.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    rng = rng or random.Random(f"{book.seed}:tick:{book.now.isoformat()}:{days}")
    b, changes = Builder(book, rng), Changes()
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


def _advance_customer(b: Builder, cust: Customer, old: datetime, new: datetime, changes: Changes) -> None:
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
        b.resolve_renewal(cust, seed, changes, now=new)
        if cust.outcome == "churned" and cust.outcome_date:
            end = datetime.combine(cust.outcome_date, datetime.min.time(), UTC) + timedelta(hours=18)
    lam_day = SEGMENTS[cust.segment][3] * 12 / 365 * tr.noisiness
    day = old
    while day < end:
        hd = health_at(cust, day.date())
        for _ in range(poisson(rng, lam_day * (0.45 + 1.6 * (1 - hd)))):
            created = day + timedelta(minutes=rng.randint(0, 1439))
            # until the churn's evening, never past the clock (a renewal due on the tick's last day); the
            # draws past it stay so the rest of the tick is as before
            if old < created < end and created <= new:
                tk = b.ticket(cust, hd, created, new)
                b.book.tickets[tk.key] = tk
                changes.tickets.add(tk.key)
                s = b.csat(tk, hd, new)
                if s:
                    changes.surveys.add(s.key)
        day += timedelta(days=1)
    if cust.outcome == "churned" and cust.outcome_date and cust.outcome_date <= new.date():
        return
    wave = nps_wave_in(old.date() + timedelta(days=1), (new - old).days)
    if wave is not None and wave < new:
        changes.surveys.update(b.nps_wave(cust, h, wave, new))
    days = (new - old).days
    if rng.random() < min(1.0, days / 30):
        changes.contacts.update(b.touch_contacts(cust, new, h))
    # These two draws set the active users before the book kept a monthly usage history; they stay so the
    # tick's other draws are as before.
    if rng.random() < min(1.0, days / 60):
        rng.gauss(0, 0.12)
    for month in month_starts(old.date() - timedelta(days=1), new.date()):
        when = usage_time(month)
        if old < when <= new and cust.outcome != "churned":
            cust.active_users = monthly_active_users(
                seed, cust.key, cust.licensed_seats, health_at(cust, month), month
            )
            cust.usage_path.append((when, cust.active_users))
            cust.updated_at = max(cust.updated_at or when, when)
            changes.customers.add(cust.key)
    _renewal_deal(b, cust, h, new, changes)
    if rng.random() < 0.004 * days / 7 * (2.5 if h > 0.6 else 0.5):
        upsell(b, cust, h, new - timedelta(hours=rng.randint(1, 24 * days)), new)
        changes.deals.add(next(reversed(b.book.deals)))


def _renewal_deal(b: Builder, cust: Customer, h: float, new: datetime, changes: Changes) -> None:
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


def _progress_tickets(b: Builder, old: datetime, new: datetime, changes: Changes) -> None:
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
    b: Builder,
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


def _mess(b: Builder, old: datetime, new: datetime, changes: Changes) -> None:
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
