"""Ticket factories of the seeded book: tickets with multi-turn threads, solves, CSAT and NPS surveys.

A mixin of `seed_builder.Builder` (it uses the builder's book, rng, key counters and contacts), kept apart so
each factory module stays small.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from integrations.sandbox import seed_identity as ident
from integrations.sandbox import seed_text as text
from integrations.sandbox.book import (
    Comment,
    Contact,
    Customer,
    Survey,
    Ticket,
)
from integrations.sandbox.seed_model import (
    GROUP_WEIGHTS,
    TONE_BASE_CSAT,
    clip,
    key_number,
    poisson,
)


class TicketFactory:
    """Ticket, thread and survey factories of `Builder` (needs book, rng, key(), contacts_of, dup_of)."""

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
        turns = 2 + 2 * min(3, poisson(rng, 0.5 + 0.6 * t.escalated + 0.5 * t.reopens))
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
        key = f"M{key_number(t.key):07d}{len(t.comments):03d}"
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
        score = int(clip(round(TONE_BASE_CSAT[t.tone] + 1.0 * (h - 0.6) + rng.gauss(0, 0.8)), 1, 5))
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
                score = int(clip(round(1.8 + 9.5 * h + self.rng.gauss(0, 1.6)), 0, 10))
                at = min(when + timedelta(hours=self.rng.uniform(1, 240)), until)
                out.append(
                    self.survey(
                        cust.key, "nps", score, text.nps_comment(self.rng, score), con.email, None, at
                    ).key
                )
        return out
