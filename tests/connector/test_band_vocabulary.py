"""One band vocabulary (scoring/band_names.py): the UI badge, the task a play writes (subject, body, the
Zendesk ticket made from it) and the CRM picklists all name a band from the same mapping. Before, a rep met
"Watch" on our page, "Yellow" in the CRM field and "entered yellow" in the task."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.pipeline.plays import BandChange, Play, plan
from connector.web.formatting import band_badge, band_text
from integrations.hubspot import mapping as hubspot
from integrations.salesforce import mapping as salesforce
from integrations.zendesk import mapping as zendesk
from scoring import band_names

BANDS = ("green", "yellow", "red")


def test_the_pairing_is_colour_then_meaning() -> None:
    assert [band_names.label(b) for b in BANDS] == ["Green (Healthy)", "Yellow (Watch)", "Red (At risk)"]
    assert band_names.label("amber") == "Amber"  # a custom model's band: its name, no invented meaning


@pytest.mark.parametrize("band", BANDS)
def test_ui_badge_and_band_text_use_the_mapping(band: str) -> None:
    assert f"</span> {band_names.label(band)}</span>" in str(band_badge(band))
    assert band_text(band) == band_names.label(band)


@pytest.mark.parametrize("band", BANDS)
def test_play_task_subject_and_body_use_the_mapping(band: str) -> None:
    change = BandChange(
        account_id="1", account_name="Acme", segment="smb", old_band="green" if band != "green" else "red",
        new_band=band, as_of=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    (action,) = plan([change], [Play(id="p", to_band=band)], {}, BANDS).actions
    assert action.subject == f"Health score: Acme entered {band_names.label(band)}"
    before = band_names.label(change.old_band or "")
    assert action.body.startswith(f"Acme moved from {before} to {band_names.label(band)}.")


def test_crm_picklists_keep_their_values_and_take_labels_from_the_mapping() -> None:
    """The values are a contract with customers' CRM reports (green/yellow/red; labels Green/Yellow/Red)."""
    sf = salesforce.FIELD_METADATA["health_band"]["valueSet"]["valueSetDefinition"]["value"]
    assert [(v["fullName"], v["label"]) for v in sf] == [(b, band_names.colour(b)) for b in BANDS]
    assert [v["label"] for v in sf] == ["Green", "Yellow", "Red"]
    prop = hubspot.PROPERTY_BY_KEY["health_band"]
    hs = hubspot.property_definition(prop, hubspot.Settings())["options"]
    assert [(o["value"], o["label"]) for o in hs] == [(b, band_names.colour(b)) for b in BANDS]
    spec = next(s for s in zendesk.field_specs() if s.logical == "health_band")
    zd = spec.payload()["custom_field_options"]
    assert [(o["value"], o["name"]) for o in zd] == [
        (f"healthscore_band_{b}", band_names.colour(b)) for b in BANDS
    ]
