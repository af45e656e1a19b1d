"""The lowest versions setup.cfg allows are free of the published advisories that touch what this product
does (security audit 7). A fresh `pip install .` takes the newest releases, but a constraints file, a
distribution's older package or a resolver backtracking for another pin can land anywhere above a floor."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"

# (package, last affected version, advisory and why it matters here)
ADVISORIES = [
    ("requests", "2.32.3", "CVE-2024-47081: .netrc credentials sent to the wrong host for crafted URLs"),
    (
        "urllib3",
        "2.6.3",
        "CVE-2026-44432 (and CVE-2025-66471, CVE-2025-66418, CVE-2026-21441): decompression "
        "bombs in the streaming API, which webhooks/transport.py uses on receivers' answers",
    ),
    ("urllib3", "2.4.0", "CVE-2025-50181: redirects followed although retries disabled them at the pool"),
    ("flask", "3.1.2", "CVE-2026-27205: Vary: Cookie missing when the session is only tested with `in`"),
    (
        "werkzeug",
        "3.1.5",
        "GHSA-29vq-49wr-vm6x: safe_join lets Windows device names through (send_from_directory)",
    ),
    ("jinja2", "3.1.5", "CVE-2025-27516: sandbox escape through |attr (the templates; Flask allows 3.1.2)"),
    ("cryptography", "46.0.6", "CVE-2026-39892, CVE-2026-34073, CVE-2026-26007"),
    (
        "authlib",
        "1.7.9",
        "PYSEC-2026-4354: is_secure_transport fooled by userinfo that starts with a loopback host",
    ),
    ("authlib", "1.6.11", "PYSEC-2026-188"),
    (
        "idna",
        "3.6",
        "CVE-2024-3651: quadratic time in idna.encode, which webhooks/ssrf.py runs on typed URLs",
    ),
]


def _install_requires() -> dict[str, Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(SETUP_CFG, encoding="utf-8")
    lines = cfg["options"]["install_requires"].splitlines()
    reqs = [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]
    return {r.name.lower(): r for r in reqs}


@pytest.mark.parametrize(
    ("package", "affected", "why"), ADVISORIES, ids=[f"{p}-{v}" for p, v, _ in ADVISORIES]
)
def test_no_dependency_floor_admits_a_version_with_a_known_advisory(
    package: str, affected: str, why: str
) -> None:
    requires = _install_requires()
    assert package in requires, f"{package} is used directly by the product: declare it ({why})"
    assert not requires[package].specifier.contains(affected, prereleases=True), (
        f"setup.cfg allows {package} {affected}: {why}"
    )
