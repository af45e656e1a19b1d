"""A `healthscore worker` whose link step first sleeps SLOW_LINK_S seconds (0: none), so a test can kill
it mid-pass. Run as a script by test_split_pass.py."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from connector.cli import main
from connector.pipeline import link, sentiment
from nlp.sentiment import Sentiment


class KeywordModel:
    """Deterministic and instant (the test compares end states, not the model): the worker and the
    clean reference pass use the same one."""

    version = "keyword-1"

    def classify_many(self, texts: Any) -> list[Sentiment]:
        out = []
        for text in texts:
            bad = any(w in text.lower() for w in ("cancel", "refund", "broken", "angry", "frustrat"))
            out.append(
                Sentiment(
                    label="negative" if bad else "neutral",
                    score=-0.8 if bad else 0.0,
                    confidence=0.9,
                    excerpt=text[:80],
                )
            )
        return out


_original = link.link_tenant


def _slow(session: Any, tenant_id: int) -> Any:
    time.sleep(float(os.environ.get("SLOW_LINK_S", "0")))
    return _original(session, tenant_id)


link.link_tenant = _slow  # type: ignore[assignment]
sentiment.load_model = lambda *_: KeywordModel()  # type: ignore[assignment]

if __name__ == "__main__":
    sys.argv = ["healthscore", "worker", "--concurrency", "1"]
    main()
