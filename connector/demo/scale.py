"""The demo and benchmark at scale: real Celery workers (subprocesses) and a scheduler on PostgreSQL +
Redis, passes split across them (connector.jobs.passes), and what each worker process cost.

Used by `healthscore demo --workers N` and `benchmarks/pipeline.py --e2e`; nothing here is needed to run
the product (operators start `healthscore worker` and `healthscore scheduler` themselves).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connector.config import Settings
from connector.store import models as m
from connector.store.db import transaction


def _exe() -> str:
    return shutil.which("healthscore") or str(Path(sys.executable).with_name("healthscore"))


def process_env(settings: Settings) -> dict[str, str]:
    """The environment a worker or scheduler needs to share this process's store, broker and vault."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHSCORE_")}
    return env | {
        "HEALTHSCORE_DATABASE_URL": settings.sqlalchemy_url,
        "HEALTHSCORE_BROKER_URL": settings.broker_url,
        "HEALTHSCORE_INSTANCE_PATH": settings.instance_path,
        "HEALTHSCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    }


@dataclass
class Fleet:
    """N worker processes (one Celery process each) and optionally the scheduler."""

    settings: Settings
    logdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    scheduler: subprocess.Popen[bytes] | None = None

    def start_workers(self, n: int) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        env = process_env(self.settings)
        for i in range(n):
            log = (self.logdir / f"worker-{i}.log").open("wb")
            # --concurrency 1: one pass part per process, so "N workers" is N processes doing work.
            cmd = [_exe(), "worker", "--concurrency", "1"]
            self.workers.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))  # noqa: S603

    def start_scheduler(self) -> None:
        log = (self.logdir / "scheduler.log").open("wb")
        self.scheduler = subprocess.Popen(  # noqa: S603 - our own CLI
            [_exe(), "scheduler"], env=process_env(self.settings), stdout=log, stderr=subprocess.STDOUT
        )

    def pids(self) -> dict[str, list[int]]:
        """Each worker's process and its Celery child (the prefork pool process doing the work)."""
        return {f"worker-{i}": [p.pid, *_children(p.pid)] for i, p in enumerate(self.workers)}

    def peak_rss_mib(self) -> dict[str, float]:
        """Peak resident memory of each worker's busiest process (VmHWM: the high-water mark)."""
        return {name: max((_hwm_mib(pid) for pid in pids), default=0.0) for name, pids in self.pids().items()}

    def cpu_s(self) -> dict[str, float]:
        return {name: round(sum(_cpu_s(pid) for pid in pids), 2) for name, pids in self.pids().items()}

    def stop(self) -> None:
        procs = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def run_passes(
    settings: Settings,
    tenant_ids: list[int],
    *,
    timeout_s: float = 7200.0,
    progress: Callable[[str], None] | None = None,
) -> dict[int, dict[str, Any]]:
    """Enqueue one pass per tenant on the workers and wait for every one to finish; tenant → run report."""
    from connector.jobs import tasks

    tasks.configure(settings)
    started: dict[int, str] = {}
    for tid in tenant_ids:
        answer = tasks.run_tenant.delay(tid).get(timeout=300)
        if "pass_id" not in answer:
            raise RuntimeError(f"tenant {tid}: no pass started ({answer}); is another pass running?")
        started[tid] = answer["pass_id"]
    deadline = time.monotonic() + timeout_s
    done: dict[int, dict[str, Any]] = {}
    last = ""
    while len(done) < len(started):
        with transaction(settings.sqlalchemy_url) as s:
            for tid, run_id in started.items():
                run = s.scalar(select(m.Run).where(m.Run.run_id == run_id))
                if run is not None and run.status != "running" and tid not in done:
                    done[tid] = {"status": run.status, **(run.report or {})}
        note = f"{len(done)}/{len(started)} passes finished"
        if progress is not None and note != last:
            progress(note)
            last = note
        if time.monotonic() > deadline:
            raise TimeoutError(f"passes did not finish within {timeout_s:.0f} s ({note})")
        time.sleep(1.0)
    return done


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _hwm_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
