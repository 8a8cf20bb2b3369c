"""Grading on a Dask cluster: ``grader autograde --scheduler ADDRESS``.

``DaskPool`` offers the pool's four methods (``grader.pipeline.pool``) on a running Dask
scheduler (``tcp://host:port``), or on a ``LocalCluster`` of ``--jobs`` worker processes
(``--scheduler local``).  A sandbox task travels to a Dask worker as data and its execution
comes back as data: no file system is shared.  Each Dask worker process keeps one
``GradingWorker`` -- the same sandboxed notebook server, forked kernels and grading runs as
on this machine -- made on its first task and reused for the next; the judging, the secret
and every write of the gradebook and the result files stay in the main process.

A worker that dies in the middle of a submission (killed, out of memory, its machine lost)
costs a retry on another worker: the scheduler reschedules the task, and the main process
records the submission once, when its result arrives.  A grading worker that raises is a
grader error of that submission, as on this machine (retried on the next run), not a task
to run again at once.  Start the workers from the same
environment as the instructor's (the project installed, ``bubblewrap`` on every machine):
``dask worker ADDRESS --nthreads 1``.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from grader.pipeline.course import Course
from grader.pipeline.pool import PoolUnavailable, done_future
from grader.pipeline.results import Execution, SandboxTask
from grader.pipeline.sandbox import bubblewrap
from grader.pipeline.sandbox.builds import Builds
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits

T = TypeVar("T")
CONNECT_SECONDS = 15

_workers: dict[int, GradingWorker] = {}  # per thread of a Dask worker process
_builds: Builds | None = None
_lock = threading.Lock()


class SchedulerUnavailable(PoolUnavailable):
    """The Dask scheduler cannot be reached (the message says which and why)."""


def grade_on_worker(
    task: SandboxTask, limits: Limits, sandboxed: bool, private: tuple[Path, ...] = ()
) -> Execution:
    """Run on a Dask worker: grade ``task`` with this process's grading worker, whose
    sandboxes never show the folders ``private`` (the course's, where this machine has it)."""
    from distributed import get_worker

    worker = get_worker()
    key = threading.get_ident()
    with _lock:
        global _builds
        if key not in _workers:
            if sandboxed:
                bubblewrap.check()  # a machine that cannot run the sandbox says how to fix it
            root = Path(tempfile.mkdtemp(prefix="grading-", dir=worker.local_directory))
            _builds = _builds or Builds(root.parent / "grading-builds")
            _workers[key] = GradingWorker(
                root,
                limits,
                sandboxed=sandboxed,
                builds=_builds,
                label=worker.address,
                private=private,
            )
        grading = _workers[key]
    execution = grading.grade(task)
    execution.worker = worker.address
    return execution


def stop_grading_workers() -> int:
    """Run on a Dask worker: stop its grading workers' sandboxes (how many)."""
    with _lock:
        count = len(_workers)
        for grading in _workers.values():
            grading.stop()
        _workers.clear()
    return count


class DaskPool:
    """Grading workers on a Dask cluster; ``address`` is a scheduler's, or ``"local"``."""

    def __init__(
        self,
        root: Path,
        count: int,
        limits: Limits,
        sandboxed: bool,
        course: Course,
        address: str = "local",
        connect_seconds: float = CONNECT_SECONDS,
    ) -> None:
        from distributed import Client, LocalCluster

        self.limits, self.sandboxed = limits, sandboxed
        self.private = (course.root,)
        self.cluster = None
        try:
            if address == "local":
                self.cluster = LocalCluster(
                    n_workers=count,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    local_directory=str(root),
                    silence_logs=40,
                )
                address = self.cluster.scheduler_address
            self.client = Client(address, timeout=f"{connect_seconds}s")
        except (OSError, TimeoutError) as error:
            if self.cluster is not None:
                self.cluster.close()
            raise SchedulerUnavailable(
                f"cannot reach the Dask scheduler at {address}: {error}. Start one with "
                f"`dask scheduler` (and workers with `dask worker {address} --nthreads 1` from "
                f"this environment), or grade on this machine without --scheduler."
            ) from None
        self.address = address

    def start(self, preload: tuple[str, ...]) -> None:
        """Nothing to do: each Dask worker makes its grading worker on its first task."""

    def submit(self, task: SandboxTask | None) -> Future:
        if task is None:
            return done_future(None)
        return self.client.submit(
            grade_on_worker, task, self.limits, self.sandboxed, self.private, pure=False
        )

    def as_completed(self, futures: dict[Future, T]) -> Iterator[tuple[Future, T]]:
        from distributed import as_completed

        dask_futures = [f for f in futures if not isinstance(f, Future)]
        for future in futures:
            if isinstance(future, Future):  # nothing was sent for it
                yield future, futures[future]
        for future in as_completed(dask_futures):
            yield future, futures[future]

    def stop(self) -> None:
        try:
            self.client.run(stop_grading_workers)
        except Exception:  # noqa: BLE001 - workers may be gone already; their sandboxes die with them
            pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_pool(address: str, connect_seconds: float = CONNECT_SECONDS):
    """A pool factory for ``autograde(pool=...)`` on the scheduler at ``address``."""

    def make(root: Path, count: int, limits: Limits, sandboxed: bool, course: Course):
        return DaskPool(root, count, limits, sandboxed, course, address, connect_seconds)

    return make


__all__ = ["DaskPool", "SchedulerUnavailable", "dask_pool", "grade_on_worker"]
