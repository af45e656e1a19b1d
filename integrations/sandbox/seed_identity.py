"""Names, domains and the cross-vendor identity mess of the seeded book.

How one customer shows up in Salesforce, HubSpot and Zendesk (`book.Presence`) is drawn here with the
proportions documented in integrations/sandbox/README.md: some records carry an explicit cross-reference,
most carry a usable domain, a few only match by a normalised name, about one in a hundred cannot be matched.
"""

from __future__ import annotations

import random
import re

FREE_MAIL = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "aol.com",
)
# Domains many unrelated companies share (hosted sites, Microsoft tenants): never evidence of identity.
SHARED_DOMAINS = ("onmicrosoft.com", "myshopify.com", "wixsite.com", "squarespace.com", "github.io")

_PREFIX = (
    "Blue",
    "North",
    "Silver",
    "Red",
    "Green",
    "Bright",
    "Iron",
    "Summit",
    "Clear",
    "Oak",
    "Pine",
    "Swift",
    "Golden",
    "Stone",
    "River",
    "Cedar",
    "Maple",
    "Crystal",
    "Eagle",
    "Falcon",
    "Harbor",
    "Atlas",
    "Nova",
    "Apex",
    "Vertex",
    "Quantum",
    "Pioneer",
    "Liberty",
    "Heritage",
    "Sterling",
    "Coastal",
    "Granite",
    "Alpine",
    "Prairie",
    "Meridian",
    "Horizon",
    "Cobalt",
    "Crimson",
    "Evergreen",
    "Lighthouse",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Wayne",
    "Stark",
    "Tyrell",
    "Cyberdyne",
)
_STEM = (
    "",
    "stone",
    "field",
    "ridge",
    "wave",
    "peak",
    "line",
    "works",
    "gate",
    "point",
    "bridge",
    "leaf",
    "rock",
    "star",
    "wood",
    "view",
    "port",
    "dale",
    "brook",
    "light",
    "path",
    "forge",
    "core",
    "wing",
    "crest",
)
_WORD = (
    "Logistics",
    "Labs",
    "Health",
    "Systems",
    "Software",
    "Analytics",
    "Foods",
    "Media",
    "Consulting",
    "Energy",
    "Capital",
    "Retail",
    "Manufacturing",
    "Robotics",
    "Insurance",
    "Dental",
    "Legal",
    "Properties",
    "Travel",
    "Education",
    "Biotech",
    "Security",
    "Networks",
    "Design",
    "Marine",
    "Motors",
    "Pharma",
    "Solutions",
    "Partners",
    "Group",
)
_LEGAL = ("Inc", "Inc.", "LLC", "Ltd", "Corp", "GmbH", "", "", "", "Co.", "PLC", "S.A.")
_TLD = (".com", ".com", ".com", ".io", ".co", ".net", ".de", ".co.uk", ".fr", ".ca")
_LEGAL_TOKENS = {
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "gmbh",
    "co",
    "company",
    "plc",
    "sa",
    "ag",
    "bv",
    "pty",
    "the",
}
INDUSTRIES = (
    "Logistics",
    "Healthcare",
    "Software",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Media",
    "Education",
    "Energy",
    "Professional Services",
    "Real Estate",
    "Travel",
    "Biotech",
    "Insurance",
)
FIRST = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Frank",
    "Grace",
    "Hiro",
    "Isabel",
    "Jonas",
    "Kate",
    "Liam",
    "Maria",
    "Noah",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Emma",
    "Femi",
    "Giulia",
    "Hannah",
    "Ivan",
    "Julia",
    "Karim",
    "Lena",
    "Marco",
    "Nina",
    "Oscar",
    "Priya",
    "Raj",
    "Sofia",
    "Tom",
    "Ursula",
    "Victor",
    "Wen",
    "Yara",
    "Zack",
    "Mei",
    "Lucas",
    "Amara",
    "Felix",
    "Ines",
    "Kofi",
    "Leila",
    "Mateo",
    "Nora",
)
LAST = (
    "Smith",
    "Johnson",
    "Garcia",
    "Müller",
    "Rossi",
    "Nguyen",
    "Kim",
    "Patel",
    "Schmidt",
    "Brown",
    "Lopez",
    "Dubois",
    "Silva",
    "Kowalski",
    "Andersson",
    "Tanaka",
    "Okafor",
    "Novak",
    "Cohen",
    "Murphy",
    "Jensen",
    "Fischer",
    "Costa",
    "Ivanova",
    "Haddad",
    "Singh",
    "Walker",
    "Moreau",
    "Bianchi",
    "Yilmaz",
    "O'Brien",
    "Larsen",
    "Chen",
    "Weber",
    "Martin",
    "Reyes",
    "Hughes",
    "Kaur",
    "Novotny",
    "Becker",
    "Wright",
    "Sato",
)
TITLES = (
    "Operations Manager",
    "IT Administrator",
    "CTO",
    "Head of Customer Success",
    "Finance Manager",
    "Office Manager",
    "Product Owner",
    "VP Engineering",
    "Team Lead",
    "Marketing Director",
    "CEO",
    "Systems Engineer",
    "Procurement",
    "Data Analyst",
    "COO",
)
OWNERS = (
    "Alex Carter",
    "Bianca Ruiz",
    "Chris Doyle",
    "Dana Whitfield",
    "Eli Brandt",
    "Fatima Noor",
    "Greg Holm",
    "Hanna Berg",
    "Ian Frost",
    "Jade Lin",
    "Kevin Oduya",
    "Laura Pace",
    "Miguel Santos",
    "Nadia Petrova",
    "Owen Price",
    "Paula Greco",
    "Ravi Menon",
    "Sara Lind",
)
AGENTS = tuple(
    (f"{f} {ln}", f"{f.lower()}.{ln.lower()}@northpeak.io")
    for f, ln in (
        ("Maria", "Lopez"),
        ("James", "Park"),
        ("Aylin", "Demir"),
        ("Tom", "Becker"),
        ("Nora", "Quist"),
        ("Sven", "Ahl"),
        ("Lucia", "Ferro"),
        ("Dev", "Rao"),
        ("Kira", "Holt"),
        ("Omar", "Said"),
        ("Beth", "Lowe"),
        ("Jin", "Wu"),
        ("Ruth", "Adler"),
        ("Pablo", "Mena"),
        ("Ada", "Kerr"),
        ("Niko", "Laine"),
    )
)


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
