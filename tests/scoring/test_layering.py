"""The layering rule: scoring is pure maths and imports only what ARCHITECTURE.md allows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scoring

PACKAGE = Path(scoring.__file__).parent
ALLOWED = {"numpy", "scoring", "__future__"}
EXTRA = {"config.py": {"yaml"}, "backtest.py": {"scipy"}}
STDLIB_OK = {
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "typing",
    "hashlib",
    "itertools",
    "json",
    "math",
    "os",
    "pathlib",
    "importlib",
    "concurrent",
    "warnings",
    "re",
    "string",
}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_only_allowed_packages(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= ALLOWED | STDLIB_OK | EXTRA.get(path.name, set())
