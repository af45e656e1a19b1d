"""Generate the named support adversarial set (adversarial.jsonl): short support messages, rule-written.

Written for this project (licence: the project's own): every template and filler below is original text, and
none of it is shared with the training generator (data/tickets/generate.py): its own products, its own
sentence frames. tests/nlp/test_adversarial_set.py checks that no message here shares a run of five words with
any training text and that no product name appears in the training generator. It is evaluation only:
nlp.train.load_all never reads this file.

The sets (id prefix = set name), each with the label a support lead would give:

- adv_requests (neutral): requests and questions about the plan, seats, billing or a call ("we would like to
  review our plan"): asking for something is not a complaint.
- adv_outages (negative): "cannot / unable / still not / at all / keeps failing" reports of something broken
  now, often short, lower case, without a single emotional word.
- adv_polite_complaints (negative): courteous wording around a real complaint.
- adv_sarcasm (negative): cheerful words about a failure.
- adv_howto_problems (neutral): matter-of-fact how-to questions that name an error or a problem.
- adv_courteous_requests (neutral), adv_courteous_outages (negative): the same request and outage templates
  wrapped in a friendly opener and/or a thank-you closer ("Hi! Hope you're well. ... Thanks so much!").
- adv_resolved_thanks (positive): thanks once a named problem is fixed (so problem words alone decide nothing).

Run: python data/tickets/adversarial.py   (writes adversarial.jsonl beside this file; same seed, same file)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # loaded by path (tests): find jsonl_out.py beside this file
    sys.path.append(str(HERE))

from jsonl_out import write_beside  # noqa: E402

SEED = 41414
PER_SET = 20

# Products and features named only here (never in generate.py's PRODUCTS; a test checks it).
PRODUCTS = [
    "the Slack integration",
    "the Zoom sync",
    "the Jira connector",
    "the Outlook add-in",
    "the QuickBooks link",
    "the Teams bot",
    "the Google Drive backup",
    "the audit trail",
    "the SAML setup",
    "the Shopify plugin",
    "the payroll file",
    "the Zapier trigger",
]
PLAN_WORDS = ["plan", "subscription", "contract", "licence", "pricing tier", "seat count"]
WHEN = ["before the renewal", "next month", "this quarter", "before our budget meeting", "in the new year"]
ERRORS = [
    "'token expired'",
    "error 4031",
    "'permission denied'",
    "a red 'sync paused' banner",
    "'rate limit reached'",
    "a grey empty panel",
]
ACTIONS = ["save a draft", "open a shared folder", "post an update", "add a new hire", "run the nightly job"]
# Courtesy around a request or an outage report carries no sentiment of its own ("Hope you're well ...
# Thanks so much!"): the courteous sets wrap the bare templates in one opener and/or one closer from here.
OPENERS = [
    "Hi! Hope you're well.",
    "Hello there, hope your week is going great!",
    "Hey :)",
    "Good afternoon!",
    "Hi folks, happy Friday!",
]
CLOSERS = [
    "Thanks so much!",
    "Thank you in advance!",
    "Many thanks, have a lovely day.",
    "Cheers!",
    "Appreciate it :)",
]

SETS: dict[str, tuple[str, list[str]]] = {
    "adv_requests": (
        "neutral",
        [
            "we would like to review our plan",
            "We would like to review our {plan} {when}.",
            "Could someone go through our {plan} with us {when}?",
            "I'd like to talk to someone about moving to fewer seats {when}.",
            "Can we set up a time to discuss our {plan}?",
            "please let me know what annual billing would cost for {n} users",
            "We're reviewing our tools {when} and need a summary of what our {plan} includes.",
            "Is it possible to pause our {plan} over the summer?",
            "Who do I speak to about adding {product} to our {plan}?",
            "Could you send over the terms of our current {plan}?",
            "We want to compare our {plan} with the next tier up before deciding.",
        ],
    ),
    "adv_outages": (
        "negative",
        [
            "cannot use the Slack integration at all right now",
            "cannot use {product} at all right now",
            "We are unable to open {product} since this morning.",
            "{Product} still not loading after two restarts",
            "{Product} keeps failing whenever we try to {action}.",
            "nobody on our team can get into {product} today",
            "still can't connect {product}, day three now",
            "{Product} is not working at all for any of our users.",
            "unable to {action}, {product} just spins",
            "{Product} has stopped syncing and we can't {action}.",
            "Tried again this afternoon: {product} still fails with {error}.",
        ],
    ),
    "adv_polite_complaints": (
        "negative",
        [
            "Sorry to moan, but {product} has let us down again this week.",
            "Thanks for your reply, although I must say the problem with {product} is still there "
            "and it's getting frustrating.",
            "With all due respect, we expected better after being told {product} would be stable.",
            "I appreciate the effort, but this is the fourth week {product} has given us {error}.",
            "Kindly note we are not happy that {product} was changed without any warning.",
            "I'm sorry to say it, but the last update to {product} made things worse for us.",
            "Please understand our disappointment: {product} failed during our busiest week.",
        ],
    ),
    "adv_sarcasm": (
        "negative",
        [
            "So glad {product} picked launch day to stop working. Fantastic timing.",
            "Oh perfect, {product} disconnected itself again. Love that for us.",
            "Really appreciate an hour on hold to hear 'have you tried logging out'.",
            "Amazing how {product} only breaks when the CEO is watching. Truly talented.",
            "Cool, {error} again from {product}. My favourite part of the day.",
            "Thanks for the 'fix' to {product}, now it fails twice as fast.",
            "Wow, another weekend rebuilding {product} by hand. Living the good life.",
        ],
    ),
    "adv_howto_problems": (
        "neutral",
        [
            "How do I reconnect {product} when it shows {error}?",
            "What's the usual fix when {product} says {error}?",
            "Is there a log that explains why {product} failed last night?",
            "Which setting controls retries if {product} times out?",
            "Where do I see which user broke {product} after the permission change?",
            "Does {product} need to be re-authorised after a password reset, or should it keep working?",
            "Can I test {product} in a sandbox before we {action}?",
        ],
    ),
    "adv_resolved_thanks": (
        "positive",
        [
            "{Product} is working again, thanks for the quick turnaround.",
            "The {error} message on {product} is gone now, appreciate your help!",
            "All good now, {product} reconnected without any trouble. Cheers!",
            "You were right about the token: {product} runs fine since the reset. Thank you!",
            "Just confirming {product} is back and we could {action}. Great support.",
            "Big thanks, the team can finally {action} again.",
        ],
    ),
}


# Courteous sets: (name, label, the bare set whose templates they wrap).
COURTEOUS = {
    "adv_courteous_requests": ("neutral", "adv_requests"),
    "adv_courteous_outages": ("negative", "adv_outages"),
}


def _courteous(body: str, rng: random.Random) -> str:
    """An opener, a closer or both around the body (never neither)."""
    form = rng.randrange(3)
    opener = rng.choice(OPENERS) if form != 1 else ""
    closer = rng.choice(CLOSERS) if form != 0 else ""
    return " ".join(p for p in (opener, body, closer) if p)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, rng: random.Random) -> str:
    product = rng.choice(PRODUCTS)
    return template.format(
        product=product,
        Product=_cap(product),
        plan=rng.choice(PLAN_WORDS),
        when=rng.choice(WHEN),
        error=rng.choice(ERRORS),
        action=rng.choice(ACTIONS),
        n=rng.choice([12, 25, 40, 75, 150]),
    )


def rows(seed: int = SEED, per_set: int = PER_SET) -> list[dict[str, str]]:
    """`per_set` unique messages per set, deterministic for the seed; each template is used before repeats."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    plan = [(name, label, templates, False) for name, (label, templates) in SETS.items()]
    plan += [(name, label, SETS[bare][1], True) for name, (label, bare) in COURTEOUS.items()]
    for name, label, templates, courteous in plan:
        n = attempts = 0
        while n < per_set and attempts < per_set * 100:
            template = templates[attempts % len(templates)]
            attempts += 1
            text = _fill(template, rng)
            if courteous:
                text = _courteous(text, rng)
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            n += 1
            out.append({"id": f"{name}-{n:02d}", "set": name, "label": label, "text": text})
    return out


def main() -> None:
    """Write adversarial.jsonl beside this file."""
    write_beside(__file__, rows())


if __name__ == "__main__":
    main()
