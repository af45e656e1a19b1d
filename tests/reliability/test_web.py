"""Web attacks through the Flask test client (issue 12, suite 9): cross-tenant ids on every route, stored XSS
rendered inert, CSRF on every form, open redirects after sign-in, session fixation.

Two seeded tenants (tests/connector/web/seed.py); the attacker is Acme's admin. Every route with an id in
its path is called with every id of Globex's rows of that kind (and a few that exist nowhere), with every
method it accepts: no 5xx, no Globex data in an answer, and no Globex row changed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, text, update

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData, _seed_tenant, sign_in_as
from tests.reliability import figures

# Which table each path parameter names (the id spaces a URL can reach into).
ID_TABLES = {
    "account_id": "accounts",
    "key_id": "api_keys",
    "version_id": "scoring_models",
    "play_id": "plays",
    "source_id": "accounts",
    "user_id": "users",
    "endpoint_id": "webhook_endpoints",
    "delivery_id": "webhook_deliveries",
    "run_id": "runs",
}
XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)><svg onload=alert(1)>'
RAW_XSS = re.compile(r"<script>alert\(1\)|<img src=x onerror|<svg onload", re.IGNORECASE)


@pytest.fixture
def two(app: Any) -> dict[str, TenantData]:
    from argon2 import PasswordHasher

    from connector.installs import users as auth

    auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # type: ignore[attr-defined]
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    with transaction(url) as session:
        return {
            "acme": _seed_tenant(session, "acme", "Acme"),
            "globex": _seed_tenant(session, "globex", "Globex"),
        }


def _rows(url: str, tenant_id: int) -> dict[str, list[str]]:
    """Every row of a tenant, as text (to prove nothing of it changed)."""
    out: dict[str, list[str]] = {}
    with transaction(url) as s:
        for table in m.Base.metadata.sorted_tables:
            if "tenant_id" in table.c:
                rows = s.execute(select(table).where(table.c.tenant_id == tenant_id)).all()
                out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def _ids(url: str, table: str, tenant_id: int) -> list[Any]:
    with transaction(url) as s:
        col = "run_id" if table == "runs" else "id"
        return [
            r[0] for r in s.execute(text(f"SELECT {col} FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
        ]


def _urls(app: Any, url: str, globex: int) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        params = [a for a in rule.arguments if a in ID_TABLES]
        if not params or rule.endpoint.startswith(("static", "inbound")):
            continue
        choices: dict[str, list[Any]] = {}
        for p in rule.arguments:
            if p in ID_TABLES:
                choices[p] = [*_ids(url, ID_TABLES[p], globex), 987654321]
            elif p == "vendor":
                choices[p] = ["salesforce"]
            else:
                choices[p] = ["x"]
        first = {p: v[0] for p, v in choices.items()}
        combos = [first] + [{**first, p: v} for p, vals in choices.items() for v in vals[1:]]
        for combo in combos:
            path = rule.rule
            for p, v in combo.items():
                path = re.sub(rf"<(?:\w+:)?{p}>", str(v), path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((method, path))
    return out


def test_cross_tenant_ids_on_every_route(app: Any, client: Any, two: dict[str, TenantData]) -> None:
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    globex = two["globex"].id
    before = _rows(url, globex)
    sign_in_as(client, two["acme"], "admin")
    calls = _urls(app, url, globex)
    api = {"Authorization": f"Bearer {two['acme'].admin_key}"}
    problems = []
    for method, path in calls:
        headers = api if path.startswith("/api/") else {}
        resp = client.open(path, method=method, headers=headers, json={} if method in {"PATCH"} else None)
        body = resp.get_data(as_text=True)
        if resp.status_code >= 500 or "Globex" in body:
            problems.append((method, path, resp.status_code))
    assert _rows(url, globex) == before, "a Globex row changed through Acme's session"
    assert not problems, problems[:10]
    figures.record("web", cross_tenant_requests=len(calls))


def test_stored_xss_is_rendered_inert(app: Any, client: Any, two: dict[str, TenantData]) -> None:
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    acme = two["acme"]
    with transaction(url) as s:
        s.execute(update(m.Account).where(m.Account.tenant_id == acme.id).values(name=XSS))
        s.execute(
            update(m.Ticket).where(m.Ticket.tenant_id == acme.id).values(subject=XSS, sentiment_excerpt=XSS)
        )
        s.execute(update(m.User).where(m.User.tenant_id == acme.id).values(name=XSS))
    sign_in_as(client, acme, "admin")
    pages = [
        "/",
        "/support",
        "/admin/",
        "/admin/users",
        "/admin/review",
        "/admin/keys",
        "/admin/audit",
        "/admin/webhooks/",
    ]
    pages += [f"/accounts/{i}" for i in acme.accounts.values()]
    leaked = []
    for page in pages:
        resp = client.get(page)
        assert resp.status_code < 500, page
        if RAW_XSS.search(resp.get_data(as_text=True)):
            leaked.append(page)
    assert not leaked, leaked
    figures.record("web", xss_pages_checked=len(pages))


def test_csrf_refused_on_every_form(app: Any, client: Any, two: dict[str, TenantData]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    url = app.config["HEALTHSCORE"].sqlalchemy_url
    before = _rows(url, two["acme"].id)
    sign_in_as(client, two["acme"], "admin")
    posts = [
        (mth, p) for mth, p in _urls(app, url, two["acme"].id) if mth == "POST" and not p.startswith("/api/")
    ]
    posts += [
        ("POST", p)
        for p in (
            "/admin/keys",
            "/admin/model",
            "/admin/plays",
            "/admin/users/invite",
            "/admin/webhooks/",
            "/logout/everywhere",
        )
    ]
    for _, path in posts:
        resp = client.post(
            path, data={"name": "x", "email": "a@b.test", "role": "admin", "url": "https://e.test"}
        )
        assert resp.status_code in (400, 403), (path, resp.status_code)
    after = _rows(url, two["acme"].id)
    # A refused form writes nothing (sessions may record their last use).
    assert {k: v for k, v in after.items() if k not in {"user_sessions"}} == {
        k: v for k, v in before.items() if k not in {"user_sessions"}
    }
    figures.record("web", csrf_forms_checked=len(posts))


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "\\/\\/evil.example",
    ],
)
def test_sign_in_never_redirects_off_site(
    app: Any, client: Any, two: dict[str, TenantData], target: str
) -> None:
    from tests.connector.web.seed import PASSWORD

    resp = client.post(f"/login?next={target}", data={"email": two["acme"].admin_email, "password": PASSWORD})
    location = resp.headers.get("Location", "")
    assert resp.status_code in (302, 303), resp.status_code
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location
    assert "evil" not in location
    figures.record("web", open_redirect_targets=1)


def test_sign_in_starts_a_new_session(app: Any, client: Any, two: dict[str, TenantData]) -> None:
    """Session fixation: a cookie planted before sign-in is not the signed-in session."""
    from tests.connector.web.seed import PASSWORD

    with client.session_transaction() as sess:
        sess["sid"] = "planted-by-attacker"
    client.post("/login", data={"email": two["acme"].admin_email, "password": PASSWORD})
    with client.session_transaction() as sess:
        assert sess.get("sid") not in (None, "planted-by-attacker")
    figures.record("web", session_fixation_checked=1)


def test_brute_force_is_slowed_per_account_without_locking_out_others(
    app: Any, client: Any, two: dict[str, TenantData]
) -> None:
    from tests.connector.web.seed import PASSWORD

    statuses = [
        client.post("/login", data={"email": two["acme"].admin_email, "password": f"guess-{i}"}).status_code
        for i in range(30)
    ]
    assert all(s < 500 for s in statuses)
    assert 429 in statuses, statuses  # the account is throttled long before 30 guesses
    right = client.post("/login", data={"email": two["acme"].admin_email, "password": PASSWORD})
    assert right.status_code == 429  # even the right password waits out the window: no oracle
    other = client.post("/login", data={"email": two["globex"].admin_email, "password": PASSWORD})
    assert other.status_code in (302, 303), other.status_code  # same address, other account: not locked out
    figures.record("web", brute_force_guesses=len(statuses))
