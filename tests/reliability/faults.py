"""Scripting vendor faults at a rate over every data call, and running passes until the work settles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from connector.pipeline import delivery
from connector.store.repo import utcnow
from integrations.sandbox.context import Fault
from tests.reliability.world import DATA_PATTERNS, TOKEN_KEYS, VENDORS, World, pending_work

# Equal shares of the total rate; the sandbox tries rules in order, so each later rule's own rate is its
# share of what the earlier rules left (the product is the total).
KINDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("rate_limit", {"retry_after": 1.0}),  # zenpy sleeps through Retry-After itself (real seconds)
    ("server_error", {"status": 503}),
    ("server_error", {"status": 500}),
    ("timeout", {"delay": 0.6}),
    ("expired_token", {}),
    ("malformed_page", {}),
)
CLIENT_TIMEOUT = 0.4  # below the timeout fault's delay: the client really times out


class OncePerToken:
    """The sandbox's faults, except that an access token issued by a refresh is not refused on its first use:
    real vendors expire a token once per lifetime, and a fresh token refused again means revoked access
    (the product then asks to reconnect, by design). Everything else passes through unchanged."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fresh: set[str] = set()
        self.injected = 0

    def take(self, vendor: str, key: str) -> Fault | None:
        fault = self.inner.take(vendor, key)
        if key in TOKEN_KEYS:
            return fault
        if fault is not None and fault.kind == "expired_token" and vendor in self.fresh:
            fault = None
        self.fresh.discard(vendor)
        if fault is not None and fault.kind == "expired_token":
            self.fresh.add(vendor)
        self.injected += fault is not None
        return fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_rate_faults(sandbox: Any, rate: float, seed: int) -> OncePerToken:
    """`rate` of every data call of every vendor fails, split evenly over KINDS; token endpoints get only
    transient faults (an expired-token or malformed answer there means something else). Undo with
    `remove_faults`."""
    faults = sandbox.ctx.faults
    faults.clear()
    faults._rng.seed(seed)  # the sandbox seeds its fault dice once at start; each run needs its own seed
    share = rate / len(KINDS)
    left = 1.0
    for kind, kwargs in KINDS:
        own = share / left
        left -= share
        patterns = DATA_PATTERNS + (TOKEN_KEYS if kind in {"rate_limit", "server_error"} else ())
        for vendor in VENDORS:
            for pattern in patterns:
                faults.rate(vendor, pattern, Fault(kind=kind, **kwargs), own)  # type: ignore[arg-type]
    wrapper = OncePerToken(faults)
    sandbox.ctx.faults = wrapper
    return wrapper


def remove_faults(sandbox: Any) -> None:
    faults = sandbox.ctx.faults
    sandbox.ctx.faults = getattr(faults, "inner", faults)
    sandbox.ctx.faults.clear()


@dataclass
class Settled:
    passes: int = 0
    delivery_rounds: int = 0
    clean: bool = False
    reports: list[dict[str, Any]] = field(default_factory=list)


def pass_is_clean(report: dict[str, Any]) -> bool:
    """Every stream synced, nothing left to write, no step failed."""
    steps = report["steps"]
    if any("error" in r for r in steps.values()):
        return False
    for inst in steps["sync"]["installations"]:
        if inst["status"] != "ok" or any(s["status"] != "ok" for s in inst["streams"]):
            return False
    return all(not isinstance(r, dict) or not r.get("pending") for r in steps["write_back"].values())


def drain_deliveries(world: World, slug: str, rounds: int = 20) -> int:
    """Retry due deliveries with the clock moved past every backoff; returns the rounds used."""
    for n in range(1, rounds + 1):
        delivery.deliver_due(world.settings, world.tenants[slug], now=utcnow() + timedelta(days=n))
        if pending_work(world.settings, world.tenants[slug])["deliveries"] == 0:
            return n
    return rounds


def settle(world: World, slug: str, max_passes: int = 30, timeout: float = CLIENT_TIMEOUT) -> Settled:
    """Run passes until one is clean and nothing is left in the outboxes (the scheduler would do the same
    on its next ticks); each pass is followed by delivery retries."""
    out = Settled()
    for _ in range(max_passes):
        report = world.run(slug, timeout=timeout)
        out.passes += 1
        out.reports.append(report)
        out.delivery_rounds += drain_deliveries(world, slug)
        # This tenant's work only: another tenant's rows (left by a pass killed in that tenant) are its
        # own next pass's work, and would otherwise keep this tenant "unsettled" for every pass it runs.
        if pass_is_clean(report) and pending_work(world.settings, world.tenants[slug])["writeback"] == 0:
            out.clean = True
            return out
    return out


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """What went wrong in a pass, for assertion messages."""
    steps = report["steps"]
    return {
        "status": report.get("status"),
        "sync": [
            (
                i["vendor"],
                i["status"],
                [(x["stream"], x["status"], x["error"]) for x in i["streams"] if x["status"] != "ok"],
            )
            for i in steps.get("sync", {}).get("installations", [])
        ],
        "errors": {
            k: v.get("error") or v.get("skipped")
            for k, v in steps.items()
            if isinstance(v, dict) and (v.get("error") or v.get("skipped"))
        },
        "write_back": {
            k: (v.get("pending"), v.get("error"))
            for k, v in steps.get("write_back", {}).items()
            if isinstance(v, dict)
        },
    }
