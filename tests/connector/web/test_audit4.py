"""Fourth security audit: attacks the earlier audits' tests did not cover (one section per finding)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.web.seed import TenantData, bearer

# ------------------------------------------------------------------ YAML scalars PyYAML cannot construct

UNCONSTRUCTABLE = [
    "version: 2026-02-30\n",  # a date that does not exist: ValueError from datetime
    "version: " + "9" * 5000 + "\n",  # past Python's 4,300-digit int limit: ValueError
    "version: !!int 0xZZ\n",
    "version: !!float abc\n",
    "version: !!timestamp x\n",  # AttributeError inside PyYAML
    "[" * 5000 + "]" * 5000 + "\n",  # PyYAML composes recursively: RecursionError
]


@pytest.mark.parametrize("text", UNCONSTRUCTABLE, ids=range(len(UNCONSTRUCTABLE)))
def test_unconstructable_model_yaml_is_a_422_not_a_500(
    client: Any, tenants: dict[str, TenantData], text: str
) -> None:
    # Before: only yaml.YAMLError was caught, so these were 500s on POST /api/v1/backtest and the model page.
    resp = client.post("/api/v1/backtest", json={"yaml": text}, headers=bearer(tenants["acme"].admin_key))
    assert resp.status_code == 422
    assert any(p.startswith("<yaml>") for p in resp.get_json()["problems"])


@pytest.mark.parametrize("text", UNCONSTRUCTABLE[:2], ids=range(2))
def test_model_page_refuses_unconstructable_yaml(acme_admin: Any, text: str) -> None:
    resp = acme_admin.post("/admin/model", data={"yaml": text, "mode": "yaml", "action": "validate"})
    assert resp.status_code == 400


# ------------------------------------------------------------------ play ids typed beyond 64 bits


def test_play_ids_beyond_64_bits_are_not_500s(acme_admin: Any) -> None:
    # Before: ?edit=, ?dry= and the form's play_id reached the query and overflowed it (a 500).
    huge = "99999999999999999999"
    assert acme_admin.get(f"/admin/plays?edit={huge}").status_code == 404
    assert acme_admin.get(f"/admin/plays?dry={huge}").status_code == 404
    resp = acme_admin.post("/admin/plays", data={"play_id": huge, "name": "x", "to_band": "red"})
    assert resp.status_code in (302, 303, 400)


# ------------------------------------------------------------------ driver texts are templates, not format strings


def _model_with_text(text: str) -> str:
    from importlib import resources

    model = resources.files("scoring").joinpath("default_model.yaml").read_text(encoding="utf-8")
    assert '"{value:.0%} of seats in use"' in model
    return model.replace('"{value:.0%} of seats in use"', f'"{text}"', 1)


@pytest.mark.parametrize(
    "text",
    [
        "{value:>100000} seats",
        "{value:.100000f}",
        "{label.__class__.__mro__}",
        "{value[0]}",
        "{value:{label}}",
    ],
)
def test_driver_text_allows_no_huge_widths_or_lookups(
    client: Any, tenants: dict[str, TenantData], text: str
) -> None:
    # Before: the model accepted any str.format template, so "{value:>2000000000}" (20 characters) allocated
    # gigabytes on validation and again for every account in every scoring pass (the plays' subjects were
    # fixed for this in audit 3; the model's driver texts were not).
    resp = client.post(
        "/api/v1/backtest", json={"yaml": _model_with_text(text)}, headers=bearer(tenants["acme"].admin_key)
    )
    assert resp.status_code == 422
    assert any(".text" in p and "bad template" in p for p in resp.get_json()["problems"])


def test_driver_text_keeps_the_formats_models_use() -> None:
    from scoring.config import load_model

    for text in ("{value:.0%} in use", "{value:+.2f} {unit}", "{label}: {value:g}", "{value!r:>10}"):
        load_model(_model_with_text(text))


# ------------------------------------------------------------------ binary values and lone surrogates in the model

ODD_SCALARS = ["? !!binary AA==\n: 1\n", '"\\ud800": 1\n']


@pytest.mark.parametrize("text", ODD_SCALARS, ids=range(len(ODD_SCALARS)))
def test_model_page_refuses_binary_and_lone_surrogates(acme_admin: Any, text: str) -> None:
    # Before: a !!binary key failed the version hash (TypeError) and a "\ud800" escape made a string the page
    # could not encode (UnicodeEncodeError): both 500s on the model editor.
    resp = acme_admin.post("/admin/model", data={"yaml": text, "mode": "yaml", "action": "validate"})
    assert resp.status_code == 400


def test_api_refuses_a_binary_key_in_the_model(client: Any, tenants: dict[str, TenantData]) -> None:
    resp = client.post(
        "/api/v1/backtest", json={"yaml": ODD_SCALARS[0]}, headers=bearer(tenants["acme"].admin_key)
    )
    assert resp.status_code == 422


def test_a_model_versioned_with_a_lone_surrogate_is_refused(acme_admin: Any) -> None:
    text = _model_with_text("{value:.0%} of seats in use") + 'version: "\\ud800"\n'
    resp = acme_admin.post("/admin/model", data={"yaml": text, "mode": "yaml", "action": "save"})
    assert resp.status_code == 400
