"""docs/architecture.md stays true: every package is on the map, the layering rule holds, and no two modules
of ours import each other (directly or round a circle) at import time."""

from __future__ import annotations

import ast
import fnmatch
import glob
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
TOP = ("connector", "integrations", "scoring", "nlp", "webhooks")
NOT_CODE = {"node_modules", "__pycache__", "templates", "static", "cards", "weights", "card", "sidebar"}


def _packages() -> list[str]:
    """Every folder of ours that holds Python modules, as 'a/b/'."""
    out = []
    for top in TOP:
        for d in [ROOT / top, *sorted((ROOT / top).rglob("*"))]:
            if d.is_dir() and not (NOT_CODE & set(d.relative_to(ROOT).parts)) and any(d.glob("*.py")):
                out.append(d.relative_to(ROOT).as_posix() + "/")
    return out


def _top_level_packages() -> list[str]:
    skip = {"tests", "benchmarks", "scripts", "docs", "data", "build", "dist"}
    return sorted(
        d.name
        for d in ROOT.iterdir()
        if d.is_dir() and not d.name.startswith(".") and d.name not in skip and (d / "__init__.py").exists()
    )


def test_top_level_packages_are_the_mapped_ones() -> None:
    assert set(_top_level_packages()) <= set(TOP), (
        "a new top-level package needs a line in docs/architecture.md"
    )


@pytest.mark.parametrize("package", _packages())
def test_every_package_is_on_the_map(package: str) -> None:
    assert f"`{package}`" in MAP or f"`{package.rstrip('/')}`" in MAP, (
        f"{package} is not described in docs/architecture.md: add a line saying what it holds"
    )


def _named_paths() -> Iterator[tuple[str, list[str]]]:
    """Every file or folder path the map names in backticks, with the folders it may be relative to: a
    table row's own packages (a bare `x.py` in the `scoring/` row is scoring/x.py), else the folders its
    paragraph names (`integrations/<vendor>/` read as the Salesforce one). Placeholders, URL paths and
    paths outside the repository are skipped."""
    for paragraph in MAP.split("\n\n"):
        lines = paragraph.splitlines()
        context = re.findall(r"`([^`\s]+/)`", paragraph.replace("<vendor>", "salesforce"))
        for line in lines:
            cells = line.split("|")
            in_table = line.startswith("|") and len(cells) > 2
            # prose may name a file of any package ("every `mapping.py`"); a table row names its own files
            row = re.findall(r"`([^`]+/)`", cells[1]) if in_table else [*context, *(f"{t}/**" for t in TOP)]
            for token in re.findall(r"`([^`\s]+)`", line):
                if any(c in token for c in "<>") or token.startswith(("/", "..")):
                    continue
                if "/" in token or token.endswith((".py", ".md", ".yaml", ".sh")):
                    yield token, row


def test_every_path_the_map_names_exists() -> None:
    """A row naming a file or folder that was moved or removed is stale: the map says where things are."""
    missing = [
        token
        for token, row in _named_paths()
        if not any(glob.glob(str(base / token), recursive=True) for base in (ROOT, *(ROOT / r for r in row)))
    ]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


@pytest.mark.parametrize("package", ["scoring", "integrations/sandbox"])
def test_the_modules_of_listed_packages_are_each_named(package: str) -> None:
    """These rows list their modules one by one (`seed*.py` names the seed modules), so a new module there
    is named on its row: the band vocabulary (`band_names.py`) and the emulators' record pages
    (`pages.py`) went unmentioned."""
    row = next(line for line in MAP.splitlines() if line.startswith(f"| `{package}/` |"))
    patterns = re.findall(r"`([^`\s]+\.(?:py|yaml))`", row)
    unnamed = [
        p.name
        for p in sorted((ROOT / package).glob("*.py"))
        if p.name != "__init__.py" and not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    ]
    assert not unnamed, f"the {package}/ row of docs/architecture.md does not name {unnamed}"


def _modules(top: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / top).rglob("*.py")):
        rel = path.relative_to(ROOT)
        if NOT_CODE & set(rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _all_modules() -> dict[str, Path]:
    return {name: path for top in TOP for name, path in _modules(top)}


PRODUCT_EXEMPT = ("connector.demo", "connector.commands")


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("scoring", ("connector", "integrations", "nlp", "webhooks")),
        ("nlp", ("connector", "integrations", "webhooks")),
        ("webhooks", ("connector", "integrations", "scoring", "nlp")),
        ("integrations", ("connector",)),
        ("integrations.sandbox", ("connector", "webhooks")),
    ],
)
def test_layering(layer: str, forbidden: tuple[str, ...]) -> None:
    bad = []
    for name, path in _all_modules().items():
        if name != layer and not name.startswith(layer + "."):
            continue
        for imp in _imports(path, name, top_level_only=False):
            if any(imp == f or imp.startswith(f + ".") for f in forbidden):
                bad.append(f"{name} imports {imp}")
    assert not bad, bad


def test_product_code_never_reaches_the_emulators() -> None:
    bad = []
    for name, path in _all_modules().items():
        if not name.startswith("connector") or name.startswith(PRODUCT_EXEMPT):
            continue
        if any(i.startswith("integrations.sandbox") for i in _imports(path, name, top_level_only=False)):
            bad.append(f"{name} imports integrations.sandbox")
        if "/_sandbox/" in path.read_text(encoding="utf-8"):
            bad.append(f"{name} calls the emulators' control API")
    assert not bad, bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    modules = _all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imp in _imports(path, name, top_level_only=True):
            # `from a.b import c` names module a.b.c when it exists, else module a.b
            while imp and imp not in modules:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and not name.startswith(imp + "."):
                targets.add(imp)
        graph[name] = targets
    assert _cycles(graph) == []
