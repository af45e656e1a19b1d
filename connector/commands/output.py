"""Shared output helpers for commands: one JSON object on stdout, or readable text; progress on a TTY only."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import click

T = TypeVar("T")


def json_safe(value: Any) -> Any:
    """Strict JSON has no NaN/Infinity (e.g. an infinite lift when green had no churn): they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print `data` as one JSON object (--json) or `text` for people."""
    if as_json:
        click.echo(json.dumps(json_safe(data), default=str, sort_keys=False, allow_nan=False))
    else:
        click.echo(text if text is not None else json.dumps(data, indent=2, default=str))


def progress(items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
    """A progress bar on an interactive stderr; silent when piped or in CI logs."""
    if sys.stderr.isatty():
        with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
            yield from bar
    else:
        yield from items


def fail(message: str, hint: str | None = None, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)
