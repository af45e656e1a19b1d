"""Identity matching rules (pure): helpdesk organization → CRM account.

Order: explicit id (either side names the other) → e-mail/web domain (never free-mail, never a domain
several CRM accounts share) → unique normalised name → unmatched (the review queue). Ambiguity is never
guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "qq.com",
        "163.com",
        "126.com",
        "free.fr",
        "orange.fr",
        "laposte.net",
        "t-online.de",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
    ]
)
_SUFFIXES = {
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "bv",
    "nv",
    "pty",
    "group",
    "holdings",
    "the",
    "and",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A CRM account as the matcher sees it."""

    account_id: int
    external_id: str
    name: str
    domains: tuple[str, ...]
    cross_ref: str | None  # the helpdesk organization id the CRM record names, if any


@dataclass(frozen=True, slots=True)
class Org:
    account_id: int
    external_id: str
    name: str
    domains: tuple[str, ...]
    cross_ref: str | None  # the CRM account id the organization names (Zendesk external_id)


@dataclass(frozen=True, slots=True)
class Match:
    crm_account_id: int | None
    method: str  # external_id | domain | name | unmatched
    confidence: float
    reason: str


def normalise_domain(value: str) -> str:
    v = value.strip().lower()
    v = re.sub(r"^[a-z]+://", "", v)
    v = v.split("/", 1)[0].split("@")[-1]
    return v.removeprefix("www.").rstrip(".")


def normalise_name(value: str) -> str:
    v = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    v = v.replace("&", " and ")
    # Dots and apostrophes join rather than split: "S.A." is the suffix "sa", "McDonald's" is one word.
    v = re.sub(r"[.']", "", v)
    words = [w for w in re.split(r"[^a-z0-9]+", v) if w and w not in _SUFFIXES]
    return " ".join(words)


def usable_domain(domain: str) -> bool:
    return bool(domain) and "." in domain and domain not in FREE_MAIL


class Index:
    """Lookups over the tenant's CRM accounts, built once per linking pass."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.by_external: dict[str, Candidate] = {}
        self.by_cross_ref: dict[str, list[Candidate]] = defaultdict(list)
        self.by_domain: dict[str, set[int]] = defaultdict(set)
        self.by_name: dict[str, set[int]] = defaultdict(set)
        for c in candidates:
            self.by_external[c.external_id] = c
            if c.cross_ref:
                self.by_cross_ref[c.cross_ref].append(c)
            for d in c.domains:
                nd = normalise_domain(d)
                if usable_domain(nd):
                    self.by_domain[nd].add(c.account_id)
            if c.name:
                self.by_name[normalise_name(c.name)].add(c.account_id)

    def domain_owner(self, domain: str) -> int | None:
        """The one CRM account using this domain; None if free-mail, unknown or shared."""
        nd = normalise_domain(domain)
        owners = self.by_domain.get(nd, set()) if usable_domain(nd) else set()
        return next(iter(owners)) if len(owners) == 1 else None


def match_org(org: Org, index: Index) -> Match:
    """Apply the rules in order; the first rule with exactly one answer wins."""
    if org.cross_ref and org.cross_ref in index.by_external:
        return Match(
            index.by_external[org.cross_ref].account_id, "external_id", 1.0, "organization external_id"
        )
    named = index.by_cross_ref.get(org.external_id, [])
    if len(named) == 1:
        return Match(named[0].account_id, "external_id", 1.0, "CRM record names this organization")
    owners = {o for d in org.domains if (o := index.domain_owner(d)) is not None}
    if len(owners) == 1:
        return Match(owners.pop(), "domain", 0.9, "unique e-mail domain")
    domain_note = _domain_reason(org.domains, index)
    name_hits = index.by_name.get(normalise_name(org.name), set()) if org.name else set()
    if len(name_hits) == 1:
        return Match(next(iter(name_hits)), "name", 0.7, "unique normalised name")
    reason = domain_note or ("several CRM accounts have this name" if name_hits else "no rule matched")
    return Match(None, "unmatched", 0.0, reason)


def _domain_reason(domains: Sequence[str], index: Index) -> str | None:
    for d in domains:
        nd = normalise_domain(d)
        if nd in FREE_MAIL:
            return f"free-mail domain {nd} never auto-links"
        if len(index.by_domain.get(nd, set())) > 1:
            return f"domain {nd} is shared by several CRM accounts"
    return None


def match_email(email: str | None, index: Index) -> int | None:
    """A ticket without a linked organization: its requester's domain, if one CRM account owns it."""
    if not email or "@" not in email:
        return None
    return index.domain_owner(email.rsplit("@", 1)[1])
