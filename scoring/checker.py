"""Gather-every-problem readers for a parsed YAML tree, each problem named by its key path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class Checker:
    """Collects problems while reading a parsed YAML tree; each reader returns a safe fallback on error."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at `path`."""
        self.problems.append(f"{path or '<root>'}: {message}")

    def mapping(self, node: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
        """A mapping with string keys (unknown keys reported when `allowed` is given); {} if absent."""
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.add(path, "must be a mapping")
            return {}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str):
                self.add(path, f"key {key!r} must be a string")
            elif allowed is not None and key not in allowed:
                self.add(join(path, key), f"unknown key (expected one of: {', '.join(sorted(allowed))})")
            else:
                out[key] = value
        return out

    def number(
        self, node: Any, path: str, default: float, *, ge: float | None = None, gt: float | None = None
    ) -> float:
        """A finite number within the bounds, or `default` when absent."""
        if node is None:
            return default
        if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
            self.add(path, f"must be a number, got {node!r}")
            return default
        value = float(node)
        if ge is not None and value < ge:
            self.add(path, f"must be ≥ {fmt(ge)}")
            return default
        if gt is not None and value <= gt:
            self.add(path, f"must be > {fmt(gt)}")
            return default
        return value

    def text(self, node: Any, path: str, default: str | None = None) -> str:
        """A non-empty string, or `default` when absent."""
        if node is None and default is not None:
            return default
        if not isinstance(node, str) or not node.strip():
            self.add(path, "must be a non-empty string")
            return default or ""
        return node

    def str_list(self, node: Any, path: str) -> tuple[str, ...]:
        """One string or a list of strings, as a tuple; () if absent."""
        if node is None:
            return ()
        if isinstance(node, str):
            return (node,)
        if not isinstance(node, list) or not all(isinstance(x, str) for x in node):
            self.add(path, "must be a string or a list of strings")
            return ()
        return tuple(node)

    def num_list(self, node: Any, path: str) -> tuple[float, ...]:
        """A list of finite numbers."""
        if not isinstance(node, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in node
        ):
            self.add(path, "must be a list of numbers")
            return ()
        return tuple(float(x) for x in node)


def join(path: str, key: str | int) -> str:
    """The dotted key path of a child."""
    return f"{path}.{key}" if path else str(key)


def fmt(x: float) -> str:
    """A number as a person writes it in the YAML (75, not 75.0)."""
    return str(int(x)) if float(x).is_integer() else str(x)
