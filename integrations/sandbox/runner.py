"""Start the three vendor sandboxes and the control API on loopback, and deliver their outbound webhooks.

`SandboxSet.start()` builds (or takes) a Book, one `VendorState` per vendor (`<vendor>.make_state(seed)`),
serves `<vendor>.create_app(ctx)` and the control API with `ServedApp` (TLS by default) and prints nothing.
Vendor modules are imported lazily so this module imports even while one of them is missing.

Webhooks out: `tick(days)` runs `seed.advance`, asks every vendor module for the signed webhooks that change
produces (`outbound_webhooks(ctx, changes)`) and queues them. One background thread POSTs them in order
(requests, 5 s timeout, no retries: a vendor retry policy is not part of the sandbox), so a slow receiver
never blocks the control API. `flush_webhooks()` waits until the queue is empty; tests call it (or pass
`wait=True` to `tick`) before asserting on what a receiver got. Every attempt is logged in `deliveries`.
"""

from __future__ import annotations

import gc
import logging
import pickle
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from integrations.sandbox import seed as seeding
from integrations.sandbox.book import Book, Changes
from integrations.sandbox.context import Faults, SandboxContext, VendorState
from integrations.sandbox.control import create_control_app
from integrations.sandbox.limits import limits_for
from integrations.sandbox.server import ServedApp, TLSMaterial
from integrations.sandbox.vendors import VENDORS, vendor_module

logger = logging.getLogger(__name__)

CREDENTIAL_KEYS = ("base_url", "client_id", "client_secret", "access_token", "refresh_token")
WEBHOOK_TIMEOUT = 5.0
_STOP = object()
# vendors.py owns VENDORS and vendor_module (the control API needs them too); re-exported for callers.
__all__ = ["CREDENTIAL_KEYS", "VENDORS", "Delivery", "SandboxSet", "initial_tokens", "vendor_module"]


def initial_tokens(vendor: str, state: VendorState) -> tuple[str, str]:
    """The access/refresh token pair make_state issued (each vendor module keeps it in `extra`)."""
    extra = state.extra
    if "initial" in extra:
        return extra["initial"]["access_token"], extra["initial"]["refresh_token"]
    if "initial_access_token" in extra:
        return extra["initial_access_token"], extra["initial_refresh_token"]
    access = next(iter(state.access_tokens), "")
    refresh = next(iter(sorted(state.refresh_tokens)), "")
    return access, refresh


@dataclass(slots=True)
class Delivery:
    """One webhook POST the sandbox made (for debugging receivers; bodies are not kept)."""

    vendor: str
    url: str
    status: int | None
    error: str | None


