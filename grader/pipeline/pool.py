"""Where the sandbox stage runs: a pool of grading workers that takes sandbox tasks and
gives back executions as they finish.

``LocalPool`` keeps one ``GradingWorker`` per parallel job in this process's threads (each
worker's sandboxes are processes, so the threads only wait).  A pool on a cluster
(``grader.pipeline.cluster``) offers the same four methods.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Protocol, TypeVar

from grader.pipeline.course import Course
from grader.pipeline.results import Execution, SandboxTask
from grader.pipeline.sandbox.builds import Builds
from grader.pipeline.sandbox.grading_worker import GradingWorker
from grader.pipeline.sandbox.limits import Limits

T = TypeVar("T")


class PoolUnavailable(RuntimeError):
    """The workers cannot be reached (the message says which and why)."""


class Pool(Protocol):
    def start(self, preload: tuple[str, ...]) -> None: ...

    def submit(self, task: SandboxTask | None) -> Future: ...

    def as_completed(self, futures: dict[Future, T]) -> Iterator[tuple[Future, T]]: ...

    def stop(self) -> None: ...


def done_future(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


class LocalPool:
    """``count`` grading workers on this machine."""

    def __init__(self, root: Path, count: int, limits: Limits, sandboxed: bool, course: Course):
        builds = Builds(Path(root) / "builds")
        self.workers: Queue[GradingWorker] = Queue()
        self.all = [
            GradingWorker(
                Path(root) / f"worker{i}",
                limits,
                sandboxed=sandboxed,
                builds=builds,
                label=f"local-{i}",
                private=(course.root,),
            )
            for i in range(count)
        ]
        for worker in self.all:
            self.workers.put(worker)
        self.executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="grading")

    def start(self, preload: tuple[str, ...]) -> None:
        for worker in self.all:
            worker.start(preload)  # the servers' imports overlap with what follows

    def submit(self, task: SandboxTask | None) -> Future:
        if task is None:
            return done_future(None)
        return self.executor.submit(self._grade, task)

    def _grade(self, task: SandboxTask) -> Execution:
        worker = self.workers.get()
        try:
            return worker.grade(task)
        finally:
            self.workers.put(worker)

    def as_completed(self, futures: dict[Future, T]) -> Iterator[tuple[Future, T]]:
        for future in concurrent.futures.as_completed(futures):
            yield future, futures[future]

    def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        for worker in self.all:
            worker.stop()  # never raises
        self.executor.shutdown(wait=True)
