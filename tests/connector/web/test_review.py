"""Admin review queue: real candidates with reason and confidence, no preselection below the chosen
confidence, search per row, confirm before a sticky link, undo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connector.store import models as m
from connector.store.db import transaction
from tests.connector.web.seed import TenantData


def _row(page: str, org_id: int) -> str:
    return page.split(f'id="review-{org_id}"')[1].split("</tr>")[0]


@pytest.fixture
def queue(app: Any, tenants: dict[str, TenantData]) -> dict[str, int]:
    """Two more unmatched organizations: one sharing a domain with a CRM account, one only a near name."""
    acme = tenants["acme"]
    now = datetime.now(UTC)
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        out = {}
        for key, name, domains in [
            ("domain", "Yellow Holdings", ["acme1.example"]),  # Acme Yellow Corp has acme1.example
            ("name", "Acme Green Corporation Ltd", []),
        ]:
            org = m.Account(
                tenant_id=acme.id, vendor="zendesk", external_id=f"ORG-{key}", name=name, domains=domains,
                vendor_updated_at=now, metrics={},
            )  # fmt: skip
            session.add(org)
            session.flush()
            session.add(
                m.AccountLink(
                    tenant_id=acme.id, source_account_id=org.id, crm_account_id=None, method="unmatched",
                    confidence=0.0, status="review", reason="no rule matched", updated_at=now,
                )
            )  # fmt: skip
            out[key] = org.id
        out["mystery"] = acme.org_id
        return out


def test_candidates_show_reason_and_confidence(acme_admin: Any, queue: dict[str, int]) -> None:
    page = acme_admin.get("/admin/review").data.decode()
    domain_row = _row(page, queue["domain"])
    assert "Acme Yellow Corp" in domain_row
    assert "same domain acme1.example" in domain_row
    assert "90 %" in domain_row
    name_row = _row(page, queue["name"])
    assert "Acme Green Corp" in name_row
    assert "% similar" in name_row or "same name" in name_row


def test_no_preselection_below_the_threshold(acme_admin: Any, queue: dict[str, int]) -> None:
    page = acme_admin.get("/admin/review?min=0.9").data.decode()
    domain_select = _row(page, queue["domain"]).split("<select")[1].split("</select>")[0]
    assert " selected>Acme Yellow Corp (90 %)" in domain_select  # 90 % reaches the threshold
    name_select = _row(page, queue["name"]).split("<select")[1].split("</select>")[0]
    assert "selected disabled>Choose an account" in name_select  # nothing preselected under 90 %
    never = acme_admin.get("/admin/review?min=1.01").data.decode()
    assert "selected disabled>Choose an account" in _row(never, queue["domain"]).split("<select")[1]


def test_search_refills_only_its_own_row(acme_admin: Any, queue: dict[str, int]) -> None:
    page = acme_admin.get(f"/admin/review?row={queue['mystery']}&q=Green").data.decode()
    assert "Acme Green Corp" in _row(page, queue["mystery"])
    assert "Acme Yellow Corp" in _row(page, queue["domain"])  # the other rows keep their own candidates
    assert 'value="Green"' not in _row(page, queue["domain"])


def test_link_asks_for_confirmation_and_can_be_undone(
    app: Any, acme_admin: Any, tenants: dict[str, TenantData], queue: dict[str, int]
) -> None:
    page = acme_admin.get("/admin/review").data.decode()
    assert "data-confirm=" in _row(page, queue["domain"])
    target = tenants["acme"].accounts["Acme Yellow Corp"]
    acme_admin.post(
        f"/admin/review/{queue['domain']}", data={"crm_account_id": str(target), "decision": "link"}
    )
    after = acme_admin.get("/admin/review").data.decode()
    assert f'id="review-{queue["domain"]}"' not in after
    assert f'id="decision-{queue["domain"]}"' in after
    resp = acme_admin.post(f"/admin/review/{queue['domain']}/undo", follow_redirects=True)
    assert "Undone" in resp.data.decode()
    with transaction(app.config["HEALTHSCORE"].sqlalchemy_url) as session:
        link = session.query(m.AccountLink).filter_by(source_account_id=queue["domain"]).one()
        assert (link.status, link.crm_account_id, link.method) == ("review", None, "unmatched")
        assert session.query(m.AuditEntry).filter_by(action="link.undone").count() == 1
    assert f'id="review-{queue["domain"]}"' in acme_admin.get("/admin/review").data.decode()
    again = acme_admin.post(f"/admin/review/{queue['domain']}/undo", follow_redirects=True)
    assert "no decision" in again.data.decode()


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("abc", "“abc” is not a confidence: use a number from 0 to 1 (0.6 is 60 %). Showing 60 %."),
        ("nan", "“nan” is not a confidence"),
        ("60", "60 is not a confidence from 0 to 1 (for 60 % use 0.6). Showing 60 %."),
        ("-1", "-1 is not a confidence from 0 to 1. Showing 60 %."),
    ],
)
def test_a_bad_threshold_says_so_and_shows_the_default(
    acme_admin: Any, queue: dict[str, int], query: str, says: str
) -> None:
    """`?min=abc` (a typed or edited link) was used silently as the default, and `?min=60` as 100 %: the
    page now says what is wrong and shows the queue at the default 60 %."""
    resp = acme_admin.get(f"/admin/review?min={query}")
    page = resp.data.decode()
    assert resp.status_code == 400
    assert says in page
    assert '<option value="0.6" selected>60 % confidence</option>' in page
    assert " selected>Acme Yellow Corp (90 %)" in _row(page, queue["domain"])  # the queue still works


def test_the_never_choice_stays_never(acme_admin: Any, queue: dict[str, int]) -> None:
    """'never' (1.01) was clamped to 1: the filter then showed '50 %' and a 100 % suggestion was preselected."""
    resp = acme_admin.get("/admin/review?min=1.01")
    assert resp.status_code == 200
    assert '<option value="1.01" selected>never</option>' in resp.data.decode()
    assert "flash-error" not in resp.data.decode()
