"""Reliability suites: short by default (part of `make test`), full with HEALTHSCORE_RELIABILITY=full
(`make reliability`). Tests marked `reliability` are the long versions: in the short mode they are
deselected (pytest reports them as "deselected"), never silently skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability import figures
from tests.reliability.world import StubSentiment

RELIABILITY_SEED = 11
RELIABILITY_ACCOUNTS = 12


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if figures.full():
        return
    long = [i for i in items if i.get_closest_marker("reliability") is not None]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [i for i in items if i.get_closest_marker("reliability") is None]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    figures.write()


@pytest.fixture(autouse=True)
def _stub_sentiment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's sentiment step gets an instant deterministic model."""
    from connector.pipeline import sentiment

    monkeypatch.setattr(sentiment, "load_model", lambda *_a, **_k: StubSentiment())


@pytest.fixture(scope="session")
def rel_sandbox_set() -> Iterator[Any]:
    """A small seeded sandbox set of its own (the shared one has 120 accounts: too slow for many passes)."""
    from integrations.sandbox.runner import SandboxSet

    sset = SandboxSet.start(seed=RELIABILITY_SEED, accounts=RELIABILITY_ACCOUNTS, tls=True)
    yield sset
    sset.stop()


@pytest.fixture
def rel_sandbox(rel_sandbox_set: Any) -> Iterator[Any]:
    """The small set, restored to its start state before and after the test."""
    rel_sandbox_set.restore(force=True)
    yield rel_sandbox_set
    rel_sandbox_set.restore(force=True)
