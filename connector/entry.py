"""The `healthscore` console script's entry point: a Ctrl-C while the command line loads ends quietly.

Importing connector.cli (click, Flask, SQLAlchemy, then every command module) takes ~0.3-2 s. Python's own
SIGINT handler raises KeyboardInterrupt wherever that import is, so a Ctrl-C in those first moments printed
an import traceback, or an ImportError when it cut a C extension's initialisation short. This module imports
the standard library only (and connector/__init__.py imports nothing heavy), so its handler is in place
before anything slow loads; connector.cli then holds SIGINT while it registers the commands (`_start`).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

INTERRUPTED = "interrupted while starting: nothing was done"


def main() -> None:
    """Import the command line under a SIGINT handler, then run it (exit 130 if interrupted first)."""
    pressed: list[int] = []

    def on_sigint(signum: int, _frame: FrameType | None) -> None:
        pressed.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: nothing to install
        previous = None
    try:
        from connector.cli import main as cli
    except KeyboardInterrupt:
        _interrupted()
    except ImportError:
        if pressed:  # a C extension's init cut short by the Ctrl-C
            _interrupted()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    cli()


def _interrupted() -> None:
    sys.stderr.write(f"\n{INTERRUPTED}\n")
    sys.exit(130)
