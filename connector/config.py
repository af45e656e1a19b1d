"""Settings: defaults → instance/healthscore.cfg → HEALTHSCORE_* environment → explicit overrides.

`load_settings()` feeds Flask, Celery, the scheduler and the CLI alike. `validate()` gathers every problem
at once, each naming the environment variable to set, and `load_settings` raises one ConfigError with
all of them so a bad deployment fails at start with one readable message.
"""

from __future__ import annotations

import configparser
import dataclasses
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ENV_PREFIX = "HEALTHSCORE_"
DEV_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105 - in the source: never accepted as a key
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name; generated on first start outside production (0600)
MIN_SECRET_LENGTH = 32
# HEALTHSCORE_* variables that are not settings: HEALTHSCORE_SENTIMENT_DATA is `healthscore model …
# --data-dir` (the model's own errors tell users to set it), the others belong to the test suites. Settings
# leave them alone; any other unknown HEALTHSCORE_* name is refused as a likely misspelling.
OTHER_VARIABLES = frozenset(
    {"sentiment_data", "test_pg", "test_redis", "test_redis_restart", "reliability", "reliability_figures"}
)


class ConfigError(Exception):
    """The configuration is invalid; `problems` lists every problem with the variable to set."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _default_instance() -> str:
    return str(Path(os.environ.get("HEALTHSCORE_INSTANCE_PATH", Path.cwd() / "instance")).resolve())


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting of the service. Field names are the config keys; env vars are HEALTHSCORE_<NAME>."""

    env: str = "development"  # development | production | test
    instance_path: str = field(default_factory=_default_instance)
    database_url: str = ""  # default: sqlite:///<instance>/healthscore.db
    secret_key: str = ""  # empty: production refuses to start; elsewhere instance/secret-key is generated
    token_keys: tuple[str, ...] = ()  # Fernet keys, newest first; old ones still decrypt (rotation)
    broker_url: str = "redis://127.0.0.1:6379/0"
    log_format: str = "text"  # text | json
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:5000"
    webhooks_allow_private_targets: bool = False
    webhook_run_budget_seconds: int = 50  # a delivery run stops claiming after this (the next run goes on)
    webhook_workspace_share_seconds: int = 10  # per workspace per run, while other workspaces have some due
    metrics_token: str = ""  # /metrics needs `Authorization: Bearer <token>`; empty: loopback clients only
    trusted_proxies: int = 0  # reverse proxies in front that set X-Forwarded-For/-Proto/-Host (ProxyFix)
    # Host names the web app answers to (".example.com": every subdomain; "*": any). Empty: the host of
    # public_base_url plus localhost, 127.0.0.1 and [::1]; any other Host header is a 400 (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    ratelimit_storage_url: str = ""  # Flask-Limiter storage; empty: memory (production: the Redis broker)
    # Rate limits ("N per second|minute|hour|day", several joined by ";"), kept in that storage:
    api_rate_limit: str = "50 per second;1200 per minute"  # per REST API key (all its routes)
    api_unauthenticated_rate_limit: str = "30 per minute;300 per hour"  # failed API keys per client address
    backtest_rate_limit: str = "5 per minute;30 per hour"  # backtests per workspace (API + model editor)
    inbound_rate_limit: str = "15000 per 10 seconds"  # per vendor installation; one window = one round trip
    card_rate_limit: str = "600 per minute"  # HubSpot CRM card fetches per installation (signed ones only)
    sentiment_model_path: str = ""  # empty: the packaged default model
    sync_interval_minutes: int = 15
    celery_always_eager: bool = False
    tenant_lock_seconds: int = 60  # a dead worker's tenant lock frees itself this long after it died
    worker_redelivery_seconds: int = 600  # an unacked task of a dead worker is redelivered after this
    sandbox_url: str = ""  # control API of a running sandbox (demo/tick); empty: start an embedded one

    @property
    def sqlalchemy_url(self) -> str:
        return normalise_database_url(
            self.database_url or f"sqlite:///{Path(self.instance_path) / 'healthscore.db'}"
        )


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def normalise_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// (Heroku style) and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, raw: Any, problems: list[str], source: str) -> Any:
    f = _fields()[name]
    kind = str(f.type)
    if not isinstance(raw, str):
        return raw
    value = raw.strip()
    if kind == "bool":
        if value.lower() in _BOOL_TRUE:
            return True
        if value.lower() in _BOOL_FALSE:
            return False
        problems.append(
            f"{name}: {value!r} is not a boolean (use true/false) — set {ENV_PREFIX}{name.upper()} ({source})"
        )
        return None
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            problems.append(
                f"{name}: {value!r} is not a whole number — set {ENV_PREFIX}{name.upper()} ({source})"
            )
            return None
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _read_file(path: Path, problems: list[str]) -> dict[str, str]:
    if not path.exists():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        # read_file, not read: read() skips a file it cannot open without a word (a directory, no permission)
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except configparser.Error as exc:
        problems.append(f"{path}: not a valid config file ({exc.__class__.__name__}); fix or remove it")
        return {}
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text; save it as UTF-8 or remove it")
        return {}
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror or exc}); fix its permissions or remove it")
        return {}
    if not parser.has_section("healthscore"):
        if parser.sections():
            problems.append(
                f"{path}: no [healthscore] section (found {', '.join(parser.sections())}); settings go under "
                "[healthscore]"
            )
        return {}
    return dict(parser.items("healthscore"))


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build and validate the settings.

    Raises:
        ConfigError: listing every problem, each with the variable to set.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    known = _fields()
    values: dict[str, Any] = {}
    instance = (
        (overrides or {}).get("instance_path")
        or environ.get(f"{ENV_PREFIX}INSTANCE_PATH")
        or _default_instance()
    )
    values["instance_path"] = str(instance)
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (str(Path(instance) / "healthscore.cfg"), _read_file(Path(instance) / "healthscore.cfg", problems)),
        (
            "environment",
            {
                k[len(ENV_PREFIX) :].lower(): v
                for k, v in environ.items()
                if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() not in OTHER_VARIABLES
            },
        ),
        ("overrides", dict(overrides or {})),
    ]
    for source, layer in layers:
        for key, raw in layer.items():
            if key not in known:
                problems.append(_unknown(key, source, known))
                continue
            value = _coerce(key, raw, problems, source)
            if value is not None:
                values[key] = value
    settings = Settings(**values)
    problems.extend(validate(settings))
    if problems:
        raise ConfigError(problems)
    if not settings.secret_key:  # only outside production (validate refused it there)
        try:
            key = persisted_secret_key(Path(settings.instance_path))
        except OSError as exc:
            raise ConfigError([instance_problem(settings.instance_path, exc)]) from exc
        settings = dataclasses.replace(settings, secret_key=key)
    return settings


