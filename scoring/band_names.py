"""The one vocabulary for bands in words: every text a person reads takes its band names from here.

A band has a machine name (`green`, `yellow`, `red`: API JSON, webhook payloads, the stored band, the CRM
picklist's API values), a colour name (`Green`, `Yellow`, `Red`: the picklist's labels, a contract with
customers' CRM reports) and a meaning (`Healthy`, `Watch`, `At risk`). A rep used to meet three words for one
thing: "Watch" on our pages, "Yellow" in the CRM field and "entered yellow" in the task a play created. Now
every human-facing text pairs them the same way, `label("yellow") == "Yellow (Watch)"`: UI badges and
filters, task subjects and bodies, Zendesk tickets from plays, admin pages, CSV cells.

A band a custom model names otherwise (no meaning known) reads as its title-cased name.
"""

from __future__ import annotations

COLOURS: dict[str, str] = {"green": "Green", "yellow": "Yellow", "red": "Red"}
MEANINGS: dict[str, str] = {"green": "Healthy", "yellow": "Watch", "red": "At risk"}


def colour(band: str) -> str:
    """`Yellow`: the CRM picklist label of a band (its value stays the machine name)."""
    return COLOURS.get(band, band.replace("_", " ").title())


def meaning(band: str) -> str | None:
    """`Watch`: what the band means, None for a band we know no meaning of."""
    return MEANINGS.get(band)


def label(band: str) -> str:
    """`Yellow (Watch)`: the band as every human-facing text names it."""
    means = meaning(band)
    return f"{colour(band)} ({means})" if means else colour(band)


LABELS: dict[str, str] = {b: label(b) for b in COLOURS}
