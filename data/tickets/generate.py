"""Generate rule-based labelled support messages (generated.jsonl) from templates, seeded and licence-clean.

Written for this project: every template and filler below is original text. The generator varies products,
politeness, sarcasm, neutral how-to questions that name a problem, and wraps messages in greetings,
signatures and quoted earlier replies (which the model's cleaner must strip), so the model sees support-shaped
text beyond the few hundred hand-written tickets.

Labels follow the support-team convention: a plain question or request, even one that names an error, is
neutral; a complaint, however polite or sarcastic, is negative; thanks and praise are positive.

Run: python data/tickets/generate.py   (writes generated.jsonl beside this file; same seed, same file)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260
PER_LABEL = 330

PRODUCTS = [
    ("the CSV export", "export"),
    ("the Salesforce sync", "sync"),
    ("the mobile app", "app"),
    ("the invoice page", "billing"),
    ("single sign-on", "sso"),
    ("the reporting dashboard", "dashboard"),
    ("the API", "api"),
    ("the email notifications", "notifications"),
    ("the calendar integration", "calendar"),
    ("the search bar", "search"),
    ("the bulk import", "import"),
    ("two-factor login", "2fa"),
    ("the webhook delivery", "webhooks"),
    ("the HubSpot connector", "hubspot"),
    ("the user permissions screen", "permissions"),
]
PROBLEMS = [
    "times out",
    "shows a blank page",
    "returns a 500 error",
    "drops half the rows",
    "logs everyone out",
    "sends duplicate emails",
    "is stuck on 'processing'",
    "crashes on start",
    "shows last week's numbers",
    "rejects valid passwords",
]
DURATIONS = [
    "since Monday",
    "for three days",
    "all week",
    "again today",
    "since the last update",
    "for a month",
]

# Sarcasm built from parts: a cheerful opener, a concrete support failure, and an ironic closing line. The
# parts were written for this generator, apart from the hand-written challenge set (data/tickets/challenge.jsonl
# is test data; tests/nlp/test_data_sets.py checks no generated text shares a 5-word run with it). The same
# openers also start genuine thanks (GOOD_EVENTS, positive), so the words "great"/"love" alone decide nothing:
# what happened does.
IRONIC_OPENERS = [
    "Marvellous.",
    "Oh, lovely.",
    "Splendid.",
    "How delightful.",
    "Well, that's just super.",
    "Stellar job, everyone.",
    "Bravo.",
    "Top-notch work.",
    "Oh joy.",
    "Smashing.",
    "Great stuff.",
    "Outstanding.",
    "Nice one.",
    "Wow, impressive.",
]
BAD_EVENTS = [
    "{product} {problem} the morning of our audit",
    "my case was marked solved while {product} still {problem}",
    "the renewal quote went up 40% and {product} still {problem}",
    "your bot answered my outage report with a link to the pricing page",
    "the status page says all systems operational while {product} {problem}",
    "we got charged twice this {month} and nobody can tell me why",
    "the hotfix for {product} broke the two things that used to work",
    "I've explained the issue to five different agents and each one asked for the same screenshots",
    "the 'priority' queue means a reply in nine working days",
    "the release notes call removing the {short} filter an improvement",
    "our whole sales team spent the afternoon staring at a spinner",
    "the migration you promised would take an hour is on day four",
    "{product} {problem} {duration} and the escalation email bounced",
    "the engineer who owned my ticket left and it went back to the start of the queue",
]
IRONIC_TAILS = [
    "Truly world-class.",
    "Keep up the great work.",
    "Ten out of ten, would suffer again.",
    "Can't wait to see what breaks next.",
    "Exactly what we pay the premium tier for.",
    "Really making my week.",
    "Living the dream over here.",
    "Clearly the best decision we ever made.",
    "What would we do without you.",
    "Slow clap.",
    "Nailed it.",
    "Please, never change.",
    "I'm sure the board will be thrilled.",
]
# "Thanks for ..." where what is thanked for is a failure.
IRONIC_THANKS = [
    "Thanks for {bad}. {Tail}",
    "Much obliged for {bad}. {Tail}",
    "So kind of you to arrange {bad}. {Tail}",
]
THANKED_FAILURES = [
    "the surprise downtime during our busiest hour",
    "{product} logging our whole team out in the middle of payroll",
    "the invoice in a currency we don't use",
    "the four-day wait for a one-line answer",
    "{product} quietly deleting last month's notes",
    "the upgrade that turned every date into the year 1970",
]
GOOD_EVENTS = [
    "{product} works again after your fix",
    "my case was solved within the hour",
    "the renewal went through without a hitch",
    "your agent walked me through {product} step by step",
    "the migration finished a day early",
    "the refund arrived this morning",
    "the new {short} filter saves our team hours",
    "the engineer called back exactly when promised",
]
SINCERE_TAILS = [
    "Thank you!",
    "Much appreciated.",
    "Really grateful for the help.",
    "Please pass on our thanks to the team.",
    "That's the service we hoped for.",
    "",
]

NEGATIVE = {
    "blunt": [
        "{Product} {problem} {duration}. Fix it.",
        "{Product} {problem}. This is not acceptable for what we pay.",
        "{Product} {problem} {duration} and nobody has replied to my last two emails.",
        "We are losing a day of work every time {product} {problem}.",
        "I'm done waiting. {Product} {problem} {duration} and I want a refund for this month.",
    ],
    "polite": [
        "Sorry to bother you again, but {product} {problem} {duration}. It is making things quite hard for our team.",
        "I'm afraid {product} still {problem}. We were told it was fixed, so this is rather disappointing.",
        "Could you please look into this? {Product} {problem} {duration} and our customers have started to notice.",
        "With respect, this is the third time I've reported that {product} {problem}. We'd really appreciate a proper fix.",
        "I hate to complain, but {product} {problem} {duration} and it's costing us time we don't have.",
        "I appreciate you're busy, but we've had no update in a week while {product} {problem}.",
    ],
    "sarcastic": [
        "Great, {product} {problem} again. Just what I needed on a Monday.",
        "Love how {product} {problem} every single time we have a deadline. Really impressive.",
        "Fantastic, another update and {product} {problem}. Thanks a lot.",
        "Oh wonderful, {product} {problem} {duration}. Five stars for consistency.",
        "Brilliant work on the new release: {product} {problem}. Who tests this stuff?",
        "Wow, {product} {problem} yet again. At least it's reliable at being broken.",
    ],
    "sarcastic_composed": ["{opener} {Bad}. {Tail}", "{Bad}. {opener} {Tail}", "{opener} {Bad}."],
    "sarcastic_thanks": IRONIC_THANKS,
    "angry": [
        "This is ridiculous. {Product} {problem} {duration} and support keeps closing my ticket.",
        "Absolutely fed up. {Product} {problem} and we are seriously considering cancelling.",
        "Unbelievable. {Product} {problem} {duration}. Escalate this now.",
    ],
}
NEUTRAL = {
    "howto": [
        "How do I fix it when {product} {problem}?",
        "What should I check if {product} {problem}?",
        "Is there a setting that stops {product} from timing out on large accounts?",
        "Where can I find the logs for {product}?",
        "How do I give a new colleague access to {product}?",
        "Can {product} be scheduled to run at night?",
        "Which plan includes {product}?",
        "Is there a way to change the default language of {product}?",
        "What does the error code E{code} mean in {product}?",
        "Does {product} work with accounts that have more than 10,000 contacts?",
    ],
    "request": [
        "Please update the billing email on our account to finance@{company}.com.",
        "Could you send us a copy of the invoice for {month}?",
        "Please add two more seats to our plan from next month.",
        "We would like to schedule a call about {product} next week.",
        "Can you confirm which IP addresses {product} connects from? Our firewall team needs the list.",
        "Please close this ticket; we will open a new one if {product} {problem} again.",
        "Attached is the screenshot you asked for. The request ID is {code}.",
    ],
    "status": [
        "Our admin changed this morning, so please send future updates to the new contact.",
        "Just checking: is the maintenance window for {product} still on {month} 14th?",
        "We are moving to the new workspace on Friday; {product} will be reconfigured then.",
        "For your records, the ticket number from our side is {code}.",
        "I am following up on the question about {product} from yesterday.",
    ],
}
POSITIVE = {
    "thanks": [
        "Thank you so much, {product} works perfectly now!",
        "That fixed it. Really appreciate the quick help with {product}.",
        "Thanks for sorting out {product} so fast, the team is happy.",
        "Great support as always, {product} is back to normal.",
        "Many thanks, the new setting for {product} was exactly what we needed.",
    ],
    "praise": [
        "We love the new {short} features, it has saved us hours this week.",
        "{Product} has been rock solid since the update, great job.",
        "Just wanted to say {product} is the best part of your product. Keep it up!",
        "Our managers are delighted with the reports from {product}.",
        "Your agent was patient and clear, and {product} now runs smoothly. Five stars.",
    ],
    "genuine": ["{opener} {Good}. {Sincere}", "{Good}. {opener} {Sincere}"],
    "relieved": [
        "Finally working! {Product} synced everything overnight. Thank you.",
        "Phew, {product} is back. Thanks for staying on it with us.",
        "After the fix {product} no longer {problem}. Brilliant, thank you.",
    ],
}
# Support text the first templates lacked (issue 14, adversarial review): outage reports made of negation alone
# ("can't", "unable", "still not", "won't", "no longer") with no emotional word; requests about the plan,
# seats and billing; and both wrapped in courtesy ("Hope all is good on your end ... Thanks a bunch!"), which
# carries no sentiment of its own. Written apart from the named adversarial set (data/tickets/adversarial.py,
# test data with its own products and sentence frames; tests/nlp/test_adversarial_set.py checks no 5-word run
# and no product name is shared).
OUTAGES = [
    "We can't get {product} to work at all {duration}.",
    "Unable to log in to {product} {duration}.",
    "{Product} is still not sending anything {duration}.",
    "{Product} keeps erroring out every time someone on the team uses it.",
    "None of our users can reach {product} {duration}.",
    "{product} still down, same as yesterday",
    "{Product} refuses to start on any of our machines.",
    "{Product} no longer works since the update.",
    "{Product} won't load for anyone in the office {duration}.",
    "Our admins cannot get past the login screen of {product}.",
    "{Product} fails every single time we press save.",
    "still no way to open {product} here",
]
PLAN_REQUESTS = [
    "Can you tell me what's in our current package?",
    "I want to check how many licences we have left.",
    "Our finance team asks for a breakdown of next year's fees.",
    "Is a discount available if we commit for two years?",
    "We're thinking about the higher tier; what would change for us?",
    "Please arrange a call with our account manager about the renewal.",
    "I need to go through our billing options with someone in {month}.",
    "We'd like to reduce the number of users on our account from {month}.",
    "Does our package include {product}, or is it an add-on?",
    "Why doesn't {product} list archived users? Just trying to understand the setting.",
    "Is it expected that {product} does not show deleted records?",
    "Could we get a quote for adding {product} for the whole company?",
]
FIXED_THANKS = [
    "No more {short} errors since your patch yesterday. Thank you!",
    "{Product} behaves again after the reset you suggested, much appreciated.",
    "The issue where {product} {problem} has not come back since the fix. Great work.",
    "Confirmed on our side: {product} is fine now. Thanks for staying with it.",
    "Whatever you changed worked: {product} has been fine all morning. Thanks!",
    "{Product} is running smoothly again, you made our week.",
    "Happy to report {product} no longer {problem}. Thanks for the quick fix.",
]
COURTESY_OPENERS = [
    "Hope all is good on your end.",
    "Trust you had a nice weekend.",
    "Hi hi!",
    "Morning all, hope you're keeping well.",
    "Hello and happy Monday!",
    "Hey there, hope the day's treating you kindly.",
    "Good morning :)",
]
COURTESY_CLOSERS = [
    "Thanks a bunch!",
    "Much appreciated in advance.",
    "Have a good one!",
    "Thanks again, you're great.",
    "Many thanks :)",
    "Cheers, have a nice weekend.",
    "Thank you kindly!",
    "Grateful for any help!",
]
# New styles per label: (templates, wrap in courtesy, sometimes lower case without the final stop).
SUPPORT_STYLES: dict[str, dict[str, tuple[list[str], bool]]] = {
    "negative": {"outage": (OUTAGES, False), "courteous_outage": (OUTAGES, True)},
    "neutral": {
        "plan": (PLAN_REQUESTS, False),
        "courteous_request": (PLAN_REQUESTS + NEUTRAL["request"] + NEUTRAL["howto"], True),
    },
    "positive": {"fixed_thanks": (FIXED_THANKS, False)},
}
# How many rows a label generated.jsonl holds of these styles: none. Retrains with 120 and 60 a label raised the
# adversarial set but lowered the LOSO tweets fold and mean beyond noise (docs/sentiment-model.md, "Courtesy
# around requests and outages"), so they are not in the training data; `--support-per-label N` writes them.
SUPPORT_PER_LABEL = 0

GREETINGS = ["Hi team,", "Hello,", "Dear Support,", "Hi there,", "Good morning,", "Hey,", ""]
SIGNATURES = [
    "Best regards,\n{name}",
    "Thanks,\n{name}\n{name} | Operations Lead | {company}",
    "Kind regards,\n{name}\nSent from my iPhone",
    "Cheers,\n{name}",
    "--\n{name}\n{company} Ltd, 12 High Street",
    "",
]
QUOTES = [
    "On Tue, 3 Mar 2026 at 10:01, Support <help@vendor.io> wrote:\n> Thanks for reaching out! We have logged this with our engineers.\n> Have a great day!",
    "-----Original Message-----\nFrom: Support\nSent: Monday\n> Great news, the issue is resolved. Let us know if anything else comes up.",
    "On Fri, Support wrote:\n> We're sorry for the trouble and are looking into it.",
    "",
]
NAMES = ["Jo", "Priya", "Marcus", "Lena", "Tomasz", "Aisha", "Ben", "Chen", "Sofia", "Raj"]
COMPANIES = ["acme", "northwind", "globex", "initech", "umbrella", "hooli", "vandelay"]
MONTHS = ["March", "April", "May", "June", "July"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, rng: random.Random) -> str:
    product, short = rng.choice(PRODUCTS)
    values = {
        "product": product,
        "Product": product[0].upper() + product[1:],
        "short": short,
        "problem": rng.choice(PROBLEMS),
        "duration": rng.choice(DURATIONS),
        "code": str(rng.randint(100, 9999)),
        "company": rng.choice(COMPANIES),
        "month": rng.choice(MONTHS),
        "name": rng.choice(NAMES),
    }
    # Composed parts (opener, event, closing line) are filled from the same product and problem.
    if "{opener}" in template or "{Bad}" in template or "{Good}" in template or "{bad}" in template:
        parts = {
            "opener": rng.choice(IRONIC_OPENERS),
            "Bad": _cap(rng.choice(BAD_EVENTS).format(**values)),
            "bad": rng.choice(THANKED_FAILURES).format(**values),
            "Tail": rng.choice(IRONIC_TAILS),
            "Good": _cap(rng.choice(GOOD_EVENTS).format(**values)),
            "Sincere": rng.choice(SINCERE_TAILS),
        }
        values = {**values, **parts}
    return template.format(**values).strip()


def _wrap(body: str, rng: random.Random) -> str:
    """Greeting, body, signature and a quoted earlier reply, each present by chance."""
    parts = []
    if rng.random() < 0.5:
        parts.append(rng.choice(GREETINGS))
    parts.append(body)
    if rng.random() < 0.5:
        parts.append(_fill(rng.choice(SIGNATURES), rng))
    text = "\n\n".join(p for p in parts if p)
    if rng.random() < 0.25:
        text += "\n\n" + rng.choice(QUOTES)
    return text


def rows(seed: int = SEED, per_label: int = PER_LABEL) -> list[dict[str, str]]:
    """`per_label` unique messages per label, deterministic for the seed."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, styles in (("negative", NEGATIVE), ("neutral", NEUTRAL), ("positive", POSITIVE)):
        n = attempts = 0
        while n < per_label and attempts < per_label * 50:
            attempts += 1
            style = rng.choice(sorted(styles))
            text = _wrap(_fill(rng.choice(styles[style]), rng), rng)
            if text in seen:
                continue
            seen.add(text)
            n += 1
            out.append({"id": f"gen-{label[:3]}-{n:03d}", "label": label, "style": style, "text": text})
    return out


