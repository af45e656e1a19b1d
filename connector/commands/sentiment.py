"""`healthscore sentiment`: classify JSON lines and explain one text with the ticket-sentiment model."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

logger = logging.getLogger(__name__)

BATCH_LINES = 256
BACKEND_CHOICES = ("onnx-int8", "onnx-fp32", "torch")


def model_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--model-path, --instance-dir and --backend, shared by the sentiment and model commands."""
    func = click.option(
        "--backend",
        type=click.Choice(BACKEND_CHOICES),
        default="onnx-int8",
        show_default=True,
        help="Runtime: ONNX Runtime int8 (fast, default), ONNX fp32, or plain torch fp32.",
    )(func)
    func = click.option(
        "--instance-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="HEALTHSCORE_INSTANCE_PATH",
        default=None,
        help="Where built artefacts (ONNX exports, heads of custom models) are cached. [default: ./instance]",
    )(func)
    return click.option(
        "--model-path",
        type=click.Path(path_type=Path),
        envvar="HEALTHSCORE_SENTIMENT_MODEL_PATH",
        default=None,
        help="A Hugging Face model directory or an .onnx file instead of the packaged MiniLM-L6.",
    )(func)


def open_model(model_path: Path | None, instance_dir: Path | None, backend: str) -> Any:
    """Load the model or exit with the ModelLoadError message (which names the rebuild command)."""
    from nlp import ModelLoadError, load_default_model

    try:
        return load_default_model(model_path, instance_dir, backend=backend)  # type: ignore[arg-type]
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from exc


def _warn(message: str) -> None:
    """A warning on stderr whatever logging is configured: stdout carries results only."""
    click.echo(f"warning: {message}", err=True)


def _texts(stream: TextIO, jsonl: bool) -> Iterator[tuple[int, str | None]]:
    """(line number, text or None for a bad line) for every input line."""
    for number, line in enumerate(stream, start=1):
        if not jsonl:
            yield number, line.rstrip("\n")
            continue
        try:
            row = json.loads(line)
        except ValueError:
            _warn(f"line {number}: not JSON; answering neutral")
            yield number, None
            continue
        text = row.get("text") if isinstance(row, dict) else None
        if not isinstance(text, str):
            _warn(f'line {number}: no string "text" key; answering neutral')
            yield number, None
        else:
            yield number, text


def _flush(model: Any, block: list[str | None], out: TextIO) -> None:
    from nlp import NOTHING_TO_JUDGE

    scored = iter(model.classify_many([t for t in block if t is not None]))
    for text in block:
        s = NOTHING_TO_JUDGE if text is None else next(scored)
        out.write(json.dumps({"label": s.label, "score": round(s.score, 4)}) + "\n")
    out.flush()


@click.group("sentiment")
def sentiment() -> None:
    """Ticket sentiment: classify many texts or explain one."""


@sentiment.command("classify")
@click.option(
    "--jsonl", is_flag=True, help='Input lines are JSON objects with a "text" key (other keys ignored).'
)
@model_options
def classify(jsonl: bool, model_path: Path | None, instance_dir: Path | None, backend: str) -> None:
    """Read texts on stdin, write one {"label", "score"} JSON line per input line, in order.

    With --jsonl every input line is a JSON object with a "text" key; without it every line is the text.
    A bad line (not JSON, no "text") still gets an output line (neutral, 0.0) and a warning on stderr.
    Only results go to stdout.
    """
    model = open_model(model_path, instance_dir, backend)
    out = sys.stdout
    block: list[str | None] = []
    for _, text in _texts(sys.stdin, jsonl):
        block.append(text)
        if len(block) >= BATCH_LINES:
            _flush(model, block, out)
            block = []
    if block:
        _flush(model, block, out)


@sentiment.command("explain")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@model_options
def explain(
    text: str, as_json: bool, model_path: Path | None, instance_dir: Path | None, backend: str
) -> None:
    """Label, score and the sentences that carry them for TEXT ("-" reads stdin).

    A sentence's push is its exact share of P(positive)-vs-P(negative) logits: > 0 pushes positive.
    """
    if text == "-":
        text = sys.stdin.read()
    model = open_model(model_path, instance_dir, backend)
    exp = model.explain(text)
    s = exp.sentiment
    if as_json:
        sentences = [{"text": p.text, "push": round(p.push, 4), "toward": p.toward} for p in exp.sentences]
        payload = {
            "label": s.label,
            "score": round(s.score, 4),
            "confidence": round(s.confidence, 4),
            "excerpt": s.excerpt,
        }
        click.echo(json.dumps({**payload, "sentences": sentences}))
        return
    click.echo(f"{s.label}  score {s.score:+.3f}  confidence {s.confidence:.2f}")
    click.echo(f"carried by: {s.excerpt!r}" if s.excerpt else "nothing to judge")
    for p in exp.sentences:
        click.echo(f"  {p.push:+.3f}  {p.toward:<8}  {p.text}")


COMMAND = sentiment
