"""People and keys: argon2 password hashes, invites, API keys (shown once, stored hashed, revocable), roles.

Every function takes the session and, where a row belongs to a tenant, the tenant id explicitly; nothing
here can touch another tenant's users or keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from connector.store import models as m

logger = logging.getLogger(__name__)

# admin: settings, users, model; rep: starts on "My accounts" (CRM owner e-mail = login), sees all;
# support_lead: the support workbench; viewer: reads. Only admins write (see `can`).
ROLES: tuple[str, ...] = ("admin", "rep", "support_lead", "viewer")
ROLE_LABELS: dict[str, str] = {
    "admin": "Admin",
    "rep": "Account rep",
    "support_lead": "Support lead",
    "viewer": "Viewer",
}
API_KEY_SCOPES: tuple[str, ...] = ("read", "admin", "installation")
MIN_PASSWORD = 12
# An invitation link is a bearer credential sent by e-mail or chat: it works for a week, then the admin
# makes a new link (`renew_invite`, "New link" on the users page).
INVITE_TTL = timedelta(days=7)
# Flask re-signs the cookie on every request (12 h idle limit), so a session in use would live forever:
# a signed-in session ends a day after sign-in whatever the activity (a copied cookie dies with it).
SESSION_MAX_AGE = timedelta(hours=24)
KEY_PREFIX = "hsk_"

# argon2id with the library's RFC 9106 "low memory" profile defaults (t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs as long as a hit (no user enumeration).
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class AuthError(ValueError):
    """A request about users or keys that cannot be honoured; `problems` says what to fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class WrongPasswordError(AuthError):
    """The password a person typed to prove who they are (the current one, when changing it) is wrong."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification (timing-safe on misses)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"the password needs at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        problems.append("the password must not start or end with spaces")
    return problems


# zxcvbn's score 3 is "safely unguessable: moderate protection from an offline slow-hash scenario" (about
# 10^8 guesses or more); it knows common passwords, dictionary words, keyboard rows, repeats, sequences and
# dates, and is told the person's e-mail and workspace (NIST SP 800-63B: context-specific words).
STRONG_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input (its cost grows with length); the rest only adds strength


def guessable_password_problems(password: str, *, email: str = "", workspace: str = "") -> list[str]:
    """Why a password a person chose is easy to guess (empty: it is not). Asked where people choose one
    (accepting an invitation, `users create-admin`); `password_problems` is the length rule under it."""
    from zxcvbn import zxcvbn

    local, _, domain = normalise_email(email).partition("@")
    words = [w for w in (email, local, domain, domain.split(".")[0], workspace, "healthscore") if w]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=words)
    if result["score"] >= STRONG_SCORE:
        return []
    feedback = result.get("feedback") or {}
    why = str(feedback.get("warning") or "it is made of common words, names or patterns").rstrip(".")
    tip = " ".join(str(t) for t in feedback.get("suggestions") or [])
    return [
        f"choose a password that is harder to guess ({why[:1].lower()}{why[1:]}). "
        + (tip or "A few unrelated words make a long password that is easy to remember.")
    ]


def _token_hash(token: str) -> str:
    # Invite tokens and API keys are 256-bit random strings: a fast hash is enough (nothing to brute force),
    # and it lets us look the row up by hash.
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """One spelling per address: compatibility forms folded (fullwidth letters are ASCII ones), then case folded
    (beyond lower(): ß is ss), so look-alike spellings are the same login and the same invitation."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK…); good enough to tell mixes."""
    return unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]


_OTHER_DOTS = ("\u3002", "\uff61")  # the full stops IDNA (UTS #46) maps to "."

