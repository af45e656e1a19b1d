"""setup.cfg ships what the product reads at run time, and setuptools has nothing to warn about.

`pip install -e .` (`make install`) printed "Package 'nlp.weights' is absent from the `packages`
configuration": package data in a folder setuptools sees as an importable (namespace) package that the
`packages` list leaves out. setuptools ≥ 69 warns for each such folder, and a future version drops its files.
The rule checked here is setuptools' own: every folder holding a shipped data file is a listed package.
Reading the configuration is cheap; building the wheel (4 s, 18 MB) was checked by hand (see the commit)."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest
from setuptools.config.setupcfg import read_configuration

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def options() -> dict[str, object]:
    import os

    here = Path.cwd()
    os.chdir(ROOT)  # find: / find_namespace: search from the working directory
    try:
        return read_configuration(ROOT / "setup.cfg")["options"]
    finally:
        os.chdir(here)


def _shipped(options: dict[str, object]) -> dict[Path, str]:
    """Every file package_data selects → the package it is shipped as part of."""
    packages: list[str] = options["packages"]  # type: ignore[assignment]
    package_data: dict[str, list[str]] = options.get("package_data", {})  # type: ignore[assignment]
    out: dict[Path, str] = {}
    for package in packages:
        base = ROOT / package.replace(".", "/")
        for pattern in [*package_data.get("", []), *package_data.get(package, [])]:  # "": "*" in setup.cfg
            for path in base.glob(pattern):
                if path.is_file() and "__pycache__" not in path.parts:
                    out[path] = package
    return out


def test_every_folder_with_shipped_data_is_a_package(options: dict[str, object]) -> None:
    packages = set(options["packages"])  # type: ignore[call-overload]
    absent = set()
    for path in _shipped(options):
        folder = ".".join(path.parent.relative_to(ROOT).parts)
        if folder not in packages:
            absent.add(folder)
    assert not absent, f"package data in folders missing from `packages` (setuptools warns): {sorted(absent)}"


@pytest.mark.parametrize(
    "needed",
    [
        "nlp/weights/encoder-int8.onnx",
        "nlp/weights/tokenizer.json",
        "nlp/weights/default_head.npz",
        "nlp/cards/default.json",
        "scoring/default_model.yaml",
        "connector/store/migrations/script.py.mako",
        "connector/templates/base.html",
        "connector/templates/admin/keys.html",
        "connector/static/app.css",
        "connector/static/vendor/swagger-ui/LICENSE",
        "integrations/sandbox/book.py",
        "integrations/zendesk/sidebar/manifest.json",
        "integrations/zendesk/sidebar/assets/logo.png",
    ],
)
def test_what_the_product_reads_at_run_time_ships(options: dict[str, object], needed: str) -> None:
    path = ROOT / needed
    assert path.exists(), needed
    packages = set(options["packages"])  # type: ignore[call-overload]
    if path.suffix == ".py":
        assert ".".join(path.parent.relative_to(ROOT).parts) in packages, needed
    else:
        assert path in _shipped(options), f"{needed} is not in the package data"


def test_nothing_built_or_downloaded_ships(options: dict[str, object]) -> None:
    packages: list[str] = options["packages"]  # type: ignore[assignment]
    assert not [p for p in packages if "node_modules" in p or p.startswith("integrations.hubspot.card")]
    assert not [p for p in packages if fnmatch(p, "*__pycache__*")]
