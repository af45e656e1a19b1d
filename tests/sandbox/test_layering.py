"""The emulators stand apart from the product: no import of connector/ or webhooks/ (they sign and render
vendor traffic from the vendors' documentation, so a product mistake cannot hide in both), and no import
circles between the sandbox's modules."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "integrations" / "sandbox"
PACKAGE = "integrations.sandbox"
FORBIDDEN = ("connector", "webhooks")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SANDBOX.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module an import statement in `path` names (function-level imports included); with
    `runtime_only`, not those under `if TYPE_CHECKING:` (annotations only, never executed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    if runtime_only:
        for block in ast.walk(tree):
            if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING"):
                typing_only.update(id(n) for stmt in block.body for n in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SANDBOX.rglob("*.py")}
    return {
        name: {m for m in _imports(path, runtime_only=True) if m in files and m != name}
        for name, path in files.items()
    }


def test_the_emulators_import_nothing_from_the_product() -> None:
    offenders = {
        str(path.relative_to(SANDBOX.parents[1])): sorted(
            m for m in _imports(path) if m.split(".")[0] in FORBIDDEN
        )
        for path in SANDBOX.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_circles_between_sandbox_modules() -> None:
    graph = _graph()
    assert f"{PACKAGE}.runner" in graph
    assert f"{PACKAGE}.hubspot.routes" in graph
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 1:
            circles.append([*path[path.index(node) :], node])
            return
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        state[node] = 2

    for name in sorted(graph):
        visit(name, [])
    assert circles == []