# Letters drawn like an ASCII one (after NFKC and case folding), from Unicode's confusables (UTS #39): an
# address written wholly in one of these scripts, or with Latin letters no normalisation folds, passes the
# mixed-script rule yet reads as someone else's. Its skeleton maps them to the ASCII letter they look like.
_CONFUSABLE = str.maketrans(
    {
        # Cyrillic
        "\u0430": "a", "\u0441": "c", "\u0501": "d", "\u0435": "e", "\u04bb": "h", "\u0456": "i",
        "\u0458": "j", "\u04cf": "l", "\u043e": "o", "\u0440": "p", "\u051b": "q", "\u0455": "s",
        "\u0475": "v", "\u051d": "w", "\u0445": "x", "\u0443": "y", "\u0433": "r", "\u0461": "w",
        "\u04af": "y",
        # Greek
        "\u03b1": "a", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o", "\u03c1": "p",
        "\u03c5": "u", "\u03c7": "x", "\u03b3": "y",
        # Latin letters NFKC keeps: dotless i and j, alpha, script g, iota, kra, dental click, small capitals
        "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0261": "g", "\u0269": "i", "\u0138": "k",
        "\u01c0": "l", "\u026a": "i", "\u0274": "n", "\u0280": "r", "\u028f": "y", "\u029f": "l",
        "\u1d00": "a", "\u1d04": "c", "\u1d05": "d", "\u1d07": "e", "\u1d0a": "j", "\u1d0b": "k",
        "\u1d0d": "m", "\u1d0f": "o", "\u1d18": "p", "\u1d1b": "t", "\u1d1c": "u", "\u1d20": "v",
        "\u1d21": "w", "\u1d22": "z", "\ua731": "s",
    }
)  # fmt: skip


def email_skeleton(email: str) -> str:
    """What an address looks like: the normalised address with confusable letters read as the ASCII ones."""
    return normalise_email(email).translate(_CONFUSABLE)


def _look_alike_of(session: Session, tenant_id: int, email: str) -> str | None:
    """The address of someone in this workspace that `email` (normalised) looks like but is not. This
    workspace's people only: an answer about another workspace's addresses would tell they exist."""
    skeleton = email_skeleton(email)  # both ways: a plain address can be the look-alike of a stored one
    others = session.scalars(select(m.User.email).where(m.User.tenant_id == tenant_id))
    return next((o for o in others if o != email and email_skeleton(o) == skeleton), None)


def _email_problems(email: str) -> list[str]:
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        return [f"{email!r} is not an e-mail address"]
    # Invisible (zero-width, soft hyphen, bidi), control, space and combining characters, and letters of
    # several scripts in one part (a Cyrillic a among Latin letters) make addresses that look like another.
    if any(unicodedata.category(ch)[0] in "CZM" for ch in email):
        return [f"{email!r} contains invisible, space or combining characters; type the address plainly"]
    for part in email.rsplit("@", 1):
        scripts = {_script(ch) for ch in part if unicodedata.category(ch).startswith("L")}
        if len(scripts) > 1:
            return [f"{email!r} mixes letters of several alphabets ({', '.join(sorted(scripts))})"]
    # A domain that differs from another only by its dots is the same mail domain to people and mail
    # clients, yet another login: a trailing dot (acme.test. is the FQDN of acme.test), an empty label, or
    # a full stop IDNA reads as one (ideographic, halfwidth; NFKC has folded the fullwidth one already).
    domain = email.rsplit("@", 1)[1]
    if any(dot in domain for dot in _OTHER_DOTS) or "" in domain.split("."):
        return [f"{email!r} has a domain with a stray dot; type the address plainly (name@example.com)"]
    return []