class SandboxSet:
    """Three vendor sandboxes + the control API sharing one SandboxContext; a context manager."""

    def __init__(self, ctx: SandboxContext, tls: TLSMaterial | None) -> None:
        self.ctx = ctx
        self._tls = tls
        self.servers: dict[str, ServedApp] = {}
        self.control: ServedApp | None = None
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="sandbox-webhooks", daemon=True)
        self._sender.start()
        self._book_snapshot: bytes | None = None
        self._vendor_snapshot = b""
        self._snapshot_now = ctx.book.now
        self.dirty = False  # the book changed since the last snapshot/restore (a tick ran)

    # --- lifecycle -------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        seed: int = 0,
        accounts: int = 500,
        tls: bool = True,
        ports: Mapping[str, int] | None = None,
        book: Book | None = None,
        rate_limits: str = "off",
        cache_reads: bool = False,
    ) -> SandboxSet:
        """Build the book (or use `book`), the vendor states and serve everything on 127.0.0.1.

        `ports` maps "control", "salesforce", "hubspot", "zendesk" to fixed ports; missing ones get a free port.
        `rate_limits="real"` enforces the vendors' documented API limits (limits.py); "off" none.
        `cache_reads` keeps read caches that trust the book to change only through ticks, restores and the
        vendor APIs (a served sandbox); tests that edit the book in place leave it off.
        """
        book = book if book is not None else seeding.generate_book(seed=seed, accounts=accounts)
        vendors = {v: vendor_module(v).make_state(seed) for v in VENDORS}
        ctx = SandboxContext(book=book, vendors=vendors, faults=Faults(seed))
        ctx.limits = limits_for(rate_limits)
        ctx.read_cache = {} if cache_reads else None
        material = TLSMaterial.generate() if tls else None
        sset = cls(ctx, material)
        ports = dict(ports or {})
        try:
            for v in VENDORS:
                app = vendor_module(v).create_app(ctx)
                sset.servers[v] = ServedApp(app, port=ports.get(v, 0), tls=material, name=f"sandbox-{v}")
                ctx.base_urls[v] = sset.servers[v].base_url
            # Plain HTTP on loopback: the control API carries no vendor traffic, and scripts (curl,
            # `healthscore sandbox tick`, `demo --sandbox URL`) reach it without trusting the sandbox CA.
            sset.control = ServedApp(
                create_control_app(ctx, sset), port=ports.get("control", 0), tls=None, name="sandbox-control"
            )
        except BaseException:
            sset.stop()
            raise
        ctx.on_change.append(sset._on_vendor_change)
        sset.snapshot()
        sset._freeze()
        logger.info("sandbox set up: %d customers, %d tickets", len(book.customers), len(book.tickets))
        return sset

    def _freeze(self) -> None:
        """A served sandbox (`cache_reads`) moves what it holds now, the book above all, out of the cyclic
        garbage collector's reach (gc.freeze): millions of long-lived objects that every oldest-generation
        collection walked, while the indexes rebuilt after a tick allocate enough to trigger collections
        (issue 17: the first ticket-events request after a tick at 2,000 accounts 0.64 → 0.35 s of CPU).
        Frozen objects are still freed when nothing refers to them. Sandboxes that tests edit in place
        (no read cache) are left to the collector."""
        if self.ctx.read_cache is not None:
            gc.freeze()

    def stop(self) -> None:
        """Shut every server down and stop the webhook sender (pending webhooks are dropped)."""
        for srv in [*self.servers.values(), *([self.control] if self.control else [])]:
            srv.shutdown()
        self.servers.clear()
        self.control = None
        if self._sender.is_alive():
            self._queue.put(_STOP)
            self._sender.join(timeout=WEBHOOK_TIMEOUT + 1)
        tmp = getattr(self._tls, "_dir", None)
        if tmp is not None:
            # Clean the CA's temporary directory now: left to the garbage collector it warns
            # (ResourceWarning "Implicitly cleaning up"), which is an error under filterwarnings=error.
            tmp.cleanup()
            self._tls._dir = None  # type: ignore[union-attr]

    def __enter__(self) -> SandboxSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what clients need -----------------------------------------------------------------------------
    @property
    def base_urls(self) -> dict[str, str]:
        return dict(self.ctx.base_urls)

    @property
    def ca_file(self) -> str | None:
        return self._tls.ca_file if self._tls else None

    @property
    def control_url(self) -> str:
        return self.control.base_url if self.control else ""

    def credentials(self) -> dict[str, Any]:
        """The JSON object `healthscore sandbox serve` prints (keys are a contract)."""
        out: dict[str, Any] = {}
        for v in VENDORS:
            state = self.ctx.vendors[v]
            access, refresh = initial_tokens(v, state)
            out[v] = dict(
                zip(
                    CREDENTIAL_KEYS,
                    (
                        self.ctx.base_urls.get(v, ""),
                        state.oauth.client_id,
                        state.oauth.client_secret,
                        access,
                        refresh,
                    ),
                    strict=True,
                )
            )
        out["admin"] = self.control_url
        out["ca_file"] = self.ca_file or ""
        return out

    # --- clock and webhooks ----------------------------------------------------------------------------
    def tick(self, days: int, *, wait: bool = False) -> Changes:
        """Advance the book `days` (seed.advance) and queue the vendors' webhooks for what changed."""
        with self.ctx.lock:
            changes = seeding.advance(self.ctx.book, days)
            self.dirty = True
            self.queue_webhooks(changes)
            if self.ctx.read_cache is not None:  # a served sandbox: its read indexes follow the book now
                for warm in self.ctx.warmers:
                    warm()
            self._freeze()  # the tick's new records join the frozen book
        if wait:
            self.flush_webhooks()
        return changes

    def queue_webhooks(self, changes: Changes) -> int:
        """Collect every vendor's outbound webhooks for `changes` and queue them; returns how many."""
        n = 0
        for v in VENDORS:
            for url, headers, body in vendor_module(v).outbound_webhooks(self.ctx, changes):
                self._queue.put((v, url, headers, body))
                n += 1
        return n

    def flush_webhooks(self, timeout: float = 30.0) -> None:
        """Block until every queued webhook was attempted (or `timeout` seconds passed)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def _on_vendor_change(self, kind: str, keys: list[str]) -> None:
        """Hook for vendor modules that emit webhooks after writes: ctx.on_change(kind, keys)."""
        changes = Changes()
        target = getattr(changes, kind, None)
        if isinstance(target, set):
            target.update(keys)
            self.queue_webhooks(changes)

    def _send_loop(self) -> None:
        session = requests.Session()
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            vendor, url, headers, body = item
            try:
                resp = session.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
                self.deliveries.append(Delivery(vendor, url, resp.status_code, None))
            except requests.RequestException as exc:
                logger.warning("sandbox %s webhook to %s failed: %s", vendor, url, type(exc).__name__)
                self.deliveries.append(Delivery(vendor, url, None, type(exc).__name__))

    # --- isolation for tests ---------------------------------------------------------------------------
    def snapshot(self) -> None:
        """Remember the current book and vendor states (pickled) as the state `restore` goes back to."""
        with self.ctx.lock:
            self._book_snapshot = pickle.dumps(self.ctx.book, protocol=pickle.HIGHEST_PROTOCOL)
            self._vendor_snapshot = pickle.dumps(self.ctx.vendors, protocol=pickle.HIGHEST_PROTOCOL)
            self._snapshot_now = self.ctx.book.now
            self.dirty = False

    def restore(self, *, force: bool = False) -> None:
        """Back to the snapshot: faults and counters cleared, vendor states always, the book if it changed.

        Vendor modules never mutate the book (their writes live in VendorState), so the book is reloaded
        only after a tick or a clock change, which keeps the per-test reset cheap. Objects are restored in
        place (field by field) so anything holding a reference to the book or a VendorState stays valid.
        """
        if self._book_snapshot is None:
            return
        self.flush_webhooks()
        with self.ctx.lock:
            self.ctx.faults.clear()
            self.ctx.counters.reset()
            vendors: dict[str, VendorState] = pickle.loads(self._vendor_snapshot)  # noqa: S301 - our own bytes
            for v, saved in vendors.items():
                _copy_fields(saved, self.ctx.vendors[v])
            if force or self.dirty or self.ctx.book.now != self._snapshot_now:
                _copy_fields(pickle.loads(self._book_snapshot), self.ctx.book)  # noqa: S301
            self.dirty = False
            self.deliveries.clear()


def _copy_fields(src: Any, dst: Any) -> None:
    for name in src.__slots__:
        setattr(dst, name, getattr(src, name))
