"""A case that returned an answer, compared with the expected one: the answer read into
the check's named outputs (``Check.normalize``, ``Check.as_parts``; nested lists are read as
arrays), the structure, the shape and the numbers of each output within the check's
tolerances, NaN and infinite entries named, and an answer in float32 or float16 judged to
the precision of its type, with a note.  What was received, the sizes of the errors, the
wrong entries of a case that withholds its values and the arrays are put in words by
``grader.judge.show``.  A hidden verdict repeats no number the answer chose (how many
values it holds, where its wrong or NaN entries are, the digits of its errors): the
student's code could write what it read from the hidden inputs into them.  No student code
runs here: the answer is the plain record the kernel produced."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.framework import AnswerShapeError, Case, Check
from grader.judge.common import LOW_PRECISION_RTOL, _close, _expected_form, _parts
from grader.judge.results import Answered, CaseResult
from grader.judge.show import (
    _at_index,
    _describe,
    _error_sizes,
    _shown,
    _side_by_side,
    _wrong_entries,
)
from grader.sandboxed.calls import to_plain

LOW_PRECISIONS = ("float32", "float16")


def _answer_result(
    check: Check, case: Case, record: dict, notes: list[str], hidden: bool
) -> tuple[CaseResult, Answered | None]:
    """The result of a case that returned an answer."""
    expected = _parts(check, to_plain(check.reference(case))[0])
    try:
        received = _parts(check, check.normalize(record["answer"], case))
    except AnswerShapeError as error:
        problem = _structure_problem(check, error, hidden)
        return CaseResult(case.name, False, problem, warnings=notes), None
    except Exception:  # noqa: BLE001 - a check's reading of an answer of any form
        problem = f"the answer cannot be read: {_expected_form(check)}"
        return CaseResult(case.name, False, problem, warnings=notes), None
    if len(received) != len(expected):
        got = "" if hidden else f", got {len(received)}"
        problem = f"expected {len(expected)} values{got}"
        return CaseResult(case.name, False, problem, warnings=notes), None
    precision = record.get("precision")
    low = precision if isinstance(precision, str) and precision in LOW_PRECISIONS else ""
    for name, want, got in zip(check.outputs, expected, received):
        tolerance = _tolerance(check, want, low)
        problem, details = _compare(name, want, got, tolerance, hidden, case.withhold_values)
        if problem:
            if low:
                problem += f" (your answer is in {low}, judged to its precision)"
            result = CaseResult(case.name, False, problem, details, "", notes)
            return result, Answered(case, expected, received, result)
    if low:
        notes.append(
            f"your answer is in {low}: it was judged to that precision; "
            f"float64 (NumPy's default) gives the full accuracy"
        )
    result = CaseResult(case.name, True, warnings=notes)
    return result, Answered(case, expected, received, result)


def _structure_problem(check: Check, error: AnswerShapeError, hidden: bool) -> str:
    """An answer whose structure the check cannot read: the check's words, which may count
    what was received, or in a hidden verdict what the check expects."""
    return f"the answer has the wrong structure: {_expected_form(check)}" if hidden else str(error)


def _tolerance(check: Check, want: Any, low: str) -> tuple[float, float]:
    """(rtol, atol) for an output: the check's, widened for an answer in low precision."""
    if not low or not isinstance(want, np.ndarray) or not want.size:
        return check.rtol, check.atol
    scale = float(np.max(np.abs(want)))
    return max(check.rtol, LOW_PRECISION_RTOL), max(check.atol, LOW_PRECISION_RTOL * scale)


def _compare(
    name: str,
    want: np.ndarray,
    got: Any,
    tolerance: tuple[float, float],
    hidden: bool,
    withhold: bool = False,
) -> tuple[str, list[str]]:
    """('', []) when ``got`` matches ``want``; otherwise the problem and (unless hidden or
    ``withhold``) the expected and received numbers.  ``withhold``: no number of the answer
    at all (not the sizes of the errors either, which give the expected values away when
    the received ones are known): which entries are wrong.  ``hidden``: no index and no
    count of entries, and the errors' sizes as powers of ten."""
    if not isinstance(got, np.ndarray):
        return f"{name}: expected an array of shape {want.shape}, got {_describe(got)}", []
    if got.shape != want.shape:
        if hidden:  # the received shape is the student code's to choose: not repeated
            return f"{name} has the wrong shape: expected {want.shape}", []
        shown = [] if withhold else [*_shown("expected", want), *_shown("received", got)]
        return f"{name} has shape {got.shape}, expected {want.shape}", shown
    if _close(got, want, *tolerance):
        return "", []
    shown = [] if hidden or withhold else _side_by_side(want, got)
    not_finite = ~np.isfinite(got) & np.isfinite(want)
    if not_finite.any():
        return f"{name} has {_not_finite_entries(not_finite, hidden)}", shown
    if withhold:
        return f"{name} is wrong {_wrong_entries(want, got, tolerance, hidden)}", []
    return f"{name} is wrong: {_error_sizes(want, got, tolerance[1], hidden)}", shown


def _not_finite_entries(not_finite: np.ndarray, hidden: bool) -> str:
    """The NaN or infinite entries of an answer (true in ``not_finite``): how many and where
    the first is, or in a hidden verdict only that there are some."""
    if hidden:
        return "NaN or infinite entries"
    count = int(np.count_nonzero(not_finite))
    entries = "entry that is" if count == 1 else "entries that are"
    first = "" if count == 1 else ", the first"
    return f"{count} {entries} NaN or infinite{first}{_at_index(not_finite)}"
