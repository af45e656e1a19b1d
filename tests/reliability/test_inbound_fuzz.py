"""Inbound vendor webhooks under fuzzing (issue 12, suite 2): forged, replayed, stale, truncated, oversized,
wrong content type, malformed JSON and XML, through the Flask test client.

Each vendor's genuine request comes from the sandbox's own signer (Zendesk HMAC over timestamp + body,
HubSpot v3 over method + URL + body + ms timestamp, Salesforce outbound message behind the per-install URL
token); it is sent once (accepted), then seeded mutations of it. Malformed bodies are re-signed with the
real secret so the parsers are reached, not just the signature check. Outcome: no mutated request adds an
inbound event or asks for a refresh, and none gets a 5xx.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.config import Settings, load_settings
from connector.demo.run import prepare, subscribe_sandbox_webhooks
from connector.realtime import refresh as realtime
from connector.store import migrate
from connector.store import models as m
from connector.store.db import get_engine, transaction
from integrations.sandbox.book import Changes
from integrations.sandbox.runner import vendor_module
from tests.reliability import figures
from webhooks.inbound import sign_hubspot_v3, sign_zendesk

PUBLIC = "https://hs.example.test"
ZD_SIG, ZD_TS = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
HS_SIG, HS_TS = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
CONTENT_TYPE = {
    "zendesk": "application/json",
    "hubspot": "application/json",
    "salesforce": "text/xml; charset=utf-8",
}
WRONG_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "text/html",
    "application/json-patch+json",
    "",
)
OVERSIZE = 512 * 1024 + 1


@dataclass
class Door:
    settings: Settings
    client: Any
    sandbox: Any
    refreshes: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)

    def rows(self) -> int:
        with transaction(self.settings.sqlalchemy_url) as s:
            return int(s.scalar(select(func.count()).select_from(m.InboundEvent)) or 0)

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        resp = self.client.post(url.removeprefix(PUBLIC), data=body, headers=headers)
        self.statuses[resp.status_code] += 1
        return int(resp.status_code)


@pytest.fixture
def door(rel_sandbox: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Door]:
    from connector import create_app

    url = f"sqlite:///{tmp_path / 'inbound.db'}"
    migrate.upgrade(url)
    overrides = {
        "database_url": url,
        "instance_path": str(tmp_path / "inst"),
        "public_base_url": PUBLIC,
        "celery_always_eager": True,
        "env": "test",
    }
    settings = load_settings(overrides, environ={})
    prepare(settings, rel_sandbox.credentials(), None)
    subscribe_sandbox_webhooks(settings, rel_sandbox.credentials(), PUBLIC)
    d = Door(settings, create_app(overrides).test_client(), rel_sandbox)
    monkeypatch.setattr(realtime, "request_refresh", lambda _s, tid: d.refreshes.append(tid))
    yield d
    get_engine(url).dispose()


def _genuine(sandbox: Any, vendor: str) -> tuple[str, dict[str, str], bytes]:
    book = sandbox.ctx.book
    if vendor == "zendesk":
        key = next(k for k, t in sorted(book.tickets.items()) if t.channel == "zendesk")
        changes = Changes(tickets={key})
    else:
        key = next(k for k, c in sorted(book.customers.items()) if c.hubspot.present and c.salesforce.present)
        changes = Changes(customers={key})
    url, headers, body = vendor_module(vendor).outbound_webhooks(sandbox.ctx, changes)[0]
    headers = dict(headers)
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = CONTENT_TYPE[vendor]
    return url, headers, body


# ------------------------------------------------------------------------------------- body generators


def _junk_json(rng: random.Random, body: bytes) -> bytes:
    """Not the shape a vendor sends: broken syntax, wrong types, deep nesting, invalid UTF-8, NaN."""
    choice = rng.randrange(12)
    if choice == 0:
        return body[: rng.randrange(1, max(2, len(body) - 1))]
    if choice == 1:
        i = rng.randrange(len(body))
        return body[:i] + bytes([rng.randrange(256)]) + body[i + 1 :] + b"}"
    if choice == 2:
        return b"[" * rng.randrange(1000, 200_000) + b"]" * rng.randrange(0, 5)
    if choice == 3:
        return b'{"a":' * rng.randrange(500, 5000) + b"1" + b"}" * rng.randrange(500, 5000)
    if choice == 4:
        return rng.choice([b"null", b"1", b'"x"', b"true", b"[]", b"{}", b"[1,2,3]", b'[""]', b"[null]"])
    if choice == 5:
        return b"\xff\xfe" + body + b"\xc3\x28"
    if choice == 6:
        return b'{"x": NaN, "y": Infinity}'
    if choice == 7:
        return json.dumps([{"objectId": "x" * rng.randrange(1, 50), "subscriptionType": None}] * 3).encode()
    if choice == 8:
        return json.dumps({"ticket": {"id": {"$gt": 1}}, "event": [1] * 10}).encode()
    if choice == 9:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if choice == 10:
        return b" " * rng.randrange(0, 10)
    return b'{"a":"' + b"\\ud800" * rng.randrange(1, 50) + b'"}'


def _junk_xml(rng: random.Random, body: bytes) -> bytes:
    """Broken envelopes: cut, flipped bytes, DTDs and entities (also in UTF-16), deep nesting, no org id."""
    choice = rng.randrange(10)
    if choice == 0:
        return body[: rng.randrange(1, max(2, len(body) - 1))]
    if choice == 1:
        # Never well-formed. (A flipped byte may leave a well-formed message behind the right URL token:
        # Salesforce signs nothing, so that IS an authenticated message; it only asks us to re-read.)
        i = rng.randrange(len(body))
        return body[:i] + b"<\x01" + bytes([rng.randrange(256)]) + body[i:]
    if choice == 2:
        bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        return bomb + body.split(b"?>", 1)[-1].replace(b"<", b"&b;<", 1)
    if choice == 3:
        text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
        return text.encode("utf-16")
    if choice == 4:
        return b"<a>" * rng.randrange(1000, 100_000) + b"</a>" * rng.randrange(0, 3)
    if choice == 5:
        return body.replace(b"OrganizationId", b"OrganisationId")
    if choice == 6:
        return b"<notsoap/>"
    if choice == 7:
        return b"\xff\xfe\x00<" + bytes(rng.randrange(256) for _ in range(200))
    if choice == 8:
        return json.dumps({"OrganizationId": "x"}).encode()
    return body.replace(b"<", b"<!--", 1)


# ---------------------------------------------------------------------------------------- mutations


def _resign(
    door: Door, vendor: str, url: str, headers: dict[str, str], body: bytes, when: datetime
) -> dict[str, str]:
    if vendor == "zendesk":
        secret = door.sandbox.ctx.vendors["zendesk"].webhook_secret
        return {**headers, **sign_zendesk(secret, when, body)}
    if vendor == "hubspot":
        secret = str(door.sandbox.credentials()["hubspot"]["client_secret"])
        return {**headers, **sign_hubspot_v3(secret, "POST", url, body, int(when.timestamp() * 1000))}
    return headers  # Salesforce signs nothing: the URL token and OrganizationId are the checks


def _mutations(vendor: str) -> list[str]:
    common = ["replay", "truncated", "oversized", "wrong_type", "malformed"]
    if vendor == "salesforce":
        return [*common, "forged_token", "forged_org"]
    return [*common, "forged", "stale", "future", "unsigned", "other_secret"]


Mutation = Callable[[], tuple[str, dict[str, str], bytes]]


def _mutate(
    door: Door, vendor: str, kind: str, rng: random.Random, genuine: tuple[str, dict[str, str], bytes]
) -> tuple[str, dict[str, str], bytes]:
    url, headers, body = genuine
    now = datetime.now(UTC)
    sig = ZD_SIG if vendor == "zendesk" else HS_SIG
    if kind == "replay":
        # A vendor retry (re-signed now) or a captured request sent again as is.
        return url, (_resign(door, vendor, url, headers, body, now) if rng.random() < 0.5 else headers), body
    if kind == "truncated":
        return url, headers, body[: rng.randrange(0, len(body))]
    if kind == "oversized":
        big = body + b" " * (OVERSIZE + rng.randrange(0, 4096) - len(body))
        return url, _resign(door, vendor, url, headers, big, now), big
    if kind == "wrong_type":
        h = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        ct = rng.choice(WRONG_TYPES)
        if ct:
            h["Content-Type"] = ct
        return url, _resign(door, vendor, url, h, body, now), body
    if kind == "malformed":
        junk = _junk_xml(rng, body) if vendor == "salesforce" else _junk_json(rng, body)
        return url, _resign(door, vendor, url, headers, junk, now), junk
    if kind == "forged":
        fake = base64.b64encode(rng.randbytes(rng.choice([32, 31, 16, 64]))).decode()
        return url, {**headers, sig: fake}, body
    if kind == "other_secret":
        other = {**door.sandbox.credentials()["hubspot"], "client_secret": "x" * 36}
        if vendor == "zendesk":
            return url, {**headers, **sign_zendesk("another-secret", now, body)}, body
        return (
            url,
            {
                **headers,
                **sign_hubspot_v3(other["client_secret"], "POST", url, body, int(now.timestamp() * 1000)),
            },
            body,
        )
    if kind == "stale":
        when = now - timedelta(seconds=rng.choice([330, 600, 3600, 86_400 * 400]))
        return url, _resign(door, vendor, url, headers, body, when), body
    if kind == "future":
        # Past the 5-minute tolerance with room for the signature's whole-second timestamp.
        when = now + timedelta(seconds=rng.choice([330, 3600, 86_400 * 30]))
        return url, _resign(door, vendor, url, headers, body, when), body
    if kind == "unsigned":
        return (
            url,
            {
                k: v
                for k, v in headers.items()
                if k.lower() not in {sig.lower(), ZD_TS.lower(), HS_TS.lower()}
            },
            body,
        )
    if kind == "forged_token":
        head, _, token = url.rpartition("/")
        forged = rng.choice([token[:-1], token + "A", "x" * len(token), token.upper(), "", "%00"])
        return f"{head}/{forged}" if forged else head + "/", headers, body
    if kind == "forged_org":
        return url, headers, body.replace(b"00D", b"00E", 1)
    raise AssertionError(kind)


def _fuzz(door: Door, vendor: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    genuine = _genuine(door.sandbox, vendor)
    assert door.post(*genuine) in {200, 202}, "the genuine request must be accepted"
    rows, refreshes = door.rows(), len(door.refreshes)
    assert rows > 0
    kinds = _mutations(vendor)
    for i in range(n):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        url, headers, body = _mutate(door, vendor, kind, rng, genuine)
        status = door.post(url, headers, body)
        door.kinds[kind] += 1
        assert status < 500, (vendor, kind, status, body[:200])
        if status < 400:
            # Only a redelivery may pass the door, as a duplicate: a vendor retry, or (Salesforce, which
            # signs nothing) a byte flipped where the envelope stays the same verified message.
            assert kind == "replay" or (vendor == "salesforce" and kind == "malformed"), (
                vendor,
                kind,
                status,
            )
            assert door.rows() == rows, (vendor, kind, body[:300])
            door.kinds["acknowledged_duplicate"] += 1
    assert door.rows() == rows, f"{vendor}: {door.rows() - rows} mutated requests were accepted"
    assert len(door.refreshes) == refreshes


def _run(door: Door, n: int, seed: int) -> None:
    for offset, vendor in enumerate(("zendesk", "hubspot", "salesforce")):
        _fuzz(door, vendor, n, seed + offset)
    figures.record(
        "inbound_fuzz",
        requests=sum(door.statuses.values()),
        accepted=0,
        server_errors=sum(v for k, v in door.statuses.items() if k >= 500),
        statuses=dict(sorted((str(k), v) for k, v in door.statuses.items())),
    )


def test_inbound_fuzz_short(door: Door) -> None:
    _run(door, 200, seed=1)


@pytest.mark.reliability
def test_inbound_fuzz_ten_thousand_per_vendor(door: Door) -> None:
    _run(door, 10_000, seed=1000)
