"""Generate the named long-mail test set (longmail.jsonl): long customer e-mails, rule-written and licence-clean.

Written for this project: every sentence below is original. Each message is 5-14 sentences in paragraphs:
a greeting, a polite preamble, context (setup, steps tried), the part that carries the sentiment, a closing
and a signature. The kinds, with the label a support lead would give:

- buried_complaint (negative): a friendly preamble and closing around one angry paragraph.
- long_polite_complaint (negative): a disappointed, courteous complaint spread over the whole mail.
- long_howto (neutral): a long how-to question with context that names errors and problems.
- long_thanks (positive): detailed thanks for help received.
- resolved_story (positive): a past problem told in detail, then the fix and thanks.

Two seeds: `dev` (rows ids longmail-dev-*) is where the span-scoring rule and its threshold were chosen; `test`
(longmail-test-*) is only reported. Neither is trained on (nlp.train.load_all never reads this file).

Run: python data/tickets/longmail.py   (writes longmail.jsonl beside this file; same seeds, same file)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # loaded by path (tests): find jsonl_out.py beside this file
    sys.path.append(str(HERE))

from jsonl_out import write_beside  # noqa: E402

SEEDS = {"dev": 7101, "test": 7202}
PER_KIND = 16

FEATURES = [
    "the quarterly forecast report",
    "the Zendesk ticket import",
    "the contract renewal workflow",
    "the shared inbox",
    "the territory assignment rules",
    "the usage analytics export",
    "the customer portal",
    "the invoice reminders",
]
ERRORS = ["error 0x4F2", "a 'sync token expired' banner", "an empty grid", "a timeout after 30 seconds"]

GREETINGS = ["Hi support team,", "Hello Dana,", "Dear Customer Success,", "Good afternoon,", "Hi all,"]
PREAMBLES = [
    "I hope your week is going well.",
    "Thanks for the webinar last month, it was genuinely useful.",
    "We have been on your platform for about three years now and most of the team relies on it daily.",
    "First of all, thank you for the quick answer on our previous question.",
    "I know you are dealing with a lot of requests, so I appreciate you reading this.",
    "Our operations lead asked me to get in touch on her behalf.",
]
CONTEXT = [
    "For context, we run {feature} every Monday for around forty account managers.",
    "We are on the Business plan with single sign-on enabled, and the admin account belongs to me.",
    "Nothing changed on our side: same browser, same network, same user roles as last quarter.",
    "I have attached two screenshots and the export log from this morning.",
    "Our IT team already cleared the caches and tried from a second office.",
]
ANGRY = [
    "Frankly, this is unacceptable. {Feature} has failed with {error} for eight days, our managers walked into "
    "a client review with nothing to show, and every reply from your side has been a copy-pasted apology.",
    "I am furious. We were promised a fix for {feature} two weeks ago and it is worse now: it shows {error} "
    "and your team keeps closing the case without asking us anything. We are looking at other vendors.",
    "This has become a disaster for us. {Feature} lost a full week of data, nobody warned us, and I had to "
    "explain to our CFO why the numbers were missing. I expect a credit and a proper explanation.",
    "To be blunt, the service has been terrible. Three escalations, no engineer assigned, and {feature} "
    "still throws {error} every time we open it.",
]
POLITE_COMPLAINT = [
    "I'm sorry to say that {feature} has not been working properly since the update; it shows {error} most "
    "mornings.",
    "We have raised this twice already and, with respect, the answers so far have not solved anything.",
    "It is becoming quite difficult to justify the renewal internally while this keeps happening.",
    "I would be grateful if someone could take real ownership of it, because our team is losing hours each week.",
    "I don't want to sound ungrateful, but this falls short of what we were told when we signed.",
]
QUESTIONS = [
    "When I open {feature} I sometimes get {error}. Is that expected while the nightly job runs, or should I "
    "change a setting?",
    "Could you tell me how to schedule {feature} for a different time zone? The documentation mentions "
    "{error} but not what to do about it.",
    "Which permission does a new manager need to see {feature}? At the moment she gets {error} when she "
    "signs in.",
    "Is there an API endpoint that returns the same data as {feature}, so we can load it into our warehouse?",
]
THANKS = [
    "I wanted to say a big thank you to Sam, who spent an hour with us on {feature} and explained everything "
    "patiently.",
    "The new setup works beautifully: {feature} now runs in under a minute and the team is delighted.",
    "Honestly, this is the best support experience we have had with any vendor this year.",
    "Everyone on our side noticed the difference, and our managers asked me to pass on their thanks.",
]
RESOLVED = [
    "Last week {feature} kept failing with {error}, and I will admit I was pretty annoyed at the time.",
    "Your engineer found the cause within a day, a mapping rule that our old admin had left behind.",
    "Since the fix everything has been running smoothly and the numbers finally match.",
    "Thank you for staying with it until it was properly solved, it made a real difference to us.",
]
CLOSINGS = [
    "Thanks in advance for your help.",
    "Looking forward to hearing from you.",
    "Have a lovely weekend.",
    "Let me know if you need anything else from me.",
    "Many thanks, and speak soon.",
]
SIGNATURES = ["Best regards,\nMorgan Lee\nRevenue Operations", "Kind regards,\nAnanya", "Cheers,\nTom", ""]

KINDS = {
    "buried_complaint": "negative",
    "long_polite_complaint": "negative",
    "long_howto": "neutral",
    "long_thanks": "positive",
    "resolved_story": "positive",
}


def _fill(text: str, feature: str, error: str) -> str:
    return text.format(feature=feature, Feature=feature[0].upper() + feature[1:], error=error)


def _message(kind: str, rng: random.Random) -> str:
    feature, error = rng.choice(FEATURES), rng.choice(ERRORS)
    preamble = " ".join(rng.sample(PREAMBLES, rng.randint(1, 3)))
    context = " ".join(rng.sample(CONTEXT, rng.randint(1, 3)))
    if kind == "buried_complaint":
        body = [context, rng.choice(ANGRY)]
    elif kind == "long_polite_complaint":
        body = [context, " ".join(rng.sample(POLITE_COMPLAINT, rng.randint(3, 4)))]
    elif kind == "long_howto":
        body = [context, " ".join(rng.sample(QUESTIONS, rng.randint(1, 2)))]
    elif kind == "long_thanks":
        body = [" ".join(rng.sample(THANKS, rng.randint(2, 3)))]
    else:
        body = [" ".join(RESOLVED[: rng.randint(3, 4)])]
    parts = [rng.choice(GREETINGS), preamble, *body, rng.choice(CLOSINGS), rng.choice(SIGNATURES)]
    return _fill("\n\n".join(p for p in parts if p), feature, error)


def rows() -> list[dict[str, str]]:
    """PER_KIND unique messages per kind and seed, deterministic."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for split, seed in SEEDS.items():
        rng = random.Random(seed)
        for kind, label in KINDS.items():
            n = 0
            while n < PER_KIND:
                text = _message(kind, rng)
                if text in seen:
                    continue
                seen.add(text)
                n += 1
                out.append(
                    {
                        "id": f"longmail-{split}-{kind}-{n:02d}",
                        "split": split,
                        "kind": kind,
                        "label": label,
                        "text": text,
                    }
                )
    return out


def main() -> None:
    """Write longmail.jsonl beside this file."""
    write_beside(__file__, rows())


if __name__ == "__main__":
    main()
