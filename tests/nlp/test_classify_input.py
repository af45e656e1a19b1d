"""`healthscore sentiment classify` on hostile input keeps its contract: exactly one {"label", "score"} line
per input line, in order, on stdout; warnings on stderr; exit 0. And it answers each line as it comes when
its input is a pipe that pauses (a program that writes one line and waits for the answer)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.commands.sentiment import COMMAND as SENTIMENT

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    b'{"text": "Thanks, that fixed it!"}',
    b'{"text": "caf\xe9 ist kaputt"}',  # Latin-1, not UTF-8
    b'{"text": "broken \\ud800 surrogate escape"}',  # valid JSON, a string no encoder takes
    b"\xff\xfe\x00 binary junk",
    b'{"text": "' + b"slow " * 200_000 + b'"}',  # a 1 MB line
    b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
    b'{"text": "windows line"}\r',
    b"",
    b'{"text": "the last line has no newline"}',
]


def _lines(stdout: str) -> list[dict[str, Any]]:
    out = [json.loads(x) for x in stdout.splitlines()]
    assert all(set(o) == {"label", "score"} for o in out)
    return out


def test_every_input_line_gets_one_answer_whatever_its_bytes(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + b"\n".join(HOSTILE)  # and a byte-order mark in front
    result = CliRunner().invoke(
        SENTIMENT, ["classify", "--jsonl", "--instance-dir", str(tmp_path)], input=data
    )
    assert result.exit_code == 0, result.output
    out = _lines(result.stdout)
    assert len(out) == len(HOSTILE)
    assert out[0]["label"] == "positive"  # the BOM did not make line 1 "not JSON"
    assert out[3] == out[5] == out[7] == {"label": "neutral", "score": 0.0}
    assert "line 2: not valid UTF-8" in result.stderr
    assert "line 6: JSON nested too deeply" in result.stderr
    assert "line 7:" not in result.stderr  # CRLF is a line ending, not a bad line


def test_a_text_the_model_cannot_score_answers_neutral_and_the_rest_keep_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nlp.model import SentimentModel

    real = SentimentModel.classify_many

    def picky(self: SentimentModel, texts: list[str]) -> list[Any]:
        if any("poison" in t for t in texts):
            raise RuntimeError("the runtime refused this input")
        return real(self, texts)

    monkeypatch.setattr(SentimentModel, "classify_many", picky)
    lines = ["All good, thank you!", "poison", "This is broken and nobody answers."]
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in lines)
    result = CliRunner().invoke(
        SENTIMENT, ["classify", "--jsonl", "--instance-dir", str(tmp_path)], input=stdin
    )
    assert result.exit_code == 0, result.output
    out = _lines(result.stdout)
    assert [o["label"] for o in out] == ["positive", "neutral", "negative"]
    assert out[1] == {"label": "neutral", "score": 0.0}
    assert "line 2: could not be scored (RuntimeError)" in result.stderr


def test_explain_takes_undecodable_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        SENTIMENT, ["explain", "--json", "--instance-dir", str(tmp_path), "broken \udcff again"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] in {"negative", "neutral", "positive"}


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    env.update(PYTHONPATH=str(ROOT), HEALTHSCORE_INSTANCE_PATH=str(tmp_path))
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sentiment", "classify", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal would
    )


def _answer(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> bytes:
    """The next output line, or a failure (not a hang) when none comes in time."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no answer while the input pipe stays open"
    return proc.stdout.readline()


def test_a_paused_pipe_gets_its_answers_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    """Before, answers came per 256 lines or at end of input, so a line-by-line caller waited forever."""
    proc = _start(tmp_path)
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        for text, label in (("Thanks, all fixed!", "positive"), ("The export broke again.", "negative")):
            proc.stdin.write(json.dumps({"text": text}).encode() + b"\n")
            proc.stdin.flush()
            assert json.loads(_answer(proc))["label"] == label  # no EOF, no 256 lines needed
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        err = proc.stderr.read().decode()
        assert "interrupted" in err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()
