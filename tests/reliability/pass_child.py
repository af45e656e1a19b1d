"""A pass in its own process, killed with SIGKILL at a chosen point: `python -m tests.reliability.pass_child`.

Like `healthscore run`, plus a hook: `--kill module:function:when:n` sends SIGKILL to this process on the
n-th call of that function, `before` it runs or `after` it returned (e.g. after the vendor accepted a
write-back batch but before the outbox recorded it). The sentiment model is the suites' instant stub.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

KILL_POINTS: dict[str, str] = {
    # sync: a page upserted (its transaction may or may not have committed)
    "sync": "connector.pipeline.sync:store.upsert_records",
    # score: snapshots and events built, the write queue being filled, nothing committed yet
    "score": "connector.pipeline.score:queue_writes",
    # write-back: the vendor accepted the batch, the outbox has not recorded it
    "write_back": "connector.pipeline.outbox:complete",
    # delivery: the receiver got the event, the attempt is not recorded
    "delivery": "connector.pipeline.delivery:deliver",
}


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill(spec: str) -> None:
    """Wrap `module:attr.path` so that the n-th call dies `before` or `after` the real one."""
    target, when, nth = spec.rsplit(":", 2)
    module_name, attr_path = target.split(":", 1)
    owner: Any = importlib.import_module(module_name)
    *parents, name = attr_path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    real: Callable[..., Any] = getattr(owner, name)
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == int(nth) and when == "before":
            _die()
        result = real(*args, **kwargs)
        if calls["n"] == int(nth) and when == "after":
            _die()
        return result

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--instance", required=True)
    ap.add_argument("--tenant", action="append", required=True)
    ap.add_argument("--kill", default="")
    args = ap.parse_args()

    from connector.config import load_settings
    from connector.pipeline import run as pipeline
    from connector.pipeline import sentiment
    from connector.store import repo as store
    from connector.store.db import transaction
    from tests.reliability.world import StubSentiment

    sentiment.load_model = lambda *_a, **_k: StubSentiment()  # type: ignore[assignment]
    settings = load_settings(
        {"database_url": args.db, "instance_path": args.instance, "webhooks_allow_private_targets": True},
        environ={},
    )
    if args.kill:
        install_kill(args.kill)
    out = {}
    for slug in args.tenant:
        with transaction(settings.sqlalchemy_url) as s:
            tid = store.tenants(s, slug)[0].id
        out[slug] = pipeline.run_tenant(settings, tid)["status"]
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
