"""A small, deterministic world for the reliability suites: a seeded sandbox set, a throwaway SQLite store with
the two demo tenants installed, a verifying webhook receiver, and a fast stub sentiment model.

Everything a suite compares is read from the vendors' side (the sandbox's written field values) and the
receiver's side (verified events), never from our own store, so "equal to a fault-free run" is judged the
way a customer would see it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from connector.clock import set_tenant_clock
from connector.config import Settings, load_settings
from connector.demo.run import prepare
from connector.installs.provision import ensure_all
from connector.pipeline import run as pipeline
from connector.store import migrate
from connector.store import repo as store
from connector.store.db import get_engine, transaction
from nlp.sentiment import NOTHING_TO_JUDGE, Sentiment

VENDORS = ("salesforce", "hubspot", "zendesk")
# The scoring model every world of this session publishes, read once: the default model is read from
# scoring/default_model.yaml on a tenant's first score, and that file can change while a long session
# runs (a shared working tree): a baseline scored with one version and a later run with another differ
# in every written score, which the full mode once took for a reliability failure.
PINNED_MODEL = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
# Token endpoints: faults there are about OAuth, not the data calls the fault suites script.
TOKEN_KEYS = ("POST /services/oauth2/token", "POST /oauth/v1/token", "POST /oauth/tokens")
# Every data call: all reads and writes except the token endpoints (fnmatch cannot negate a pattern).
DATA_PATTERNS = (
    "GET *",
    "PATCH *",
    "PUT *",
    "DELETE *",
    "POST /crm/*",
    "POST /services/data/*",
    "POST /api/*",
)


class StubSentiment:
    """A deterministic, instant classifier (the real model costs ~40 s per small pass on two shared cores;
    these suites test the plumbing around it, not its judgement)."""

    version = "reliability-stub-1"

    def classify_many(self, texts: Sequence[str]) -> list[Sentiment]:
        out = []
        for text in texts:
            if not text.strip():
                out.append(NOTHING_TO_JUDGE)
                continue
            h = int.from_bytes(hashlib.sha256(text.encode("utf-8", "replace")).digest()[:4], "big")
            score = round((h % 2001) / 1000 - 1, 3)
            label = "negative" if score <= -0.25 else "positive" if score >= 0.25 else "neutral"
            out.append(Sentiment(label=label, score=score, confidence=0.9, excerpt=text[:80]))
        return out


class FaultyReceiver:
    """A customer's webhook receiver: verifies every event with `standardwebhooks` and records it with its
    `webhook-id`; with `fault_rate` > 0 it answers a seeded share of requests 500/503/429 (Retry-After) or
    408 before looking at them, the way a flaky receiver behind a load balancer does."""

    FAULTS = ((500, None), (503, None), (429, "1"), (408, None))

    def __init__(self, fault_rate: float = 0.0, seed: int = 0) -> None:
        import random
        import threading

        self.secrets: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.rejected = 0
        self.faults_injected = 0
        self.fault_rate = fault_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.url = ""
        self._server: Any = None

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        import json

        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        with self._lock:
            if self.fault_rate and self._rng.random() < self.fault_rate:
                self.faults_injected += 1
                status, retry_after = self._rng.choice(self.FAULTS)
                start_response(f"{status} Fault", [("Retry-After", retry_after)] if retry_after else [])
                return [b"injected fault"]
            for secret in self.secrets:
                try:
                    Webhook(secret).verify(body, headers)
                except WebhookVerificationError:
                    continue
                self.received.append(json.loads(body))
                self.ids.append(headers.get("webhook-id", ""))
                start_response("204 No Content", [])
                return [b""]
            self.rejected += 1
        start_response("400 Bad Request", [])
        return [b"bad signature"]

    def start(self) -> FaultyReceiver:
        import threading

        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="rel-receiver").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class World:
    """One store + the demo tenants on a running sandbox set."""

    settings: Settings
    sandbox: Any  # integrations.sandbox.runner.SandboxSet
    receiver: FaultyReceiver
    tenants: dict[str, int]
    sleeps: list[float] = field(default_factory=list)
    _tmp: Any = None

    def overrides(self, timeout: float = 2.0) -> dict[str, Any]:
        """Adapter overrides: sleeps recorded instead of slept (Retry-After and backoff), a short timeout."""
        return {"sleep": self.sleeps.append, "timeout": timeout}

    def set_clock(self) -> None:
        """Record the sandbox's simulated now on every tenant (as the demo does after a tick)."""
        with transaction(self.settings.sqlalchemy_url) as s:
            for tid in self.tenants.values():
                set_tenant_clock(s, tid, self.sandbox.ctx.book.now)

    def run(self, slug: str, steps: Sequence[str] = pipeline.STEPS, timeout: float = 2.0) -> dict[str, Any]:
        return pipeline.run_tenant(self.settings, self.tenants[slug], steps, **self.overrides(timeout))

    def close(self) -> None:
        self.receiver.stop()
        get_engine(self.settings.sqlalchemy_url).dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


