"""Warm a fresh worker process before its first task (Celery's worker_process_init, in each pool process).

Without it the first pass a new worker process runs pays for importing the three vendor SDKs (the HubSpot
client alone is thousands of modules) and loading the sentiment model with its ONNX Runtime session: ~8 %
of that pass. Here both happen while the process starts, with the arguments the split pass's sentiment
parts use (`connector.pipeline.sentiment.load_model` caches per process), plus one tiny inference so ONNX
Runtime's first-run allocations are paid too.

Then what the process holds is frozen out of the cyclic garbage collector's reach (gc.freeze, issue 17).

Optional by design: a missing model file (an install without the shipped weights, a --model-path not
exported yet) is skipped with an INFO line, any other failure is logged as a warning and skipped; the
process then starts as before and its first task loads what it needs (and reports what is wrong).
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from celery.signals import worker_process_init

from connector.config import Settings
from integrations.registry import VENDORS, adapter_class

logger = logging.getLogger(__name__)


def warm(settings: Settings) -> dict[str, str]:
    """Import each vendor's adapter and SDK and load the sentiment model; what happened to each, by name."""
    from connector.jobs.passes import SENTIMENT_PART_THREADS
    from connector.pipeline import sentiment
    from nlp.errors import ModelLoadError

    started = time.perf_counter()
    report: dict[str, str] = {}
    for vendor in VENDORS:
        try:
            adapter_class(vendor)
            report[vendor] = "imported"
        except Exception as exc:  # noqa: BLE001 - the first task that needs it reports the problem
            report[vendor] = f"failed: {type(exc).__name__}"
            logger.warning("worker warm-up: importing the %s adapter failed: %r", vendor, exc)
    try:
        model = sentiment.load_model(
            settings.sentiment_model_path, settings.instance_path, SENTIMENT_PART_THREADS
        )
        model.classify_many(["Thanks, that fixed it."])
        report["model"] = "loaded"
    except ModelLoadError as exc:
        report["model"] = f"skipped: {exc}"
        logger.info("worker warm-up: no sentiment model to load (%s); the first pass loads it", exc)
    except Exception as exc:  # noqa: BLE001 - optional: the first sentiment part loads it (or reports why)
        report["model"] = f"failed: {type(exc).__name__}"
        logger.warning("worker warm-up: loading the sentiment model failed: %r", exc)
    logger.info("worker warm-up in %.1f s: %s", time.perf_counter() - started, report)
    return report


@worker_process_init.connect
def on_worker_process_init(**_kwargs: Any) -> None:
    """Celery calls this in each new pool process before it takes tasks; it never raises (a warm-up is an
    optimisation: a process that could not warm up still works)."""
    from connector.jobs.tasks import _current

    try:
        warm(_current())
    except BaseException as exc:  # noqa: BLE001 - not even a MemoryError here may stop the process start
        logger.warning("worker warm-up failed: %r; tasks load what they need", exc)
    # What the process holds now (the SDKs' thousands of modules, the model, the app) lives as long as the
    # process: kept out of the cyclic garbage collector, every oldest-generation collection a pass part
    # triggers no longer walks it (issue 17; Python's gc.freeze). Frozen objects are still freed when
    # nothing refers to them; garbage is collected first so none is frozen.
    gc.collect()
    gc.freeze()
