"""`healthscore sentiment`: classify JSON lines and explain one text with the ticket-sentiment model."""

from __future__ import annotations

import json
import logging
import os
import re
import select
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

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
        callback=_existing_model_path,
        help="A Hugging Face model directory or an .onnx file instead of the packaged MiniLM-L6.",
    )(func)


def _existing_model_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A --model-path that does not exist was reported as a missing head file to rebuild with `model train`."""
    if value is not None and not value.exists():
        raise click.BadParameter(
            f"{value} does not exist: give a Hugging Face model directory or an .onnx file, or leave "
            "--model-path (and HEALTHSCORE_SENTIMENT_MODEL_PATH) unset for the packaged model",
            ctx=ctx,
            param=param,
        )
    return value


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


_SURROGATES = re.compile("[\ud800-\udfff]")


def _sanitise(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800" escape, undecodable argv bytes) cannot be encoded: U+FFFD instead."""
    return _SURROGATES.sub("\ufffd", text)


class _Lines:
    """Raw input lines split on b"\\n" only (so the output has one line per `wc -l` line, plus a last line
    without a newline), read straight from the file descriptor so `idle()` can tell when no whole line is
    waiting: the caller then answers what it holds instead of waiting for a full block (a program that
    writes one line and reads the answer is never left hanging)."""

    CHUNK = 1 << 16

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):  # CliRunner's in-memory stdin
            self._fd = None
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf known to hold no b"\n"
        self._eof = False

    def _fill(self) -> None:
        if self._fd is not None:
            chunk = os.read(self._fd, self.CHUNK)
        else:
            chunk = getattr(self._stream, "read1", self._stream.read)(self.CHUNK)
        if chunk:
            self._buf += chunk
        else:
            self._eof = True

    def idle(self) -> bool:
        """True when the next line would block: nothing whole is buffered and the pipe is empty."""
        if self._eof or self._buf.find(b"\n", self._scanned) >= 0 or self._fd is None:
            return False
        try:
            readable, _, _ = select.select([self._fd], [], [], 0)
        except (OSError, ValueError):  # not selectable (e.g. a regular file on some systems): never idle
            return False
        return not readable

    def __iter__(self) -> Iterator[bytes]:
        while True:
            end = self._buf.find(b"\n", self._scanned)
            while end < 0 and not self._eof:
                self._scanned = len(self._buf)
                self._fill()
                end = self._buf.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                self._scanned = 0
                yield line
            else:  # end of input: a last line without its newline still counts
                if self._buf:
                    line = bytes(self._buf)
                    self._buf.clear()
                    yield line
                return


def _decode(number: int, raw: bytes) -> str:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark from Windows editors
        raw = raw[3:]
    if raw.endswith(b"\r"):  # CRLF files
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _warn(f"line {number}: not valid UTF-8; undecodable bytes replaced")
        return raw.decode("utf-8", errors="replace")


def _text(number: int, line: str, jsonl: bool) -> str | None:
    """The text of one input line, or None for a bad line (warned about)."""
    if not jsonl:
        return _sanitise(line)
    try:
        row = json.loads(line)
    except ValueError:
        _warn(f"line {number}: not JSON; answering neutral")
        return None
    except RecursionError:
        _warn(f"line {number}: JSON nested too deeply; answering neutral")
        return None
    text = row.get("text") if isinstance(row, dict) else None
    if not isinstance(text, str):
        _warn(f'line {number}: no string "text" key; answering neutral')
        return None
    return _sanitise(text)


def _score(model: Any, block: list[tuple[int, str | None]]) -> list[Any]:
    """One Sentiment per block entry; a text the model cannot score answers neutral with a warning (the
    other lines keep their answers)."""
    from nlp import NOTHING_TO_JUDGE

    texts = [t for _, t in block if t is not None]
    try:
        scored = iter(model.classify_many(texts))
        return [NOTHING_TO_JUDGE if t is None else next(scored) for _, t in block]
    except Exception:  # one bad text must not cost the others their answers
        logger.debug("batch failed; scoring its lines one by one", exc_info=True)
    out = []
    for number, text in block:
        if text is None:
            out.append(NOTHING_TO_JUDGE)
            continue
        try:
            out.append(model.classify(text))
        except Exception as exc:  # noqa: BLE001 - this line alone answers neutral
            _warn(f"line {number}: could not be scored ({type(exc).__name__}); answering neutral")
            out.append(NOTHING_TO_JUDGE)
    return out


def _flush(model: Any, block: list[tuple[int, str | None]], out: BinaryIO) -> None:
    for s in _score(model, block):
        out.write((json.dumps({"label": s.label, "score": round(s.score, 4)}) + "\n").encode())
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
    A bad line (not JSON, no "text", not scorable) still gets an output line (neutral, 0.0) and a
    warning on stderr. Only results go to stdout; bytes that are not UTF-8 are replaced; answers are
    written as soon as the input pauses.

    \b
    Example:
      printf '%s\\n' '{"id": 7, "text": "Third outage this week."}' | healthscore sentiment classify --jsonl
      healthscore sentiment classify < messages.txt > labels.jsonl
    """
    model = open_model(model_path, instance_dir, backend)
    out = sys.stdout.buffer
    lines = _Lines(sys.stdin.buffer)
    block: list[tuple[int, str | None]] = []
    for number, raw in enumerate(lines, start=1):
        block.append((number, _text(number, _decode(number, raw), jsonl)))
        if len(block) >= BATCH_LINES or lines.idle():
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
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    model = open_model(model_path, instance_dir, backend)
    exp = model.explain(_sanitise(text))
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
