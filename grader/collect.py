"""The student's side of grading: call the function on each case and keep plain data.

Nothing here decides a score.  Each call runs with its warnings and standard error
captured (a warning must not cost marks: nbgrader zeroes a cell that writes to stderr),
with a time limit, and on copies of the inputs.  What comes out is, per case, the answer as
float64 arrays, or the error it raised, and the warnings it emitted.
"""

from __future__ import annotations

import contextlib
import copy
import io
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from grader.framework import Case, Check
from grader.plain import NotPlainError, to_plain

TIME_LIMIT = 20.0  # seconds per case


class CaseTimeout(Exception):
    """A call that ran past the per-case time limit."""


def collect(
    check: Check,
    function: Callable,
    cases: list[Case],
    time_limit: float = TIME_LIMIT,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """Run ``function`` on every case; return one plain record per case:
    ``{"case", "answer" | "error", "warnings", "seconds"}``."""
    records = []
    for case in cases:
        record: dict[str, Any] = {"case": case.name, "warnings": []}
        start = time.perf_counter()
        with _captured(record, quiet), _time_limit(time_limit):
            try:
                answer = check.call(function, copy.deepcopy(case))
                record["answer"] = to_plain(answer)
            except NotPlainError as error:
                record["error"] = f"the answer is not numbers: {error}"
            except CaseTimeout:
                record["error"] = f"stopped after the time limit of {time_limit:g} s"
            except Exception as error:  # noqa: BLE001 - any failure of student code is reported
                record["error"] = f"{type(error).__name__}: {error}"
        record["seconds"] = time.perf_counter() - start
        records.append(record)
    return records


@contextlib.contextmanager
def _captured(record: dict, quiet: bool) -> Iterator[None]:
    stderr = io.StringIO()
    stdout = io.StringIO() if quiet else None
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(stdout) if quiet else contextlib.nullcontext():
            yield
    record["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught][:5]
    if stderr.getvalue().strip():
        record["warnings"].append("wrote to standard error: " + stderr.getvalue().strip()[:200])


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the main thread after ``seconds`` (no limit elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
