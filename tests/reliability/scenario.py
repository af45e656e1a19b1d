"""The one scenario suites 1 and 4 compare against: both demo tenants settle, 21 simulated days pass, both
settle again. Run fault-free once per session (cached), then with faults or kills."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from connector.store import models as m
from connector.store.db import get_engine, transaction
from connector.store.repo import utcnow
from tests.reliability.faults import install_rate_faults, remove_faults, settle, summary
from tests.reliability.world import VENDORS, FaultyReceiver, World, build_world, crm_state, event_keys

ROOT = Path(__file__).resolve().parents[2]
TENANTS = ("contoso", "northwind")
# Under Zendesk's 30-day refresh-token lifetime: a longer silence would rightly need a reconnect.
TICK_DAYS = 21
_BASELINE: dict[int, dict[str, Any]] = {}

Hook = Callable[[World, int], Any]  # called at the start of each phase (1, 2)


def run_scenario(
    sandbox: Any,
    *,
    fault_rate: float = 0.0,
    seed: int = 0,
    before_phase: Hook | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    sandbox.restore(force=True)
    world = build_world(
        sandbox, receiver=FaultyReceiver(fault_rate=fault_rate, seed=seed), database_url=database_url
    )
    sandbox.ctx.counters.reset()
    wrapper = install_rate_faults(sandbox, fault_rate, seed) if fault_rate else None
    passes, clean, last = 0, True, {}
    try:
        for phase in (1, 2):
            if phase == 2:
                sandbox.tick(TICK_DAYS, wait=True)
                world.set_clock()
            if before_phase is not None:
                before_phase(world, phase)
            for slug in TENANTS:
                settled = settle(world, slug)
                passes += settled.passes
                clean &= settled.clean
                last[slug] = [summary(r) for r in settled.reports if r["status"] != "ok"][:2]
        return {
            "crm": crm_state(sandbox),
            "events": event_keys(world.receiver.received),
            "received": list(zip(world.receiver.ids, world.receiver.received, strict=True)),
            "ids": list(world.receiver.ids),
            "calls": {v: sandbox.ctx.counters.get(v) for v in VENDORS},
            "passes": passes,
            "clean": clean,
            "last": last,
            "receiver_faults": world.receiver.faults_injected,
            "rejected": world.receiver.rejected,
            "injected": wrapper.injected if wrapper else 0,
        }
    finally:
        remove_faults(sandbox)
        world.close()


def baseline(sandbox: Any) -> dict[str, Any]:
    """The fault-free run (deterministic for a sandbox seed), computed once per session."""
    if id(sandbox) not in _BASELINE:
        base = run_scenario(sandbox)
        assert base["clean"], f"the fault-free run itself did not settle: {base['last']}"
        assert base["events"], "the scenario must produce events"
        _BASELINE[id(sandbox)] = base
    return _BASELINE[id(sandbox)]


def age_claims(world: World) -> None:
    """What ten minutes do to a dead worker's claims: they become claimable again."""
    past = utcnow() - timedelta(hours=1)
    with transaction(world.settings.sqlalchemy_url) as s:
        s.execute(
            update(m.WritebackOutbox).where(m.WritebackOutbox.status == "claimed").values(claimed_at=past)
        )
        s.execute(
            update(m.WebhookDelivery).where(m.WebhookDelivery.status == "claimed").values(claimed_at=past)
        )


def pass_in_child(world: World, kill: str = "", timeout: float = 300) -> int:
    """`healthscore run`-like pass of both tenants in a subprocess; its return code (-9: SIGKILLed)."""
    url = world.settings.sqlalchemy_url
    args = [
        sys.executable,
        "-m",
        "tests.reliability.pass_child",
        "--db",
        url,
        "--instance",
        world.settings.instance_path,
    ]
    for slug in TENANTS:
        args += ["--tenant", slug]
    if kill:
        args += ["--kill", kill]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    get_engine(url).dispose()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=timeout, check=False)
    assert proc.returncode in (0, -9), proc.stderr.decode()[-2000:]
    return proc.returncode
