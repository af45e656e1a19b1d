"""Web-tier CPU per inbound webhook (issue 17): the app's own work, without HTTP server or network.

Signed vendor webhooks (a third each of HubSpot v3, Zendesk and Salesforce outbound SOAP, 5 % redeliveries,
as benchmarks/inbound_load.py sends them) and GET /healthz are handed to the WSGI app as gunicorn would
(a pre-built environ each), against PostgreSQL (a throwaway database) and Redis (the refresh marker); the
process's CPU time (time.process_time) per request is what a gunicorn worker spends in the app for it.
PostgreSQL's and Redis's own CPU is not in the figure.

Each `--code DIR` is a checkout measured in its own process (e.g. a git worktree of an older commit:
`git worktree add /tmp/inbound-base <commit>`), `--rounds` times alternating, so before and after run on
the same machine in the same minute; the table shows the median round and the ratio to the first column.

    python benchmarks/inbound_cpu.py [--requests 2000] [--code /tmp/inbound-base --code .] [--profile FILE]
    python benchmarks/inbound_cpu.py --smoke      # seconds: 150 webhooks, one round
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--child" in sys.argv:
    # The checkout under test comes first (not benchmarks/, nor necessarily this tree).
    sys.path[0] = sys.argv[sys.argv.index("--child") + 1]
else:
    sys.path[0] = str(ROOT)

import argparse
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

REDIS_DB = "redis://127.0.0.1:6379/14"  # flushed before and after: nobody else's
BASE = "http://127.0.0.1:8000"


def _install(settings: Any) -> dict[str, str]:
    """One tenant with the three vendors connected; returns the secrets the vendors sign with."""
    from connector.installs.vault import Vault
    from connector.realtime.inbound import set_inbound_token
    from connector.store import models as m
    from connector.store.db import transaction

    vault, now = Vault(settings), datetime.now(UTC)
    secrets = {"zendesk": "zd-webhook-secret", "hubspot": "hs-client-secret", "token": "sf-url-token-123"}
    with transaction(settings.sqlalchemy_url) as s:
        tenant = m.Tenant(slug="acme", name="Acme", created_at=now)
        s.add(tenant)
        s.flush()
        for vendor, account in (("zendesk", "acme"), ("hubspot", "4242"), ("salesforce", "00D5g000004ABCD")):
            inst = m.Installation(
                tenant_id=tenant.id, vendor=vendor, status="connected", base_url="https://x.test",
                token_url="https://x.test/token", client_id="cid",  # noqa: S106 - a URL
                client_secret_enc=vault.encrypt(secrets["hubspot"] if vendor == "hubspot" else "other"),
                vendor_account=account, settings={}, created_at=now,
                webhook_secret_enc=vault.encrypt(secrets["zendesk"]) if vendor == "zendesk" else None,
            )  # fmt: skip
            if vendor == "salesforce":
                set_inbound_token(inst, vault, secrets["token"])
            s.add(inst)
    return secrets


def _requests(
    secrets: dict[str, str], n: int, seed: int, first: int = 0
) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(vendor, path, headers, body) as the vendors send them; 5 % redeliveries of a recent event."""
    import random

    from webhooks.inbound import sign_hubspot_v3, sign_zendesk
    from webhooks.salesforce_om import SalesforceNotification, sign_salesforce_outbound

    rng = random.Random(seed)
    now_ms = int(time.time() * 1000)
    retries: dict[int, int] = {}

    def make(j: int, retry: int) -> tuple[str, str, dict[str, str], bytes]:
        vendor, i = ("hubspot", "zendesk", "salesforce")[j % 3], first + j
        if vendor == "hubspot":
            event = {
                "eventId": 900_000_000 + i, "subscriptionId": 107, "portalId": 4242, "appId": 1,
                "occurredAt": 1_780_000_000_000 + i, "subscriptionType": "ticket.propertyChange",
                "attemptNumber": retry, "objectId": 800_000_000 + i, "changeSource": "CRM",
                "propertyName": "hs_pipeline_stage", "propertyValue": "1",
            }  # fmt: skip
            body = json.dumps([event], separators=(",", ":")).encode()
            path = "/inbound/hubspot/acme"
            sig = sign_hubspot_v3(secrets["hubspot"], "POST", BASE + path, body, now_ms + retry)
            return vendor, path, {"Content-Type": "application/json", **sig}, body
        if vendor == "zendesk":
            body = json.dumps(
                {"account_id": 1, "detail": {"id": str(700_000_000 + i), "status": "open"}, "event": {},
                 "id": f"load-{i:09d}", "subject": f"zen:ticket:{700_000_000 + i}",
                 "time": "2026-06-01T12:00:00Z", "type": "zen:event-type:ticket.updated",
                 "zendesk_event_version": "2022-11-06"},
                separators=(",", ":"),
            ).encode()  # fmt: skip
            stamp = (datetime.now(UTC) + timedelta(seconds=retry)).strftime("%Y-%m-%dT%H:%M:%SZ")
            sig = sign_zendesk(secrets["zendesk"], stamp, body)
            return vendor, "/inbound/zendesk/acme", {"Content-Type": "application/json", **sig}, body
        note = SalesforceNotification(
            id=f"04l5g{i:013d}", sobject_type="Case",
            fields={"Id": f"5005g{i:013d}", "AccountId": None, "Status": "Escalated", "Priority": "High"},
        )  # fmt: skip
        headers, body = sign_salesforce_outbound("00D5g000004ABCD", "04k5gLOADACTION0", [note])
        return vendor, f"/inbound/salesforce/acme/{secrets['token']}", headers, body

    out: list[tuple[str, str, dict[str, str], bytes]] = []
    for j in range(n):
        if out and rng.random() < 0.05:
            k = max(0, j - rng.randint(1, 50))
            retries[k] = retries.get(k, 0) + 1
            out.append(make(k, retries[k]))
        else:
            out.append(make(j, 0))
    return out