def instance_problem(instance: str, exc: OSError) -> str:
    """The instance folder could not be created or written: which folder, why, and what to set."""
    path = Path(instance)
    why = "it is a file, not a folder" if path.is_file() else (exc.strerror or str(exc))
    return (
        f"instance_path: {instance} cannot be used ({why}); healthscore keeps its generated secret key and "
        "the SQLite database there — make it a writable folder or set HEALTHSCORE_INSTANCE_PATH to one"
    )


def _unknown(key: str, source: str, known: Mapping[str, Any]) -> str:
    """An unknown setting, with the one probably meant."""
    import difflib

    name = f"{ENV_PREFIX}{key.upper()}" if source == "environment" else key
    options = {
        "port": "healthscore serve --port N, healthscore demo --port N, make demo DEMO_PORT=N",
        "host": "healthscore serve --host ADDRESS",
    }
    if key in options:
        return (
            f"unknown setting {key!r} in {source}: the web UI's {key} is an option, not a setting "
            f"({options[key]}) — remove {name}"
        )
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        meant = f"{ENV_PREFIX}{close[0].upper()}" if source == "environment" else close[0]
        return f"unknown setting {key!r} in {source} — did you mean {meant}? (remove or rename {name})"
    return f"unknown setting {key!r} in {source} — remove it or check the spelling"


