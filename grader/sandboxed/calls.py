"""Call a student's function on case inputs and keep plain data: the sandboxed side's only job.

Each call runs on copies of the inputs, with its warnings and standard error captured (a
warning must not cost marks: nbgrader zeroes a cell that writes to standard error) and a
time limit.  What comes out is, per case, the answer as plain numbers (arrays, lists,
floats), or the error it met (of a kind ``grader.sandboxed.channel`` declares), the warnings it
emitted, its time and the precision of its floating-point arrays.  Nothing here decides a
score.

The time limit of a case is its own ``seconds`` where it has one (a case that measures the
cost of the method), else ``GRADER_CASE_SECONDS`` when that environment variable is set,
else 20 s.  After the first case that runs past its limit the function is not called again:
the later cases are marked as not run.
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

import numpy as np

from grader.sandboxed.channel import (
    CASE_SECONDS_VARIABLE,
    MISSING_HERE,
    NOT_NUMBERS,
    NOT_RUN,
    RAISED,
    TIMEOUT,
)

TIME_LIMIT = 20.0  # seconds per case, unless CASE_SECONDS_VARIABLE says otherwise
MAX_MESSAGE = 2000
MAX_WARNINGS = 5
MAX_DEPTH = 6
MAX_VALUES = 2_000_000

Caller = Callable[[Callable, list, dict], Any]


class CaseTimeout(BaseException):
    """A call that ran past the per-case time limit (a ``BaseException``, so that a
    student's ``except Exception`` cannot swallow it)."""


class NotPlainError(TypeError):
    """An answer that cannot be read as numbers."""


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


def run_cases(
    caller: Caller,
    function: Callable,
    cases: list[dict[str, Any]],
    time_limit: float | None = None,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """Call ``function`` through ``caller`` on every case (``{"name", "args", "kwargs"}``
    and an optional ``"seconds"``); one record per case: ``{"case", "answer" | "error",
    "warnings", "seconds"}`` and ``"precision"`` (the narrowest float type in the answer)
    when it is not float64.  An error is ``{"kind", "type", "message"}``; a warning
    ``{"category", "message"}``."""
    limit = case_seconds() if time_limit is None else time_limit
    records = []
    for i, case in enumerate(cases):
        own = case.get("seconds")
        seconds = float(own) if isinstance(own, (int, float)) and own > 0 else limit
        record, timed_out = _run_case(caller, function, case, seconds, quiet)
        records.append(record)
        if timed_out:
            records += [error_record(later["name"], NOT_RUN) for later in cases[i + 1 :]]
            break
    return records


def error_record(case: str, kind: str, type_name: str = "", message: str = "") -> dict:
    """The record of a case that met an error of ``kind`` (``grader.sandboxed.channel``)."""
    if kind == NOT_RUN and not message:
        message = "not run: an earlier case ran past the time limit"
    error = {"kind": kind, "type": type_name, "message": message[:MAX_MESSAGE]}
    return {"case": case, "error": error, "warnings": [], "seconds": 0.0}


def _run_case(
    caller: Caller, function: Callable, case: dict, time_limit: float, quiet: bool
) -> tuple[dict[str, Any], bool]:
    record: dict[str, Any] = {"case": case["name"], "warnings": []}
    timed_out = False
    start = time.perf_counter()
    try:
        with _captured(record, quiet), _time_limit(time_limit):
            try:
                args = copy.deepcopy(list(case.get("args", [])))
                kwargs = copy.deepcopy(dict(case.get("kwargs", {})))
                answer = caller(function, args, kwargs)
                record["answer"], precision = to_plain(answer)
                if precision != "float64":
                    record["precision"] = precision
            except NotPlainError as error:
                record["error"] = _error(NOT_NUMBERS, "", str(error))
            except Exception as error:  # noqa: BLE001 - any failure of student code is reported
                kind = MISSING_HERE if _missing_here(error) else RAISED
                record["error"] = _error(kind, _type_name(error), _text(error))
    except CaseTimeout:  # also when the alarm fires just after the call returned
        record.pop("answer", None)
        record.pop("precision", None)
        record["error"] = _error(TIMEOUT, "", f"stopped after the time limit of {time_limit:g} s")
        timed_out = True
    record["seconds"] = time.perf_counter() - start
    return record, timed_out


def _error(kind: str, type_name: str, message: str) -> dict[str, str]:
    return {"kind": kind, "type": type_name, "message": message[:MAX_MESSAGE]}


def _missing_here(error: BaseException) -> bool:
    """Whether the error says that the grading run lacks what the notebook had (a module
    the run does not have, not one the task forbids: ``replay.Unavailable``)."""
    try:
        return (
            getattr(type(error), "grader_unavailable", False) is True
            and getattr(error, "grader_forbidden", True) is False
        )
    except Exception:  # noqa: BLE001 - a student's exception class with a strange metaclass
        return False


def _type_name(error: BaseException) -> str:
    name = getattr(type(error), "__name__", "")
    return name[:100] if isinstance(name, str) else ""


def _text(error: BaseException) -> str:
    try:
        text = str(error)
        return text[:MAX_MESSAGE] if isinstance(text, str) else ""
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ fails
        return "(its message could not be read)"


def to_plain(value: Any) -> tuple[Any, str]:
    """``value`` as plain data (float64 arrays, floats, nested lists of them) and the
    narrowest floating-point type found in it ("float64" when none is narrower).

    Tuples become lists; objects that hold numbers (NumPy scalars, anything with
    ``__array__`` or ``__float__``) give their numbers.  Anything else raises
    ``NotPlainError`` saying what was received."""
    narrowest = [8]
    count = [0]
    plain = _plain(value, 0, narrowest, count)
    return plain, {8: "float64", 4: "float32", 2: "float16"}[narrowest[0]]


def _plain(value: Any, depth: int, narrowest: list[int], count: list[int]) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlainError("the answer is nested too deeply")
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1, narrowest, count) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        _note(np.asarray(value), narrowest)
        return float(value)
    if not isinstance(value, np.ndarray) and hasattr(value, "__array__"):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise NotPlainError(f"expected numbers, got an array of dtype {value.dtype}")
        count[0] += value.size
        if count[0] > MAX_VALUES:
            raise NotPlainError("the answer holds too many numbers")
        _note(value, narrowest)
        return np.array(value, dtype=np.float64)
    if hasattr(type(value), "__float__"):
        try:
            return float(value)
        except Exception as error:  # noqa: BLE001 - a student's __float__
            raise NotPlainError(f"{type(value).__name__} could not be read as a number") from error
    raise NotPlainError(f"expected numbers or an array, got {type(value).__name__}")


def _note(array: np.ndarray, narrowest: list[int]) -> None:
    if array.dtype.kind == "f":
        narrowest[0] = min(narrowest[0], array.dtype.itemsize)


STDERR = "stderr"  # the category of a "warning" that is text written to standard error


def _category(caught: warnings.WarningMessage) -> str:
    name = getattr(caught.category, "__name__", "")
    return name[:100] if isinstance(name, str) else ""


def _warning_text(caught: warnings.WarningMessage) -> str:
    try:
        return str(caught.message)[:MAX_MESSAGE]
    except Exception:  # noqa: BLE001 - a student's warning whose __str__ fails
        return ""


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
            record["warnings"] = [
                {"category": _category(w), "message": _warning_text(w)}
                for w in caught[:MAX_WARNINGS]
            ]
            if stderr.getvalue().strip():
                record["warnings"].append(
                    {"category": STDERR, "message": stderr.getvalue().strip()[:200]}
                )


REPEAT_SECONDS = 0.1


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the main thread after ``seconds``, and again every
    ``REPEAT_SECONDS`` until the case ends (an exception raised where Python ignores it, in a
    garbage-collector callback or a ``__del__``, is not the end of the limit); no limit in
    other threads."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