def build_world(
    sandbox: Any,
    db_path: Path | None = None,
    *,
    fields: bool = True,
    receiver: FaultyReceiver | None = None,
    database_url: str | None = None,
) -> World:
    """Fresh store (SQLite, or the empty database at `database_url`), demo tenants installed on `sandbox`,
    receiver subscribed, CRM fields created."""
    tmp = None
    if db_path is None:
        # In memory where the machine has it: each pass commits hundreds of small transactions and the
        # suites judge what the vendors and the receiver saw, not the disk's fsync (~10 % of a scenario).
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        tmp = tempfile.TemporaryDirectory(prefix="healthscore-rel-", dir=shm)
        db_path = Path(tmp.name) / "rel.db"
    settings = load_settings(
        {
            "instance_path": str(db_path.parent / "instance"),
            "database_url": database_url or f"sqlite:///{db_path}",
            "webhooks_allow_private_targets": True,
        },
        environ={},
    )
    migrate.upgrade(settings.sqlalchemy_url)
    receiver = (receiver or FaultyReceiver()).start()
    info = prepare(settings, sandbox.credentials(), receiver.url)
    receiver.secrets.extend(info["webhook_secrets"])
    ids: dict[str, int] = {}
    for slug in info["tenants"]:
        with transaction(settings.sqlalchemy_url) as s:
            ids[slug] = store.tenants(s, slug)[0].id
    _pin_model(settings, ids.values())
    world = World(settings=settings, sandbox=sandbox, receiver=receiver, tenants=ids, _tmp=tmp)
    _own_zendesk_grant(world, "northwind")
    world.set_clock()
    if fields:
        for tid in ids.values():
            ensure_all(settings, tid)
    return world


def _pin_model(settings: Settings, tenant_ids: Any) -> None:
    """Publish the session's pinned model for each tenant (what `current_model` reads before the file)."""
    from connector.store import models as m
    from scoring.config import load_model

    now = store.utcnow()
    version = load_model(PINNED_MODEL).version
    with transaction(settings.sqlalchemy_url) as s:
        for tid in tenant_ids:
            s.add(
                m.ScoringModelVersion(
                    tenant_id=tid,
                    version=version,
                    yaml=PINNED_MODEL,
                    status="published",
                    created_by="reliability suite (pinned)",
                    created_at=now,
                    published_at=now,
                )
            )


def _own_zendesk_grant(world: World, slug: str) -> None:
    """Give `slug` its own Zendesk OAuth grant. The demo installs both tenants with the one token pair the
    sandbox prints; Zendesk rotates on refresh (old access AND refresh token deleted), so the first
    refresh by one tenant would log the other out, which no real pair of customers shares."""
    import secrets
    from datetime import timedelta

    from sqlalchemy import select

    from connector.installs.vault import Vault
    from connector.store import models as m
    from integrations.oauth import TokenSet

    state = world.sandbox.ctx.vendors["zendesk"]
    access, refresh = "zdat_" + secrets.token_hex(20), "zdrt_" + secrets.token_hex(20)
    far = world.sandbox.ctx.book.now + timedelta(days=3650)
    with world.sandbox.ctx.lock:
        state.access_tokens[access] = far
        state.refresh_tokens.add(refresh)
        state.extra["scopes"][access] = "read write"
        state.extra["refresh_meta"][refresh] = {
            "scope": "read write",
            "access_token": access,
            "expires_at": far,
        }
    with transaction(world.settings.sqlalchemy_url) as s:
        inst_id = s.scalar(
            select(m.Installation.id).where(
                m.Installation.tenant_id == world.tenants[slug], m.Installation.vendor == "zendesk"
            )
        )
    store.save_tokens(
        world.settings.sqlalchemy_url,
        Vault(world.settings),
        world.tenants[slug],
        inst_id,
        TokenSet(access_token=access, refresh_token=refresh),
    )


@contextmanager
def world_on(sandbox: Any) -> Iterator[World]:
    world = build_world(sandbox)
    try:
        yield world
    finally:
        world.close()


def crm_state(sandbox: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Every custom field value the product wrote, per vendor and record (the vendors' own view)."""
    with sandbox.ctx.lock:
        return {v: {rid: dict(vals) for rid, vals in sandbox.ctx.vendors[v].written.items()} for v in VENDORS}


def event_keys(received: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Received events reduced to what must match between runs (msg ids and timestamps are per run)."""
    out = []
    for e in received:
        data = e.get("data") or {}
        out.append(
            (
                e.get("type"),
                tuple(sorted((data.get("account_ids") or {}).items())),
                data.get("old_band"),
                data.get("new_band"),
            )
        )
    return sorted(out)


def pending_work(settings: Settings, tenant_id: int | None = None) -> dict[str, int]:
    """Outbox rows and webhook deliveries not yet done, of one tenant or all (0 and 0 once settled)."""
    from sqlalchemy import func, select

    from connector.store import models as m

    mine_wb = [m.WritebackOutbox.tenant_id == tenant_id] if tenant_id is not None else []
    mine_dl = [m.WebhookDelivery.tenant_id == tenant_id] if tenant_id is not None else []
    with transaction(settings.sqlalchemy_url) as s:
        wb = s.scalar(select(func.count()).select_from(m.WritebackOutbox).where(*mine_wb)) or 0
        dl = (
            s.scalar(
                select(func.count())
                .select_from(m.WebhookDelivery)
                .where(m.WebhookDelivery.status.in_(["pending", "claimed"]), *mine_dl)
            )
            or 0
        )
    return {"writeback": int(wb), "deliveries": int(dl)}
