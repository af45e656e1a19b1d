"""The vendor emulators the sandbox runs, and how to reach one by name.

Shared by the runner (which serves them) and the control API (which asks them for truth and written
fields), so neither has to import the other.
"""

from __future__ import annotations

import importlib
from types import ModuleType

VENDORS = ("salesforce", "hubspot", "zendesk")


def vendor_module(vendor: str) -> ModuleType:
    """`integrations.sandbox.<vendor>` (imported on first use, so a missing emulator only fails when used)."""
    return importlib.import_module(f"integrations.sandbox.{vendor}")
