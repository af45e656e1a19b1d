"""Read queries on both engines: window functions, tuple IN, NULLS LAST and tenant scoping behave alike."""

from __future__ import annotations

import pytest

from connector import readmodels
from connector.store.db import transaction
from tests.connector.web.seed import _seed_tenant


@pytest.fixture
def seeded(db_url: str) -> dict[str, object]:
    with transaction(db_url) as session:
        return {
            "acme": _seed_tenant(session, "acme", "Acme"),
            "globex": _seed_tenant(session, "globex", "Globex"),
        }


def test_portfolio_latest_snapshot_per_account(db_url: str, seeded: dict[str, object]) -> None:
    acme = seeded["acme"]
    with transaction(db_url) as session:
        data = readmodels.portfolio(session, acme.id, sort="score")  # type: ignore[attr-defined]
        assert [r.name for r in data.rows] == ["Acme Red Corp", "Acme Yellow Corp", "Acme Green Corp"]
        assert [r.score for r in data.rows] == [31.0, 61.0, 82.0]  # the newest of three snapshots each
        assert {b.band: b.count for b in data.bands} == {"green": 1, "yellow": 1, "red": 1}
        assert data.segments == ["enterprise", "smb"]
        by_arr = readmodels.portfolio(session, acme.id, sort="-arr", band="red")  # type: ignore[attr-defined]
        assert [r.name for r in by_arr.rows] == ["Acme Red Corp"]
        sparks = readmodels.sparklines(session, acme.id, [r.id for r in data.rows], days=10_000)  # type: ignore[attr-defined]
        assert sorted(len(v) for v in sparks.values()) == [3, 3, 3]


def test_account_detail_and_lookups(db_url: str, seeded: dict[str, object]) -> None:
    acme, globex = seeded["acme"], seeded["globex"]
    with transaction(db_url) as session:
        acc_id = acme.accounts["Acme Green Corp"]  # type: ignore[attr-defined]
        detail = readmodels.account_detail(session, acme.id, acc_id)  # type: ignore[attr-defined]
        assert detail is not None
        assert len(detail.history) == 3
        assert detail.surveys
        assert detail.deals
        assert detail.tickets
        assert readmodels.account_detail(session, globex.id, acc_id) is None  # type: ignore[attr-defined]
        crm = readmodels.resolve_crm_account(session, acme.id, "zendesk", "Acme-ORG-1")  # type: ignore[attr-defined]
        assert crm is not None
        assert crm.id == acc_id
        assert readmodels.resolve_crm_account(session, globex.id, "zendesk", "Acme-ORG-1") is None  # type: ignore[attr-defined]


def test_support_and_admin_reads(db_url: str, seeded: dict[str, object]) -> None:
    acme = seeded["acme"]
    with transaction(db_url) as session:
        overview = readmodels.sentiment_overview(session, acme.id, days=100_000)  # type: ignore[attr-defined]
        assert overview.total == 3
        assert [t.subject for t in overview.worst_open] == ["Acme ticket 2"]
        assert overview.by_organization[0].key == "Acme Red Corp"
        assert [g.key for g in overview.by_group] == ["Tier 1"]
        queue = readmodels.review_queue(session, acme.id)  # type: ignore[attr-defined]
        assert [r.source_name for r in queue] == ["Acme Mystery Org"]
        page = readmodels.tickets(session, acme.id, limit=2)  # type: ignore[attr-defined]
        rest = readmodels.tickets(session, acme.id, after_id=page[-1].id, limit=2)  # type: ignore[attr-defined]
        assert len(page) == 2
        assert len(rest) == 1


def test_band_thresholds_follow_the_published_model(db_url: str, seeded: dict[str, object]) -> None:
    """Bands live per segment in the model; the account page draws the ones of the account's segment."""
    from datetime import UTC, datetime
    from importlib.resources import files

    from connector.store import models as m

    text = files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    text = text.replace("min: 75}", "min: 80}")
    acme = seeded["acme"]
    with transaction(db_url) as session:
        assert readmodels.band_thresholds(session, acme.id)[0]["min"] == 75.0  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        session.add(
            m.ScoringModelVersion(
                tenant_id=acme.id,
                version="v2",
                yaml=text,
                status="published",  # type: ignore[attr-defined]
                created_at=now,
                published_at=now,
            )
        )
    with transaction(db_url) as session:
        acc = session.get(m.Account, acme.accounts["Acme Red Corp"])  # type: ignore[attr-defined]
        bands = readmodels.band_thresholds(session, acme.id, acc)  # type: ignore[attr-defined]
        assert [b["name"] for b in bands] == ["green", "yellow", "red"]
        assert bands[0]["min"] == 80.0
