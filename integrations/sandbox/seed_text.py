"""Support-mail text for the seeded book: subjects and multi-turn threads written like real e-mail.

Threads are composed from many small fragments (greetings, problem statements, tone-specific sentences,
closings, signatures, quoted replies, mobile footers) so a sentiment model sees varied wording. The tone a
thread was written with is returned to the caller, who keeps it as ground truth (`Ticket.tone`).

The phrase tables live in `seed_phrases`; the names other modules read (`GROUPS`) are re-exported here.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime

from integrations.sandbox.seed_phrases import (
    AGENT_ACKS,
    AGENT_ACTIONS,
    AGENT_CLOSINGS,
    AGENT_GREETINGS,
    CLOSINGS,
    CSAT_COMMENTS,
    ERRORS,
    FEATURES,
    GREETINGS,
    GROUPS,
    INTERNAL_NOTES,
    MOBILE_FOOTERS,
    MONTHS,
    NPS_COMMENTS,
    REOPEN_LINES,
    TONE_LINES,
    TOPICS,
    VENDOR_DOMAIN,
    VENDOR_NAME,
    WEEKDAYS,
)

# Read by seed_builder/seed_tick and tests as `seed_text.<name>`.
__all__ = [
    "GROUPS",
    "VENDOR_DOMAIN",
    "VENDOR_NAME",
    "Message",
    "agent_mail",
    "csat_comment",
    "customer_mail",
    "nps_comment",
    "subject",
]


@dataclass(frozen=True, slots=True)
class Message:
    """One mail in a thread, before it becomes a book Comment."""

    role: str  # "customer" | "agent"
    author_name: str
    author_email: str
    public: bool
    body: str
    html_body: str
    created_at: datetime


def _fill(rng: random.Random, text: str, plan: str) -> str:
    if "{" not in text:
        return text
    return text.format(
        f=rng.choice(FEATURES), e=rng.choice(ERRORS), n=rng.randint(2, 48), m=rng.choice(MONTHS), p=plan
    )


def subject(rng: random.Random, group: str, plan: str) -> tuple[str, str]:
    """A subject line and the opening problem statement for a ticket in `group`."""
    subjects, problems = TOPICS[group]
    return _fill(rng, rng.choice(subjects), plan), _fill(rng, rng.choice(problems), plan)


def _date_line(when: datetime) -> str:
    return f"{WEEKDAYS[when.weekday()]}, {when.day} {MONTHS[when.month - 1][:3]} {when.year} at {when:%H:%M}"


def _quote(previous: Message, rng: random.Random) -> str:
    lines = [ln for ln in previous.body.split("\n") if ln and not ln.startswith(">")][:4]
    header = rng.choice(
        ("On {d}, {n} <{e}> wrote:", "On {d} {n} wrote:", "-----Original Message-----\nFrom: {n} <{e}>")
    )
    head = header.format(d=_date_line(previous.created_at), n=previous.author_name, e=previous.author_email)
    return head + "\n" + "\n".join("> " + ln for ln in lines)


def _to_html(body: str) -> str:
    parts = []
    for para in body.split("\n\n"):
        if para.startswith(("On ", "-----Original")) or para.startswith(">"):
            parts.append("<blockquote>" + html.escape(para).replace("\n", "<br>") + "</blockquote>")
        else:
            parts.append("<p>" + html.escape(para).replace("\n", "<br>") + "</p>")
    return "<div>" + "".join(parts) + "</div>"


def customer_mail(
    rng: random.Random,
    *,
    tone: str,
    opening: str | None,
    plan: str,
    sender: tuple[str, str, str, str],
    company: str,
    previous: Message | None,
    when: datetime,
    reopen: bool = False,
) -> Message:
    """A customer's mail: greeting, problem or follow-up, tone lines, closing, signature, quote, footer."""
    first, last, email, title = sender
    paras: list[str] = []
    greet = rng.choice(GREETINGS)
    if greet:
        paras.append(greet)
    body: list[str] = []
    if reopen:
        body.append(rng.choice(REOPEN_LINES))
    if opening:
        body.append(opening)
    k = {"angry": 2, "negative": 2, "neutral": 1, "positive": 1}[tone]
    for line in rng.sample(TONE_LINES[tone], k=rng.randint(1, k)):
        body.append(_fill(rng, line, plan))
    if tone != "positive" and rng.random() < 0.35:
        body.append(_fill(rng, rng.choice(TONE_LINES["neutral"]), plan))
    paras.append(" ".join(body))
    closing = rng.choice(CLOSINGS)
    sig = f"{first} {last}" if rng.random() < 0.6 else first
    if rng.random() < 0.5:
        sig += f"\n{title} | {company}"
    if rng.random() < 0.2:
        sig += f"\n+1 ({rng.randint(200, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"
    paras.append(f"{closing}\n{sig}" if closing else sig)
    if rng.random() < 0.15:
        paras.append(rng.choice(MOBILE_FOOTERS))
    if previous is not None and rng.random() < 0.55:
        paras.append(_quote(previous, rng))
    text = "\n\n".join(paras)
    return Message("customer", f"{first} {last}", email, True, text, _to_html(text), when)


def agent_mail(
    rng: random.Random,
    *,
    agent: tuple[str, str],
    customer_first: str,
    plan: str,
    group: str,
    previous: Message | None,
    when: datetime,
    internal: bool = False,
    closing_thanks: bool = False,
) -> Message:
    """An agent's reply (or an internal note) with acknowledgement, action and a support signature."""
    name, email = agent
    if internal:
        text = _fill(rng, rng.choice(INTERNAL_NOTES), plan)
        return Message("agent", name, email, False, text, _to_html(text), when)
    paras = [rng.choice(AGENT_GREETINGS).format(name=customer_first)]
    lines = [rng.choice(AGENT_ACKS)] if rng.random() < 0.8 else []
    if closing_thanks:
        lines.append(
            rng.choice(
                (
                    "Glad to hear it's working now!",
                    "Happy we could help.",
                    "Great news, I'll mark this ticket as solved.",
                    "Thanks for confirming.",
                )
            )
        )
    else:
        lines.append(rng.choice(AGENT_ACTIONS))
    if rng.random() < 0.4:
        lines.append(
            rng.choice(
                (
                    "Let me know if there is anything else.",
                    "Feel free to reply to this e-mail.",
                    "Have a great day.",
                    "We're here if you need anything else.",
                )
            )
        )
    paras.append(" ".join(lines))
    paras.append(f"{rng.choice(AGENT_CLOSINGS)}\n{name}\n{group} | {VENDOR_NAME} Support")
    if previous is not None and rng.random() < 0.3:
        paras.append(_quote(previous, rng))
    text = "\n\n".join(paras)
    return Message("agent", name, email, True, text, _to_html(text), when)


def csat_comment(rng: random.Random, score: int) -> str:
    return rng.choice(CSAT_COMMENTS["good" if score >= 4 else "bad" if score <= 2 else "mid"])


def nps_comment(rng: random.Random, score: int) -> str:
    return rng.choice(NPS_COMMENTS["promoter" if score >= 9 else "detractor" if score <= 6 else "passive"])
