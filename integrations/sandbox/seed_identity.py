"""Names, domains and the cross-vendor identity mess of the seeded book.

How one customer shows up in Salesforce, HubSpot and Zendesk (`book.Presence`) is drawn here with the
proportions documented in integrations/sandbox/README.md: some records carry an explicit cross-reference,
most carry a usable domain, a few only match by a normalised name, about one in a hundred cannot be matched.

The name tables live in `seed_names`; the ones other modules read are re-exported here.
"""

from __future__ import annotations

import random
import re

from integrations.sandbox.seed_names import (
    _LEGAL,
    _LEGAL_TOKENS,
    _PREFIX,
    _STEM,
    _TLD,
    _WORD,
    AGENTS,
    FIRST,
    FREE_MAIL,
    INDUSTRIES,
    LAST,
    OWNERS,
    SHARED_DOMAINS,
    TITLES,
)

# Read by seed_builder/seed_tick and tests as `seed_identity.<name>`.
__all__ = [
    "AGENTS",
    "FREE_MAIL",
    "INDUSTRIES",
    "OWNERS",
    "SHARED_DOMAINS",
    "TITLES",
    "company_name",
    "crm_rename",
    "domain_for",
    "email_local",
    "normalise_name",
    "person",
    "zendesk_name",
]


def normalise_name(name: str) -> str:
    """The name key a sensible matcher compares: case, punctuation, '&' and legal suffixes removed."""
    text = name.lower().replace("&", " and ")
    tokens = [t for t in re.split(r"[^a-z0-9äöüß]+", text) if t and t not in _LEGAL_TOKENS]
    return " ".join(tokens)


def company_name(rng: random.Random) -> tuple[str, str]:
    """(display name, the root used for its domain)."""
    root = rng.choice(_PREFIX) + rng.choice(_STEM)
    word = rng.choice(_WORD)
    legal = rng.choice(_LEGAL)
    name = f"{root} {word}" + (f" {legal}" if legal else "")
    return name, f"{root}{word}".lower()


def domain_for(rng: random.Random, root: str) -> str:
    return root + rng.choice(_TLD)


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def email_local(first: str, last: str, rng: random.Random) -> str:
    f = re.sub(r"[^a-z]", "", first.lower().replace("ü", "ue"))
    ln = re.sub(r"[^a-z]", "", last.lower().replace("ü", "ue"))
    style = rng.random()
    if style < 0.55:
        return f"{f}.{ln}"
    if style < 0.8:
        return f"{f[0]}{ln}"
    return f"{f}{rng.randint(1, 99)}" if style < 0.9 else f


def zendesk_name(rng: random.Random, name: str, root_word: str) -> tuple[str, bool]:
    """How the helpdesk spells the customer: (name, still matches by normalised name?).

    55 % identical, 35 % a formatting variant ("Acme Corp" → "ACME Corporation Ltd"), 10 % renamed
    (region tag, legacy label, old short brand) so only an id or a domain can link it.
    """
    r = rng.random()
    if r < 0.55:
        return name, True
    base = re.sub(r"\s+(Inc\.?|LLC|Ltd|Corp|GmbH|Co\.|PLC|S\.A\.)$", "", name)
    if r < 0.90:
        variant = rng.choice(
            (
                base.upper() + " CORPORATION LTD",
                base + ", Inc.",
                base + " Limited",
                base.lower(),
                base,
                base + " Corp.",
                base.upper(),
                base + " LLC",
                base.replace(" ", "  "),
                base + " Co",
            )
        )
        return variant, True
    renamed = rng.choice(
        (
            base + " (EMEA)",
            base + " - Legacy",
            base.split(" ")[0],
            base + " Holdings",
            "Old " + base,
            base + " APAC",
            root_word.upper()[:4] + " " + base.split(" ")[-1],
            base + " [do not use]",
        )
    )
    return renamed, normalise_name(renamed) == normalise_name(name)


def crm_rename(rng: random.Random, name: str) -> str:
    """A rename done in one system during a tick (rebrand or cleanup)."""
    base = re.sub(r"\s+(Inc\.?|LLC|Ltd|Corp|GmbH|Co\.|PLC|S\.A\.)$", "", name)
    return rng.choice((base + " Inc", base + " Group", base, base + " Ltd", base.upper()))