def create_user(
    session: Session,
    tenant_id: int,
    email: str,
    role: str,
    *,
    password: str | None = None,
    name: str = "",
) -> m.User:
    """A user of `tenant_id` with `password` (or none yet: then they must be invited).

    Raises:
        AuthError: bad e-mail, role or password, or the e-mail is taken (by any tenant: e-mail is the login).
    """
    email = normalise_email(email)
    problems = _email_problems(email)
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}")
    if password is not None:
        problems.extend(password_problems(password))
    if not problems and session.scalar(select(m.User.id).where(m.User.email == email)) is not None:
        problems.append(f"a user with e-mail {email} already exists")
    if not problems and (twin := _look_alike_of(session, tenant_id, email)) is not None:
        problems.append(
            f"{email!r} looks like {twin}, someone in this workspace already; type the address plainly"
        )
    if problems:
        raise AuthError(problems)
    user = m.User(
        tenant_id=tenant_id,
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> m.User | None:
    """The user whose e-mail and password match (None otherwise); upgrades an outdated hash."""
    user = session.scalar(select(m.User).where(m.User.email == normalise_email(email)))
    stored = user.password_hash if user is not None else None
    if not verify_password(stored, password) or user is None or stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def invite(session: Session, tenant_id: int, email: str, role: str, name: str = "") -> tuple[m.User, str]:
    """Create a user without a password and return (user, invite token); the token is shown once.

    Raises:
        AuthError: as `create_user`.
    """
    normalised = normalise_email(email)
    owner = session.scalar(select(m.User.tenant_id).where(m.User.email == normalised))
    if owner is not None and owner != tenant_id and role in ROLES and not _email_problems(normalised):
        # The e-mail belongs to another tenant. Answer exactly as for a new invitation (no enumeration of
        # other tenants' users): a link that no account will ever accept, and nothing stored.
        logger.info("invite of an e-mail registered in another tenant ignored", extra={"tenant": tenant_id})
        ghost = m.User(tenant_id=tenant_id, email=normalised, name=name, role=role, created_at=utcnow())
        return ghost, secrets.token_urlsafe(32)
    user = create_user(session, tenant_id, email, role, name=name)
    return user, _new_link(user)


def _new_link(user: m.User) -> str:
    """A fresh sign-in link token for this user; only its hash is stored, so any earlier link stops working."""
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = _token_hash(token)
    return token


def renew_invite(session: Session, tenant_id: int, user_id: int) -> tuple[m.User, str]:
    """A new invitation link for a person of this tenant who has not accepted yet: the old link stops
    working (its hash is replaced) and the new one has a week of its own (the pending user's created_at is
    the invitation's start, see `_invited`). Returns (user, token); the token is shown once.

    Raises:
        AuthError: no such user in this tenant, or they accepted already (nothing to renew).
    """
    user = session.scalar(select(m.User).where(m.User.id == user_id, m.User.tenant_id == tenant_id))
    if user is None or user.password_hash is not None:
        raise AuthError(["there is no open invitation for that user (already accepted or cancelled)"])
    user.created_at = utcnow()  # the new link's week starts now (see `_invited`)
    return user, _new_link(user)


def _new_password_problems(session: Session, user: m.User, password: str) -> list[str]:
    """The rules a password someone chooses for themselves must pass (a new one or an invitation's): the
    length rule first, then the guessable check against their e-mail and workspace name."""
    problems = password_problems(password)
    if problems:
        return problems
    tenant = session.get(m.Tenant, user.tenant_id)
    workspace = tenant.name if tenant is not None else ""
    return guessable_password_problems(password, email=user.email, workspace=workspace)


def change_password(session: Session, user: m.User, current: str, new: str, confirm: str) -> None:
    """Set a signed-in person's new password after checking the current one (one argon2 verification
    either way, as at sign-in) against the same rules as an invitation's; the caller ends their other
    sessions and commits.

    Raises:
        AuthError: the current password is wrong, the two new ones differ, or the new one is weak.
    """
    if not verify_password(user.password_hash, current):
        raise WrongPasswordError(
            [
                "your current password is not right; type it again (or sign out and ask your admin "
                "for a new sign-in link if you forgot it)"
            ]
        )
    if new != confirm:
        raise AuthError(["the two new passwords differ"])
    if new == current:
        raise AuthError(["the new password is the same as the current one; choose another"])
    problems = _new_password_problems(session, user, new)
    if problems:
        raise AuthError(problems)
    user.password_hash = hash_password(new)


def reset_password(session: Session, tenant_id: int, user_id: int, *, by_user_id: int) -> tuple[m.User, str]:
    """A new sign-in link for a person of this tenant who forgot their password: their password is cleared,
    every session of theirs ends, and the link (an invitation link: `renew_invite`'s mechanism, the same
    week to use it) lets them choose a new one. Returns (user, token); the token is shown once.

    Raises:
        AuthError: no such user in this tenant, the admin's own account (they change it themselves), or a
        person who has not accepted their invitation yet (that is "New link").
    """
    user = session.scalar(select(m.User).where(m.User.id == user_id, m.User.tenant_id == tenant_id))
    if user is None:
        raise AuthError(["no such user in this workspace (removed already?); the list below is up to date"])
    if user.id == by_user_id:
        raise AuthError(
            [
                "you cannot reset your own password here: use “Change password” in the top bar (you need your "
                "current one); if you forgot it, ask another admin"
            ]
        )
    if user.password_hash is None:
        raise AuthError(["that person has no password yet: use “New link” to renew their invitation"])
    user.password_hash = None
    user.password_reset_at = utcnow()  # a reset, not an invitation, even if they never signed in (status)
    end_all_sessions(session, user.id)
    user.created_at = utcnow()  # the link's week starts now (see `_invited`)
    return user, _new_link(user)


def _invited(session: Session, token: str) -> tuple[m.User | None, list[str]]:
    user = session.scalar(select(m.User).where(m.User.invite_token_hash == _token_hash(token)))
    if user is None:
        return None, ["this invitation link is invalid or was already used; ask your admin for a new one"]
    if utcnow() - user.created_at > INVITE_TTL:
        return None, ["this invitation link has expired; ask your admin for a new link"]
    return user, []


def invited(session: Session, token: str) -> m.User | None:
    """The person this invitation link would set a password for (None: it cannot)."""
    return _invited(session, token)[0]


def invite_problems(session: Session, token: str) -> list[str]:
    """Why this invitation link cannot set a password (empty: it can), told before a password is typed."""
    return _invited(session, token)[1]


def accept_invite(session: Session, token: str, password: str) -> m.User:
    """Set the password of the invited user and burn the token.

    Raises:
        AuthError: unknown or used token, or a weak password.
    """
    user, problems = _invited(session, token)
    if user is None:
        raise AuthError(problems)
    problems = _new_password_problems(session, user, password)
    if problems:
        raise AuthError(problems)
    # Burn the link first, in one conditional write: a second sending at the same moment waits for this
    # one (a row lock on PostgreSQL, the write lock on SQLite) and then finds it used, instead of setting
    # a second password on the same reading of the link.
    burnt = session.execute(
        update(m.User)
        .where(
            m.User.id == user.id,
            m.User.invite_token_hash == _token_hash(token),
            m.User.password_hash.is_(None),  # a link never sets the password of an account in use
        )
        .values(invite_token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(burnt, "rowcount", 0) or 0) != 1:
        raise AuthError(["this invitation link is invalid or was already used; ask your admin for a new one"])
    user.invite_token_hash = None
    user.password_hash = hash_password(password)
    user.password_reset_at = None
    user.last_login_at = utcnow()  # the link signs them in: the users page showed "Last sign-in: never"
    return user


ACTIVE, RESET, INVITED = "active", "reset", "invited"


def status(user: m.User) -> str:
    """`active` (has a password), `reset` (had one: an admin cleared it and made a sign-in link, a new one is
    pending) or `invited` (never had a password: an invitation nobody accepted yet, which can be cancelled).

    A reset is told by `password_reset_at`, not by a past sign-in: someone whose account was made with a
    password (`users create-admin`) has no `last_login_at` until they sign in (nor, before accepting set
    it, someone who accepted an invitation and stayed signed in), and their reset read as an invitation
    whose "Cancel invite" deleted the account.
    `last_login_at` still counts for rows reset before `password_reset_at` existed (migration 0018)."""
    if user.password_hash is not None:
        return ACTIVE
    if user.password_reset_at is not None or user.last_login_at is not None:
        return RESET
    return INVITED


def cancel_invite(session: Session, tenant_id: int, user_id: int) -> m.User:
    """Withdraw an invitation nobody accepted yet: the pending user is deleted, so its link stops working.

    Raises:
        AuthError: no such user, or not an open invitation (an active person, or one whose password was
        reset: they are removed with `remove_user`, never by cancelling an "invitation").
    """
    user = session.scalar(select(m.User).where(m.User.id == user_id, m.User.tenant_id == tenant_id))
    if user is None or status(user) != INVITED:
        raise AuthError(["there is no open invitation for that user (already accepted or cancelled)"])
    return remove_user(session, tenant_id, user_id)


def set_role(session: Session, tenant_id: int, user_id: int, role: str) -> m.User:
    """Change a user's role; the last admin of a tenant cannot be demoted.

    Raises:
        AuthError: unknown user (of this tenant), bad role, or last admin.
    """
    if role not in ROLES:
        raise AuthError([f"role must be one of {', '.join(ROLES)}"])
    user = _locked_user(session, tenant_id, user_id)
    if user is None:
        raise AuthError(["no such user in this workspace (removed already?); the list below is up to date"])
    if user.role == "admin" and role != "admin" and _admin_count(session, tenant_id) <= 1:
        raise AuthError(["a workspace needs at least one admin; make someone else an admin first"])
    if user.role != role:
        end_all_sessions(session, user.id)  # a demoted admin must not keep an admin session
    user.role = role
    return user


def remove_user(
    session: Session, tenant_id: int, user_id: int, *, before_delete: Callable[[m.User], object] | None = None
) -> m.User:
    """Delete a user of this tenant (their sessions end with them); the last admin cannot be removed.
    `before_delete(user)` runs once the removal is allowed, before the row goes (`revoke_creator_keys`:
    the keys' `created_by` is cleared with the row).

    Raises:
        AuthError: unknown user (of this tenant) or last admin.
    """
    user = _locked_user(session, tenant_id, user_id)
    if user is None:
        raise AuthError(["no such user in this workspace (removed already?); the list below is up to date"])
    if user.role == "admin" and _admin_count(session, tenant_id) <= 1:
        raise AuthError(["a workspace needs at least one admin; make someone else an admin first"])
    if before_delete is not None:
        before_delete(user)
    end_all_sessions(session, user.id)
    session.delete(user)
    session.flush()
    return user


# ---------------------------------------------------------------- server-side browser sessions


def start_session(session: Session, user: m.User) -> str:
    """A new session for `user`; returns the random id to put in the (signed) cookie. Only its hash is
    stored, so a database leak does not hand out live sessions."""
    raw = secrets.token_urlsafe(32)
    session.add(m.UserSession(id=_token_hash(raw), user_id=user.id, created_at=utcnow()))
    session.flush()
    return raw


def session_user_id(session: Session, raw: str) -> int | None:
    """The user of a live session id (None once it has ended)."""
    if not raw or len(raw) > 200:
        return None
    row = session.get(m.UserSession, _token_hash(raw))
    if row is None or utcnow() - row.created_at > SESSION_MAX_AGE:
        return None
    return row.user_id


def end_session(session: Session, raw: str) -> None:
    row = session.get(m.UserSession, _token_hash(raw)) if raw else None
    if row is not None:
        session.delete(row)
        session.flush()


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every session of the user (sign out everywhere, removal, role change); returns how many."""
    from sqlalchemy import delete

    result = session.execute(delete(m.UserSession).where(m.UserSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def _locked_user(session: Session, tenant_id: int, user_id: int) -> m.User | None:
    """The user of this tenant, read after taking the lock on the tenant's admins, so the last-admin rule
    counts what is committed: two admins demoting (or removing) each other at once each counted two admins
    and left the workspace with none. A no-op UPDATE of the admin rows is that lock on both engines: row
    locks on PostgreSQL (a waiting UPDATE re-reads the rows, so a demoted admin no longer matches), the
    database's write lock on SQLite (the count after it sees the other change committed)."""
    session.execute(
        update(m.User)
        .where(m.User.tenant_id == tenant_id, m.User.role == "admin")
        .values(role=m.User.role)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(
        select(m.User)
        .where(m.User.id == user_id, m.User.tenant_id == tenant_id)
        .execution_options(populate_existing=True)  # not the copy this request loaded before the lock
    )


def _admin_count(session: Session, tenant_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(m.User.tenant_id == tenant_id, m.User.role == "admin")) or 0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewApiKey:
    """A key just created: `secret` is the full key, shown to the user exactly once."""

    id: int
    name: str
    scope: str
    prefix: str
    secret: str


API_KEY_NAME_MAX = 200


# The in-vendor view that calls the API with a key (the HubSpot card is verified by its signature instead).
INSTALLATION_KEY_VENDOR = "zendesk"


def _live_installation(session: Session, tenant_id: int, vendor: str) -> m.Installation | None:
    return session.scalar(
        select(m.Installation).where(
            m.Installation.tenant_id == tenant_id,
            m.Installation.vendor == vendor,
            m.Installation.status != "disconnected",
        )
    )


API_KEY_EXPIRY_DAYS: tuple[int, ...] = (30, 90, 365)  # or never (None), the default


def create_api_key(
    session: Session,
    tenant_id: int,
    name: str,
    scope: str = "read",
    *,
    expires_days: int | None = None,
    created_by: int | None = None,
) -> NewApiKey:
    """A new API key for `tenant_id`; only its SHA-256 is stored. An `installation` key is bound to the
    workspace's Zendesk installation: it works while that is connected, and disconnecting revokes it.
    With `expires_days` (30, 90 or 365) it is refused from that many days on; None: it never expires.
    `created_by` is the user making it: removing or demoting them revokes it (`keys_beyond_role`).

    Raises:
        AuthError: empty name, unknown scope or expiry, or an installation key while Zendesk is not connected.
    """
    problems = []
    name = name.strip()
    if not name:
        problems.append("give the key a name (what will use it?)")
    elif len(name) > API_KEY_NAME_MAX:  # the column holds 200 (was cut there without a word)
        problems.append(f"keep the key's name to {API_KEY_NAME_MAX} characters (it has {len(name)})")
    if scope not in API_KEY_SCOPES:
        problems.append(f"scope must be one of {', '.join(API_KEY_SCOPES)}")
    if expires_days is not None and expires_days not in API_KEY_EXPIRY_DAYS:
        problems.append(f"a key expires after {', '.join(map(str, API_KEY_EXPIRY_DAYS))} days or never")
    inst = (
        _live_installation(session, tenant_id, INSTALLATION_KEY_VENDOR) if scope == "installation" else None
    )
    if scope == "installation" and inst is None:
        problems.append(
            "connect Zendesk first (Admin → Integrations): an installation key is for the Zendesk sidebar "
            "and works only while Zendesk is connected"
        )
    if problems:
        raise AuthError(problems)
    if created_by is not None:
        # The maker's role now, in this transaction: a request that began while they were an admin must not
        # make a key after a demotion committed (that demotion's keys_beyond_role would not see it). FOR
        # UPDATE on PostgreSQL waits for a demotion holding the row (users._locked_user); SQLite has one writer.
        role = session.scalar(
            select(m.User.role)
            .where(m.User.id == created_by, m.User.tenant_id == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if role is None or not can(role, _KEY_NEEDS.get(scope, "write")):
            raise AuthError(["you can no longer create this key (your role changed); ask an admin"])
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = m.ApiKey(
        tenant_id=tenant_id,
        name=name.strip()[:200],
        prefix=prefix,
        key_hash=_token_hash(secret),
        scope=scope,
        created_at=utcnow(),
        installation_id=inst.id if inst is not None else None,
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days is not None else None,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return NewApiKey(id=row.id, name=row.name, scope=scope, prefix=prefix, secret=secret)


def live_key_named(session: Session, tenant_id: int, name: str) -> m.ApiKey | None:
    """The workspace's unrevoked key of this name (case and surrounding spaces ignored): the Create form
    sent twice (a double click, a resubmitted reload) finds the key its first sending made."""
    return session.scalars(
        select(m.ApiKey)
        .where(
            m.ApiKey.tenant_id == tenant_id,
            m.ApiKey.name_key == m.name_key(name),  # what the database's one-name index compares (0012)
            m.ApiKey.revoked_at.is_(None),
        )
        .order_by(m.ApiKey.id)
    ).first()


def resolve_api_key(session: Session, presented: str) -> m.ApiKey | None:
    """The live key matching `presented` (None if unknown or revoked); records its last use."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    digest = _token_hash(presented)
    row = session.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None  # expired: refused like an unknown key
    if row.scope == "installation" and not _installation_live(session, row):
        # Its installation was disconnected (or removed): refused like an unknown key, even if the revocation
        # that disconnecting does has not happened (a key from before that, a disconnect in flight).
        return None
    row.last_used_at = utcnow()
    return row


def _installation_live(session: Session, key: m.ApiKey) -> bool:
    if key.installation_id is None:
        return False
    status = session.scalar(
        select(m.Installation.status).where(
            m.Installation.id == key.installation_id, m.Installation.tenant_id == key.tenant_id
        )
    )
    return status is not None and status != "disconnected"


def revoke_installation_keys(session: Session, tenant_id: int, installation_id: int) -> list[m.ApiKey]:
    """Revoke the live keys bound to this installation (it is being disconnected); returns them."""
    rows = list(
        session.scalars(
            select(m.ApiKey)
            .where(
                m.ApiKey.tenant_id == tenant_id,
                m.ApiKey.installation_id == installation_id,
                m.ApiKey.revoked_at.is_(None),
            )
            .order_by(m.ApiKey.id)
        )
    )
    for row in rows:
        row.revoked_at = utcnow()
    session.flush()
    return rows


def api_key_revoked(session: Session, presented: str) -> bool:
    """Whether `presented` is a real key that was revoked: a client left behind (an uninstalled vendor
    app still calling), not someone guessing, so it need not spend its address's budget for failures."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return False
    row = session.execute(
        select(m.ApiKey.revoked_at, m.ApiKey.expires_at).where(m.ApiKey.key_hash == _token_hash(presented))
    ).first()
    if row is None:
        return False
    revoked, expires = row
    return revoked is not None or (expires is not None and expires <= utcnow())  # expired: left behind too


def revoke_api_key(session: Session, tenant_id: int, key_id: int) -> bool:
    """Revoke a key of this tenant; False when no such live key."""
    row = session.scalar(
        select(m.ApiKey).where(
            m.ApiKey.id == key_id, m.ApiKey.tenant_id == tenant_id, m.ApiKey.revoked_at.is_(None)
        )
    )
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


# What a key of each scope lets its holder do, in the words of `can`: an admin key writes (webhooks,
# backtests); read and installation keys only read.
_KEY_NEEDS: dict[str, str] = {"admin": "write", "read": "read", "installation": "read"}


def keys_beyond_role(session: Session, tenant_id: int, user_id: int, role: str | None) -> list[m.ApiKey]:
    """Revoke the live keys `user_id` created that need more than `role` allows (None: they are being
    removed, so every key they created); returns them, oldest first. A person who can no longer do what a
    key does must not keep doing it through a key they copied (security audit 11, item D). Keys with no
    recorded creator (made before migration 0020) are left alone. Call it before deleting the user (the
    foreign key clears `created_by` on delete)."""
    rows = list(
        session.scalars(
            select(m.ApiKey)
            .where(
                m.ApiKey.tenant_id == tenant_id,
                m.ApiKey.created_by == user_id,
                m.ApiKey.revoked_at.is_(None),
            )
            .order_by(m.ApiKey.id)
        )
    )
    beyond = [k for k in rows if role is None or not can(role, _KEY_NEEDS.get(k.scope, "write"))]
    for row in beyond:
        row.revoked_at = utcnow()
    session.flush()
    return beyond


def revoke_creator_keys(
    session: Session, tenant_id: int, user: m.User, role: str | None, actor: str
) -> list[m.ApiKey]:
    """`keys_beyond_role` and one `api_key.revoked` audit entry per key (actor: who removed or demoted
    `user`; the reason says why), for the users page and `healthscore users remove|set-role`."""
    from connector.store.repo import audit

    revoked = keys_beyond_role(session, tenant_id, user.id, role)
    if role is None:
        reason = f"its creator {user.email} was removed"
    else:
        reason = f"its creator {user.email} was demoted to {ROLE_LABELS.get(role, role)}"
    for key in revoked:
        audit(session, tenant_id, actor, "api_key.revoked", f"key:{key.prefix}", name=key.name, reason=reason)
    return revoked


def revoked_keys_sentence(keys: list[m.ApiKey]) -> str:
    """'2 API keys they created were revoked: “BI export” (hsk_ab12cd34_…), …' ('' when none)."""
    if not keys:
        return ""
    listed = ", ".join(f"“{k.name}” (hsk_{k.prefix}_…, {k.scope})" for k in keys)
    many = len(keys) != 1
    return (
        f"{len(keys)} API key{'s' if many else ''} they created {'were' if many else 'was'} revoked: {listed}; "
        f"whatever uses {'them' if many else 'it'} now gets 401."
    )


def can(role: str, action: str) -> bool:
    """Every role reads; only admins change settings, users and the model ("write")."""
    return action == "read" or (action == "write" and role == "admin")


def key_allows(scope: str, action: str) -> bool:
    """An `installation` key only reads the per-record lookups the in-vendor views need."""
    if scope == "admin":
        return True
    if scope == "read":
        return action in {"read", "lookup"}
    return scope == "installation" and action == "lookup"