def secret_key_problem(key: str) -> str | None:
    """Why `key` is too weak to sign sessions (None: strong enough)."""
    if key == DEV_SECRET:
        return "it is the development key printed in the source code"
    if len(key) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    # 32 identical or a few repeated characters pass a length check; ask for real variety.
    counts = {ch: key.count(ch) for ch in set(key)}
    entropy = -sum(c / len(key) * math.log2(c / len(key)) for c in counts.values())
    periodic = any(key == (key[:p] * (len(key) // p + 1))[: len(key)] for p in range(1, len(key) // 2 + 1))
    if len(counts) < 8 or entropy < 2.5 or periodic:
        return "it has too little variety to be random"
    return None


def persisted_secret_key(instance: Path) -> str:
    """The key in instance/secret-key, created (random, mode 0600) on first start."""
    path = instance / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


_DB_URL = re.compile(r"^(sqlite(\+pysqlite)?:///.*|sqlite://|postgresql\+psycopg://[^/\s]+/\S+)$")


def exposure_warnings(settings: Settings) -> list[str]:
    """Settings that are valid but unsafe where the service is reachable from outside: `env` defaults to
    development, which turns off the vendor host allow-list and the https-only rule, so a public deployment
    that forgets HEALTHSCORE_ENV would run with them off (security audit 3, finding E). A tunnel to a
    developer's machine is a legitimate reason, so this warns instead of refusing."""
    host = (urlsplit(settings.public_base_url).hostname or "").lower()
    local = host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost")
    if settings.env == "development" and not local:
        return [
            f"public_base_url {settings.public_base_url} is not this machine, but env is development: the "
            "vendor host allow-list and the https-only rule are off; set HEALTHSCORE_ENV=production"
        ]
    return []


RATE_LIMITS = (
    "api_rate_limit",
    "api_unauthenticated_rate_limit",
    "backtest_rate_limit",
    "inbound_rate_limit",
    "card_rate_limit",
)


def rate_limit_problems(settings: Settings) -> list[str]:
    """Each rate limit must parse (limits' syntax, as Flask-Limiter reads it) and allow at least one request;
    the inbound windows are at most a minute, so the Retry-After a vendor is told stays short enough for it
    to retry (a longer window would have vendors retry for hours or give the event up)."""
    from limits import parse_many

    problems: list[str] = []
    for name in RATE_LIMITS:
        value = getattr(settings, name)
        where = f"— set {ENV_PREFIX}{name.upper()}"
        try:
            items = parse_many(value) if value.strip() else []
        except ValueError:
            items = []
        if not items:
            problems.append(
                f"{name}: {value!r} is not a rate limit such as '50 per second;1200 per minute' "
                f"(N per second, minute, hour or day; several joined by ';') {where}"
            )
        elif any(item.amount < 1 for item in items):
            problems.append(f"{name}: {value!r} allows no request at all; every amount must be ≥ 1 {where}")
        elif name == "inbound_rate_limit" and any(item.get_expiry() > 60 for item in items):
            problems.append(
                f"{name}: {value!r} has a window longer than a minute; vendors are told to retry after "
                f"the window, so keep each window ≤ 1 minute {where}"
            )
    return problems


def _without_password(url: str) -> str:
    """The URL with its password (if any) masked, with or without a scheme."""
    if "@" not in url:
        return url
    creds, host = url.rsplit("@", 1)
    scheme, sep, userinfo = creds.rpartition("//")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}{':***' if ':' in userinfo else ''}@{host}"


def _database_url_guess(url: str) -> str | None:
    """The URL someone who left out the scheme meant: a file path → sqlite:///, host[:port]/db → postgresql://."""
    if not url or "://" in url:
        return None
    if url.startswith(("/", "./", "../", "~")) or url.endswith((".db", ".sqlite", ".sqlite3")):
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if re.match(r"^[^/\s]+/[^/\s]+$", url):
        return f"postgresql://{_without_password(url)}"
    return None


def validate(settings: Settings) -> list[str]:
    """Every problem with these settings, each naming the variable to set (empty list: valid)."""
    problems: list[str] = []
    if settings.env not in {"development", "production", "test"}:
        problems.append(
            f"env: {settings.env!r} must be development, production or test — set HEALTHSCORE_ENV"
        )
    if not _DB_URL.match(settings.sqlalchemy_url):
        guess = _database_url_guess(settings.database_url)
        problems.append(
            f"database_url: {_without_password(settings.database_url)!r} is not a SQLite or PostgreSQL URL"
            + (
                f"; did you mean {guess}?"
                if guess
                else " (e.g. sqlite:///instance/healthscore.db or postgresql://user@host:5432/db)"
            )
            + " — set HEALTHSCORE_DATABASE_URL"
        )
    weak = secret_key_problem(settings.secret_key) if settings.secret_key else None
    if settings.env == "production" and not settings.secret_key:
        problems.append(
            "secret_key: production needs a random secret of at least 32 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))') — set HEALTHSCORE_SECRET_KEY"
        )
    elif weak and settings.env != "test":
        problems.append(
            f"secret_key: refused because {weak}; use a random one "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))') or leave it unset outside "
            "production to have one generated — set HEALTHSCORE_SECRET_KEY"
        )
    if settings.trusted_proxies < 0:
        problems.append("trusted_proxies: must be ≥ 0 — set HEALTHSCORE_TRUSTED_PROXIES")
    if settings.ratelimit_storage_url and not re.match(
        r"^(redis|rediss|memory|memcached)://", settings.ratelimit_storage_url
    ):
        problems.append(
            "ratelimit_storage_url: must be a redis:// URL (or memory://) — set HEALTHSCORE_RATELIMIT_STORAGE_URL"
        )
    problems.extend(rate_limit_problems(settings))
    if settings.env == "production":
        if not settings.token_keys:
            problems.append(
                "token_keys: production needs at least one Fernet key to encrypt vendor tokens "
                "(healthscore keys generate) — set HEALTHSCORE_TOKEN_KEYS"
            )
        if not settings.public_base_url.startswith("https://"):
            problems.append(
                "public_base_url: production must be served over https — set HEALTHSCORE_PUBLIC_BASE_URL"
            )
    for i, key in enumerate(settings.token_keys):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(
                f"token_keys[{i}]: not a valid Fernet key (32 url-safe base64-encoded bytes; "
                "generate one with `healthscore keys generate`) — set HEALTHSCORE_TOKEN_KEYS"
            )
    if settings.log_format not in {"text", "json"}:
        problems.append(
            f"log_format: {settings.log_format!r} must be text or json — set HEALTHSCORE_LOG_FORMAT"
        )
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"log_level: {settings.log_level!r} is not a log level — set HEALTHSCORE_LOG_LEVEL")
    if not re.match(r"^(redis|rediss|amqp|memory)://", settings.broker_url):
        problems.append("broker_url: must be a redis:// or amqp:// URL — set HEALTHSCORE_BROKER_URL")
    if not re.match(r"^https?://[^/\s]+", settings.public_base_url):
        problems.append("public_base_url: must be an http(s) URL — set HEALTHSCORE_PUBLIC_BASE_URL")
    for name in ("webhook_run_budget_seconds", "webhook_workspace_share_seconds"):
        if getattr(settings, name) < 1:
            problems.append(f"{name}: must be ≥ 1 — set HEALTHSCORE_{name.upper()}")
    if settings.sync_interval_minutes < 1:
        problems.append("sync_interval_minutes: must be ≥ 1 — set HEALTHSCORE_SYNC_INTERVAL_MINUTES")
    for entry in settings.allowed_hosts:
        if not _ALLOWED_HOST.fullmatch(entry.lower()):
            problems.append(
                f"allowed_hosts: {entry[:100]!r} is not a host name (health.example.com), a domain with a "
                "leading dot (.example.com: its subdomains), an address or *; no scheme, port or path — "
                "set HEALTHSCORE_ALLOWED_HOSTS"
            )
    return problems


_ALLOWED_HOST = re.compile(r"\*|\.?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\]")
