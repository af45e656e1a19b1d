"""Support-mail text for the seeded book: subjects and multi-turn threads written like real e-mail.

Threads are composed from many small fragments (greetings, problem statements, tone-specific sentences,
closings, signatures, quoted replies, mobile footers) so a sentiment model sees varied wording. The tone a
thread was written with is returned to the caller, who keeps it as ground truth (`Ticket.tone`).
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime

VENDOR_NAME = "Northpeak"  # the tenant: the SaaS company whose customers the book holds
VENDOR_DOMAIN = "northpeak.io"

FEATURES = (
    "dashboard",
    "reports export",
    "SSO login",
    "REST API",
    "webhooks",
    "CSV import",
    "mobile app",
    "notifications",
    "billing portal",
    "user provisioning",
    "Slack integration",
    "Salesforce sync",
    "audit log",
    "permissions",
    "scheduled reports",
    "search",
    "calendar sync",
    "custom fields",
    "data retention settings",
    "workflow automation",
    "PDF export",
    "two-factor authentication",
)
ERRORS = (
    "500 Internal Server Error",
    "403 Forbidden",
    "a blank page",
    "a spinning loader",
    "error E-1042",
    '"Something went wrong"',
    "a timeout after 30 seconds",
    "error code 0x80070005",
    "a 429 error",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# group -> (subject templates, problem statements); {f} feature, {e} error, {n} number, {m} month
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Technical Support": (
        (
            "{f} not loading",
            "Problem with {f}",
            "{f} shows {e}",
            "Can't get {f} to work",
            "{f} broken?",
            "Issue after latest update ({f})",
            "{f} is very slow today",
            "Urgent: {f} down",
        ),
        (
            "When we open the {f} we only get {e}.",
            "Since this morning the {f} returns {e} for most of our team.",
            "The {f} has been extremely slow for the last {n} days, pages take forever to load.",
            "Several users report that {f} stopped working after the last release.",
            "We are seeing {e} every time someone tries to use the {f}.",
            "Our team cannot use the {f} at all right now.",
            "The {f} works for admins but regular users get {e}.",
        ),
    ),
    "Billing": (
        (
            "Invoice question",
            "Charged twice in {m}",
            "Wrong amount on invoice #{n}",
            "Billing contact change",
            "VAT number missing on invoice",
            "Refund request",
            "Credit card update",
            "Payment failed?",
        ),
        (
            "Our {m} invoice shows a higher amount than what we agreed.",
            "We were charged twice for {m}, please check invoice #{n}.",
            "Could you update the billing contact on our account? Finance needs the invoices.",
            "The invoice is missing our VAT number, our accounting team cannot process it.",
            "We removed {n} seats last month but still got billed for them.",
            "Our card was declined although nothing changed on our side.",
        ),
    ),
    "Integrations": (
        (
            "Salesforce sync stopped",
            "API rate limit errors",
            "Webhook deliveries failing",
            "Slack notifications missing",
            "Zapier connection lost",
            "Integration keeps disconnecting",
        ),
        (
            "The Salesforce sync stopped on {m} {n} and nothing has synced since.",
            "Our API calls keep hitting {e} even though we stay under the documented limits.",
            "Webhook deliveries to our endpoint fail with {e}.",
            "The Slack integration no longer posts notifications to our channels.",
            "The connection to our CRM drops every few hours and we have to reconnect it by hand.",
        ),
    ),
    "Onboarding": (
        (
            "Help setting up {f}",
            "Getting started questions",
            "Training session for new users",
            "How do we configure {f}?",
            "Import of our historical data",
        ),
        (
            "We are new to the platform and would like some help configuring the {f}.",
            "Could you walk us through setting up {f} for {n} new users?",
            "We need to import about {n}000 records from our old tool, what is the best way?",
            "Is there documentation on how to roll out {f} to the whole company?",
        ),
    ),
    "Account Management": (
        (
            "Question about our renewal",
            "Adding {n} seats",
            "Plan comparison",
            "Contract question",
            "Downgrade options",
            "Reducing our seat count",
            "Pricing for next year",
        ),
        (
            "Our renewal is coming up and we would like to review our plan.",
            "We would like to add {n} more seats for the new team.",
            "Can you send us a comparison of the growth and enterprise plans?",
            "We are reviewing our tooling budget and need to understand our options.",
            "Management asked us to reduce the number of seats, what is the process?",
        ),
    ),
    "Tier 2": (
        (
            "Escalation: {f} data missing",
            "Data inconsistency in {f}",
            "Records disappeared from {f}",
            "Security question about {f}",
            "Permissions bug in {f}",
        ),
        (
            "Records we created yesterday are missing from the {f}.",
            "The numbers in the {f} don't match what we see in our own database.",
            "A user without admin rights was able to change settings in {f}.",
            "We need details about how {f} stores personal data for our security review.",
        ),
    ),
}
GROUPS = tuple(TOPICS)

GREETINGS = (
    "Hi,",
    "Hello,",
    "Hi team,",
    "Hello support,",
    "Hi there,",
    "Good morning,",
    "Dear support team,",
    "Hey,",
    "Hi all,",
    "Good afternoon,",
    "Hello Northpeak team,",
    "Hi support,",
    "",
)
AGENT_GREETINGS = (
    "Hi {name},",
    "Hello {name},",
    "Dear {name},",
    "Hi {name}!",
    "Good morning {name},",
    "Hey {name},",
    "Hi {name}, thanks for reaching out.",
    "Hello {name}, thank you for your message.",
)

TONE_LINES: dict[str, tuple[str, ...]] = {
    "angry": (
        "This is completely unacceptable.",
        "This is the third time this month and frankly we are fed up.",
        "We pay a lot of money for this and it simply does not work.",
        "Honestly this is a joke.",
        "Nobody has answered my last two emails!!",
        "I am extremely frustrated with the lack of response.",
        "Our whole team is blocked and our management is asking why we chose your product.",
        "If this isn't fixed today we will have to look at other vendors.",
        "Your status page says everything is fine, which is clearly not true.",
        "I want to speak to someone senior about this, right now.",
        "We are seriously reconsidering our contract.",
        "This keeps happening and nobody seems to care.",
        "Every week there is a new problem.",
        "I've wasted my entire morning on this.",
        "How is this still not fixed??",
        "Really disappointed, we expected much better.",
    ),
    "negative": (
        "This is becoming a real problem for us.",
        "Unfortunately the workaround you suggested did not help.",
        "We are a bit disappointed with how long this is taking.",
        "This is slowing our team down quite a lot.",
        "I'm not happy with how this has been handled so far.",
        "Still no luck on our side, sadly.",
        "It's frustrating that this worked fine a few weeks ago.",
        "We expected this to be resolved by now.",
        "Our users are starting to complain.",
        "This is not great timing for us, we have a deadline.",
        "To be honest the experience has been pretty poor lately.",
    ),
    "neutral": (
        "Could you please advise?",
        "Let me know if you need any further information.",
        "Please let us know what the next steps are.",
        "I've attached a screenshot for reference.",
        "This is not urgent, but we would like to understand what happened.",
        "Happy to jump on a call if that is easier.",
        "We are on the {p} plan, in case that matters.",
        "I checked the help center but couldn't find an answer.",
        "Thanks in advance.",
        "Can you confirm whether this is expected behaviour?",
        "Our account admin is in copy.",
    ),
    "positive": (
        "Thanks so much, that worked perfectly!",
        "You guys are great, really appreciate the quick help.",
        "Brilliant, everything is running smoothly again.",
        "Thank you, the team is really happy with the product.",
        "Great support as always!",
        "Perfect, thanks a lot for the fast turnaround.",
        "Really impressed with how quickly you sorted this out.",
        "Love the new {f}, by the way.",
        "Many thanks, this makes our life much easier.",
        "Awesome, that's exactly what we needed.",
        "Thanks for the excellent explanation.",
        "Much appreciated, have a great week!",
    ),
}
CLOSINGS = (
    "Thanks,",
    "Thank you,",
    "Best,",
    "Regards,",
    "Kind regards,",
    "Best regards,",
    "Cheers,",
    "Many thanks,",
    "Thx,",
    "BR,",
    "Sincerely,",
    "",
)
MOBILE_FOOTERS = (
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from Outlook for Android",
    "Get Outlook for iOS",
    "Sent from my Galaxy",
    "Sent from Mail for Windows",
)
AGENT_ACKS = (
    "Thanks for reaching out and sorry for the trouble.",
    "I'm sorry to hear about this.",
    "Thank you for the details, that helps a lot.",
    "Apologies for the inconvenience this has caused.",
    "Thanks for your patience while we looked into this.",
    "I understand how frustrating this must be.",
    "Thanks for the report.",
    "Good question!",
    "Thanks for getting back to me.",
)
AGENT_ACTIONS = (
    "I've reproduced the issue and passed it to our engineering team.",
    "Could you send us the exact time it happened and the affected user's e-mail?",
    "I've applied a fix on our side, could you please try again?",
    "This was caused by a configuration change on our side, which we have now rolled back.",
    "Could you clear the browser cache and try again in an incognito window?",
    "I've escalated this to our Tier 2 team, who will get back to you shortly.",
    "I've corrected the invoice and you should receive the updated copy today.",
    "Here is a link to the article that explains the setup step by step.",
    "I've scheduled a call with your account manager to go through the options.",
    "Our engineers deployed a patch this morning, everything should work now.",
    "I've added the seats to your account; they are available right away.",
    "We are still investigating and I'll update you as soon as I hear back.",
)
AGENT_CLOSINGS = (
    "Best regards,",
    "Kind regards,",
    "Cheers,",
    "Best,",
    "Thanks,",
    "All the best,",
    "Warm regards,",
)
INTERNAL_NOTES = (
    "Internal: checked the logs, errors started after the {m} deploy.",
    "Internal note: customer is on the {p} plan, renewal coming up - handle with care.",
    "Internal: linked to engineering bug ENG-{n}.",
    "Internal: AM informed about this account.",
    "Internal: same issue as last week, possibly a regression.",
    "Internal: refunded via billing console, waiting for confirmation.",
)
REOPEN_LINES = (
    "Hi again, unfortunately the problem is back.",
    "Sorry to reopen this, but it is happening again.",
    "This is still not working for us.",
    "Reopening - the fix didn't last.",
    "Hello, same issue again since yesterday.",
)
CSAT_COMMENTS: dict[str, tuple[str, ...]] = {
    "good": (
        "Quick and helpful",
        "Great support",
        "Solved fast, thanks",
        "Very friendly agent",
        "Perfect",
        "",
    ),
    "mid": ("OK", "Took a while but solved", "Fine", "", "Average experience"),
    "bad": (
        "Took way too long",
        "Problem not really solved",
        "Nobody listened",
        "Terrible response time",
        "Had to chase several times",
        "",
    ),
}
NPS_COMMENTS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "Great product, our team loves it",
        "Easy to use and reliable",
        "Support is excellent",
        "Saves us hours every week",
        "",
        "Would recommend to any team our size",
    ),
    "passive": (
        "Does the job",
        "Good but a bit expensive",
        "Some features are missing",
        "",
        "Mostly fine",
        "The UI could be simpler",
    ),
    "detractor": (
        "Too many bugs lately",
        "Too expensive for what it does",
        "Support is slow",
        "We are evaluating alternatives",
        "Performance has gotten worse",
        "",
        "Missing basic features we need",
    ),
}


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
