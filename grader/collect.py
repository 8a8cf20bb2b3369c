"""The student's side of grading: call the function on each case and keep plain data.

Nothing here decides a score.  Each call runs with its warnings and standard error
captured (a warning must not cost marks: nbgrader zeroes a cell that writes to stderr),
with a time limit, and on copies of the inputs.  What comes out is, per case, the answer as
float64 arrays, or the error it raised, and the warnings it emitted.

The time limit per case is ``GRADER_CASE_SECONDS`` when that environment variable is set
(the grading pipeline sets it below nbgrader's cell timeout), 20 s otherwise.  After the
first case that runs past it the function is not called again: the remaining cases are
marked as not run, so that the records are complete before nbgrader stops the cell.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from grader.framework import Case, Check
from grader.plain import NotPlainError, to_plain

TIME_LIMIT = 20.0  # seconds per case, unless CASE_SECONDS_VARIABLE says otherwise
CASE_SECONDS_VARIABLE = "GRADER_CASE_SECONDS"
NOT_RUN = "not run: an earlier case ran past the time limit"


class CaseTimeout(BaseException):
    """A call that ran past the per-case time limit (a ``BaseException``, so that a
    student's ``except Exception`` cannot swallow it)."""


def case_seconds() -> float:
    """The time limit per case: ``GRADER_CASE_SECONDS`` if set, else ``TIME_LIMIT``."""
    text = os.environ.get(CASE_SECONDS_VARIABLE, "").strip()
    if not text:
        return TIME_LIMIT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"{CASE_SECONDS_VARIABLE}={text!r}: expected a positive number of seconds "
            f"(or leave it unset for {TIME_LIMIT:g} s)"
        )
    return seconds


def collect(
    check: Check,
    function: Callable,
    cases: list[Case],
    time_limit: float | None = None,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """Run ``function`` on every case; return one plain record per case:
    ``{"case", "answer" | "error", "warnings", "seconds"}``.

    ``time_limit`` (seconds per case) defaults to ``case_seconds()``.  Once a case runs
    past it, the later cases are recorded as not run, without calling ``function``."""
    limit = case_seconds() if time_limit is None else time_limit
    records = []
    for i, case in enumerate(cases):
        record, timed_out = _run_case(check, function, case, limit, quiet)
        records.append(record)
        if timed_out:
            records += [
                {"case": later.name, "error": NOT_RUN, "warnings": [], "seconds": 0.0}
                for later in cases[i + 1 :]
            ]
            break
    return records


def _run_case(
    check: Check, function: Callable, case: Case, time_limit: float, quiet: bool
) -> tuple[dict[str, Any], bool]:
    """The record of one call, and whether it ran past ``time_limit``."""
    record: dict[str, Any] = {"case": case.name, "warnings": []}
    timed_out = False
    start = time.perf_counter()
    try:
        with _captured(record, quiet), _time_limit(time_limit):
            try:
                answer = check.call(function, copy.deepcopy(case))
                record["answer"] = to_plain(answer)
            except NotPlainError as error:
                record["error"] = f"the answer is not numbers: {error}"
            except Exception as error:  # noqa: BLE001 - any failure of student code is reported
                record["error"] = f"{type(error).__name__}: {error}"
    except CaseTimeout:  # also when the alarm fires just after the call returned
        record.pop("answer", None)
        record["error"] = f"stopped after the time limit of {time_limit:g} s"
        timed_out = True
    record["seconds"] = time.perf_counter() - start
    return record, timed_out


@contextlib.contextmanager
def _captured(record: dict, quiet: bool) -> Iterator[None]:
    stderr = io.StringIO()
    stdout = io.StringIO() if quiet else None
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(stdout) if quiet else contextlib.nullcontext():
                yield
        finally:
            record["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught][:5]
            if stderr.getvalue().strip():
                record["warnings"].append(
                    "wrote to standard error: " + stderr.getvalue().strip()[:200]
                )


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
