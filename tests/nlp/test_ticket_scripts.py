"""The set generators in data/tickets/ (adversarial.py, longmail.py) write their .jsonl through the one shared
writer, data/tickets/jsonl_out.py: run as scripts, as their docstrings say, they reproduce the shipped files
byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TICKETS = Path(__file__).resolve().parents[2] / "data" / "tickets"


@pytest.mark.parametrize("script", ["adversarial", "longmail"])
def test_each_generator_run_as_a_script_writes_the_shipped_file(script: str, tmp_path: Path) -> None:
    for name in (f"{script}.py", "jsonl_out.py"):
        shutil.copy(TICKETS / name, tmp_path / name)
    subprocess.run(
        [sys.executable, str(tmp_path / f"{script}.py")], check=True, cwd=tmp_path.parent, timeout=60
    )
    assert (tmp_path / f"{script}.jsonl").read_bytes() == (TICKETS / f"{script}.jsonl").read_bytes()


def test_the_writer_keeps_text_as_is_one_row_a_line(tmp_path: Path) -> None:
    sys.path.append(str(TICKETS))
    try:
        from jsonl_out import write_beside
    finally:
        sys.path.remove(str(TICKETS))
    rows = [{"id": "a-01", "text": "Ça ne marche pas — merci"}, {"id": "a-02", "text": 'say "hi"\nbye'}]
    out = write_beside(str(tmp_path / "named.py"), rows)
    assert out == tmp_path / "named.jsonl"
    text = out.read_text(encoding="utf-8")
    assert "Ça ne marche pas — merci" in text  # not \u00c7a
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == rows