def _environ(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    env = EnvironBuilder(
        path=path, method=method, headers=list(headers.items()), data=body, base_url=BASE
    ).get_environ()
    env["REMOTE_ADDR"] = "127.0.0.1"
    env["wsgi.input"] = io.BytesIO(body)
    return env


def _call(app: Any, env: dict[str, Any]) -> int:
    status: list[str] = []
    out = app(env, lambda s, h, exc=None: status.append(s))
    try:
        b"".join(out)
    finally:
        getattr(out, "close", lambda: None)()
    return int(status[0].split(" ", 1)[0])


def child(args: argparse.Namespace) -> dict[str, Any]:
    import redis

    from connector import create_app
    from connector.config import load_settings
    from connector.store import migrate
    from connector.store.db import get_engine

    redis.Redis.from_url(REDIS_DB).flushdb()
    from benchmarks.pipeline import _pg_database

    url, drop = _pg_database(args.database_url)
    tmp = tempfile.TemporaryDirectory(prefix="healthscore-cpu-")
    overrides = {"database_url": url, "broker_url": REDIS_DB, "instance_path": tmp.name + "/inst",
                 "public_base_url": BASE}  # fmt: skip
    try:
        migrate.upgrade(url)
        settings = load_settings(overrides, environ={})
        secrets = _install(settings)
        app = create_app(overrides)
        # The app's log lines go where gunicorn's stderr would: a file (their formatting is part of the cost).
        log = open(Path(tmp.name) / "app.log", "w")  # noqa: SIM115
        os.dup2(log.fileno(), 2)
        warm = [_environ("POST", p, h, b) for _, p, h, b in _requests(secrets, 150, seed=99, first=10**7)]
        for env in warm:
            _call(app, env)
        plan = _requests(secrets, args.requests, seed=args.seed)
        envs = [(v, _environ("POST", p, h, b)) for v, p, h, b in plan]
        health = [_environ("GET", "/healthz", {}, b"") for _ in range(args.requests // 2)]
        for env in health[:50]:
            _call(app, env)
        health = health[50:]
        per: dict[str, list[float]] = {"hubspot": [], "zendesk": [], "salesforce": []}
        statuses: dict[int, int] = {}
        prof = None
        if args.profile:
            import cProfile

            prof = cProfile.Profile(time.process_time)
            prof.enable()
        t0, w0 = time.process_time(), time.perf_counter()
        for vendor, env in envs:
            c0 = time.process_time()
            code = _call(app, env)
            per[vendor].append(time.process_time() - c0)
            statuses[code] = statuses.get(code, 0) + 1
        hook_cpu, hook_wall = time.process_time() - t0, time.perf_counter() - w0
        t1 = time.process_time()
        hcodes = [_call(app, env) for env in health]
        health_cpu = time.process_time() - t1
        if prof is not None:
            prof.disable()
            prof.dump_stats(args.profile)
        return {
            "webhook_ms": 1000 * hook_cpu / len(envs),
            "webhook_wall_ms": 1000 * hook_wall / len(envs),
            **{f"{v}_ms": 1000 * sum(x) / len(x) for v, x in per.items()},
            "healthz_ms": 1000 * health_cpu / len(health),
            "statuses": statuses,
            "healthz_ok": sum(1 for c in hcodes if c == 200),
            "healthz_n": len(hcodes),
        }
    finally:
        get_engine(url).dispose()
        drop()
        redis.Redis.from_url(REDIS_DB).flushdb()
        tmp.cleanup()


ROWS = (
    ("webhook, all (CPU ms/request)", "webhook_ms"),
    ("  HubSpot v3", "hubspot_ms"),
    ("  Zendesk", "zendesk_ms"),
    ("  Salesforce SOAP", "salesforce_ms"),
    ("GET /healthz (CPU ms/request)", "healthz_ms"),
    ("webhook wall ms/request", "webhook_wall_ms"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--requests", type=int, default=2000, help="signed webhooks per round (and half as many /healthz)"
    )
    ap.add_argument("--code", action="append", help="checkout to measure (repeatable; default: this one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--profile", default="", help="cProfile file (one round of the last --code)")
    ap.add_argument("--smoke", action="store_true", help="< 30 s: 150 webhooks, one round")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smoke:
        args.requests, args.rounds = 150, 1
    if args.requests < 150:
        # Half as many /healthz as webhooks, 50 of them a warm-up: fewer left nothing to time (a division by 0).
        ap.error("--requests must be at least 150")
    if args.child:
        print(json.dumps(child(args)))
        return
    codes = [str(Path(c).resolve()) for c in (args.code or [str(ROOT)])]
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in codes}
    for r in range(args.rounds):
        for c in codes:
            cmd = [sys.executable, __file__, "--child", c, "--requests", str(args.requests),
                   "--seed", str(args.seed), "--database-url", args.database_url]  # fmt: skip
            if args.profile and r == args.rounds - 1 and c == codes[-1]:
                cmd += ["--profile", args.profile]
            out = subprocess.run(cmd, cwd=c, capture_output=True, text=True, check=False)  # noqa: S603
            if out.returncode:
                raise SystemExit(f"{c}: exit {out.returncode}\n{out.stderr[-3000:]}")
            results[c].append(json.loads(out.stdout.strip().splitlines()[-1]))

    def commit(c: str) -> str:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=c, capture_output=True, text=True)  # noqa: S607
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=c,  # noqa: S607
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        return git.stdout.strip() + ("+" if dirty else "")

    names = [f"{Path(c).name} ({commit(c)})" for c in codes]
    width = max(18, *(len(n) + 2 for n in names))
    print(f"inbound web-tier CPU: {args.requests} signed webhooks + {args.requests // 2 - 50} GET /healthz per "
          f"round, median of {args.rounds} rounds, PostgreSQL + Redis, one process per round")  # fmt: skip
    print(f"{'':<32}" + "".join(f"{n:>{width}}" for n in names) + (f"{'ratio':>8}" if len(codes) > 1 else ""))
    for label, key in ROWS:
        vals = [statistics.median(r[key] for r in results[c]) for c in codes]
        ratio = f"{vals[-1] / vals[0]:>8.2f}" if len(codes) > 1 and vals[0] else ""
        print(f"{label:<32}" + "".join(f"{v:>{width}.3f}" for v in vals) + ratio)
    for c, n in zip(codes, names, strict=True):
        print(f"{n}: answers {results[c][-1]['statuses']}, /healthz 200 {results[c][-1]['healthz_ok']} "
              f"of {results[c][-1]['healthz_n']}")  # fmt: skip
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