def _courtesy(body: str, rng: random.Random) -> str:
    """An opener, a closer or both around the body (never neither)."""
    form = rng.randrange(3)
    opener = rng.choice(COURTESY_OPENERS) if form != 1 else ""
    closer = rng.choice(COURTESY_CLOSERS) if form != 0 else ""
    return " ".join(p for p in (opener, body, closer) if p)


def support_rows(seed: int, per_label: int = SUPPORT_PER_LABEL) -> list[dict[str, str]]:
    """The later styles (SUPPORT_STYLES): `per_label` unique messages per label, deterministic for the seed.

    A generator of their own, so the first rows (`rows`) are the same as before they were added."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, styles in SUPPORT_STYLES.items():
        n = attempts = 0
        while n < per_label and attempts < per_label * 50:
            attempts += 1
            style = rng.choice(sorted(styles))
            templates, courteous = styles[style]
            body = _fill(rng.choice(templates), rng)
            if rng.random() < 0.25:  # typed fast: lower case, no final stop
                body = body.lower().rstrip(".")
            text = _courtesy(body, rng) if courteous else body
            if rng.random() < 0.3:
                text = _wrap(text, rng)
            if text in seen:
                continue
            seen.add(text)
            n += 1
            out.append({"id": f"gen-{label[:3]}-s{n:03d}", "label": label, "style": style, "text": text})
    return out


def all_rows(seed: int = SEED, support_per_label: int = SUPPORT_PER_LABEL) -> list[dict[str, str]]:
    """What generated.jsonl holds: `rows` and then `support_rows` (seeded with seed + 1; none for 0)."""
    return rows(seed) + (support_rows(seed + 1, support_per_label) if support_per_label else [])


def main(argv: list[str] | None = None) -> None:
    """Write generated.jsonl beside this file (`--support-per-label N`: that many later-style rows per label)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--support-per-label", type=int, default=SUPPORT_PER_LABEL)
    args = parser.parse_args(argv)
    with (HERE / "generated.jsonl").open("w", encoding="utf-8") as fh:
        for row in all_rows(support_per_label=args.support_per_label):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
