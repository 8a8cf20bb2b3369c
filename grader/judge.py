"""The judging side: plain answers in, points and messages out.

``judge`` compares recorded answers with the references it computes on the cases the caller
generated (never taken from the records).  It never sees the student's code or objects, only
the plain records the kernel produced (``grader.sandboxed.calls``), so it runs in a process where
no student code has ever run.  An answer may come as nested lists instead of arrays, or in
single precision: lists are read as arrays, and a float32 or float16 answer is judged to the
precision of its type, with a note.

Everything in a record is the student's code's to choose, so ``judge`` reads it as hostile
data: any value the channel carries, anywhere, gives a verdict (a wrong answer scores 0 for
its case), never an exception.  A **hidden** verdict (``hidden=True``: graded feedback, which
the student sees and the pipeline stores) carries no text the record holds: no exception
message, no exception type but Python's built-in ones, no warning text, no expected or
received values (they would leak the hidden answers or echo the hidden inputs); it keeps the
shapes, the sizes and place of the largest error and the diagnosis, all the grader's own
words.  The student's self-check and an instructor's run of a master get the full detail,
except on a case that withholds its values (``Case.withhold_values``: one whose answer a
written exercise asks for): its verdict, hidden or not, names the wrong entries and the
diagnosis, and shows no number of the answer.

For wrong answers it looks for the one mistake that explains them all: a cause is named
only when it reproduces the answer of every case that returned numbers (the failing ones,
and the passing ones too, where a real mistake of that kind would not have passed).  First
the check's own mistake models, most specific first; then generic slips of the output (a
sign, everywhere or in some entries, a constant factor, a transpose) that hold in every
failing case; then slips of an input (the correct computation on one argument transposed, or
of the opposite sign), checked like a mistake model.  Every diagnosis names the equation to
reread; the failing cases also keep the cause's name and that equation (``CaseResult.cause``,
``cause_equation``), so the class report counts the causes without reading text.  Where no
cause explains them all, a failing case whose answer is the correct one with signs flipped
says so, as a fact about that case (no cause).  A case whose function raised gets a hint of
its own when the error is a shape mismatch of NumPy: the sizes NumPy reports and the shapes
of the case's arguments.  A verdict with full detail shows the expected and received arrays
of the first failing case: small ones whole, larger ones cut to their first and last rows
and columns, and one of three or more axes by the matrix that holds the largest error.

``answers`` runs a function on cases in this process, through the same plain channel as
grading: for the student's own self-check, the instructor's masters, and the tests.
"""

from __future__ import annotations

import builtins
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from grader.framework import AnswerShapeError, Case, Check, Mistake
from grader.sandboxed import channel
from grader.sandboxed.callers import CALLERS
from grader.sandboxed.calls import MAX_VALUES, STDERR, run_cases, to_plain

LOW_PRECISION_RTOL = 1e-4
"""Relative tolerance, against the largest entry of the reference, for answers computed in
float32 or float16 (float32 keeps about 7 digits; a few operations lose some of them)."""

LOW_PRECISIONS = ("float32", "float16")
MAX_TEXT = 2000  # characters of a recorded text that a verdict with full detail repeats
MAX_WARNINGS = 5  # warnings listed in a verdict with full detail
NOT_IMPLEMENTED = "not implemented yet: replace `raise NotImplementedError()` with your code"
ANOTHER_CLASS = "of another class"

OWN_WORDS = {
    channel.NOT_RUN: "not run: an earlier case ran past its time limit",
    channel.UNDEFINED: (
        "your function was not defined when the graded cell ran (the cell that defines it "
        "failed, or defines it under another name)"
    ),
    channel.NOT_CALLABLE: "the name of your function holds something that is not a function",
}
"""The problem of a case that met an error of these kinds, in the grader's own words."""


@dataclass
class CaseResult:
    """The outcome of one case."""

    case: str
    passed: bool
    problem: str = ""  # what is wrong, in one sentence
    details: list[str] = field(default_factory=list)  # expected vs received, errors
    diagnosis: str = ""  # the mistake that explains it, with the equation
    warnings: list[str] = field(default_factory=list)
    cause: str = ""  # the name of the mistake the diagnosis names (empty: none named)
    cause_equation: str = ""  # the equation that diagnosis cites


@dataclass
class Verdict:
    """The result of a check: points and the per-case results."""

    check: str
    title: str
    equation: str
    points: float
    max_points: float
    results: list[CaseResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "title": self.title,
            "equation": self.equation,
            "points": self.points,
            "max_points": self.max_points,
            "results": [vars(r) for r in self.results],
        }


@dataclass
class Answered:
    """A case whose answer had the expected structure: what the diagnosis looks at."""

    case: Case
    expected: list
    received: list
    result: CaseResult


def plain_case(case: Case) -> dict[str, Any]:
    """``case`` as the kernel receives it: plain data, after a round trip through JSON."""
    plain = {"name": case.name, "args": list(case.args), "kwargs": dict(case.kwargs)}
    if case.seconds:
        plain["seconds"] = case.seconds
    return channel.decode(channel.encode(plain))


def answers(
    check: Check,
    function: Callable,
    cases: list[Case],
    time_limit: float | None = None,
    quiet: bool = True,
) -> list[dict[str, Any]]:
    """The records of ``function`` on ``cases``, run in this process as the kernel runs
    it in the sandbox (same caller, same plain inputs and outputs)."""
    plain = [plain_case(case) for case in cases]
    records = run_cases(CALLERS[check.caller], function, plain, time_limit, quiet)
    return channel.decode(channel.encode(records))


def judge(check: Check, cases: list[Case], records: Any, hidden: bool = False) -> Verdict:
    """Score ``records`` (the kernel's, one per case, in order) against ``check``'s
    references on ``cases`` (regenerated by the caller from the seed, never taken from the
    records).  ``hidden``: the verdict repeats no text the records hold (graded feedback)."""
    records = records if isinstance(records, list) else []
    results, answered = [], []
    for i, case in enumerate(cases):
        record = _record_of(case, records[i] if i < len(records) else None)
        result, entry = _judge_case(check, case, record, hidden)
        results.append(result)
        if entry is not None:
            answered.append(entry)
    _attach_diagnosis(check, answered)
    passed = sum(r.passed for r in results)
    points = round(check.points * passed / len(cases), 2) if cases else 0.0
    return Verdict(check.name, check.title, check.equation, points, check.points, results)


def _record_of(case: Case, record: Any) -> dict | None:
    """``record`` when it is a record of ``case``, else None."""
    if isinstance(record, dict) and _text(record.get("case")) == case.name:
        return record
    return None


def _text(value: Any) -> str:
    """A recorded text, cut to ``MAX_TEXT`` characters ('' for anything but a string)."""
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _judge_case(
    check: Check, case: Case, record: dict | None, hidden: bool
) -> tuple[CaseResult, Answered | None]:
    """The result of one case, and the case as answered when the answer had the expected
    structure (for the diagnosis, which looks at every case at once)."""
    if record is None or not ("error" in record or "answer" in record):
        return CaseResult(case.name, False, "no answer was recorded for this case"), None
    notes = _warning_notes(record.get("warnings"), hidden)
    if "error" in record:
        return _error_result(check, case, record["error"], notes, hidden), None
    return _answer_result(check, case, record, notes, hidden)


# -- errors ------------------------------------------------------------------------------------


def _error_result(
    check: Check, case: Case, error: Any, notes: list[str], hidden: bool
) -> CaseResult:
    """The result of a case whose call met an error (``grader.sandboxed.channel.ERROR_KINDS``)."""
    error = error if isinstance(error, dict) else {}
    kind = error.get("kind") if isinstance(error.get("kind"), str) else channel.RAISED
    type_name, message = _text(error.get("type")), _text(error.get("message"))
    said = [message] if message and not hidden else []
    if kind == channel.TIMEOUT:
        return CaseResult(case.name, False, _timeout_problem(check, case), said, warnings=notes)
    if kind in OWN_WORDS:
        return CaseResult(case.name, False, OWN_WORDS[kind], said, warnings=notes)
    if kind == channel.NOT_NUMBERS:
        problem = _not_numbers_problem(check, message, hidden)
        return CaseResult(case.name, False, problem, warnings=notes)
    problem = _raised_problem(type_name, message, hidden)
    hint = _error_hint(check, case, type_name, "" if hidden else message, _kind_of(message))
    return CaseResult(case.name, False, problem, diagnosis=hint, warnings=notes)


def _timeout_problem(check: Check, case: Case) -> str:
    """A case that ran past its time limit: for a case with a time budget of its own (one
    that measures the cost of the method), the budget and what it allows."""
    if not case.seconds:
        return "your function ran past the time limit of this case"
    problem = f"your method was too slow for this case's time budget of {case.seconds:g} s"
    return f"{problem}, which allows a method {check.cost_reason}" if check.cost_reason else problem


def _not_numbers_problem(check: Check, message: str, hidden: bool) -> str:
    """An answer the kernel could not read as numbers: in a hidden verdict what the check
    expects, never what was received."""
    if hidden:
        return f"the answer is not numbers: {_expected_form(check)}"
    problem = f"the answer is not numbers: {message}" if message else "the answer is not numbers"
    return f"{problem}: {check.answer_form}" if check.answer_form else problem


def _expected_form(check: Check) -> str:
    """What ``check``'s function returns, in words."""
    if check.answer_form:
        return check.answer_form
    if len(check.outputs) == 1:
        return f"expected an array ({check.outputs[0]})"
    return f"expected a tuple of {len(check.outputs)} arrays ({', '.join(check.outputs)})"


def _raised_problem(type_name: str, message: str, hidden: bool) -> str:
    """A case whose function raised: in a hidden verdict the exception's type only when it
    is one of Python's built-in exceptions, and never its message."""
    if type_name == "NotImplementedError":
        return NOT_IMPLEMENTED
    if hidden:
        if _is_builtin(type_name, BaseException):
            return f"your function raised {type_name}"
        return "your function raised an exception of its own class"
    text = f"{type_name}: {message}" if message else type_name
    return f"your function raised {text}" if text else "your function raised an exception"


def _is_builtin(name: Any, base: type) -> bool:
    """Whether ``name`` names one of Python's built-in classes derived from ``base``."""
    found = getattr(builtins, name, None) if isinstance(name, str) else None
    return isinstance(found, type) and issubclass(found, base)


# -- warnings ----------------------------------------------------------------------------------


def _warning_notes(warnings: Any, hidden: bool) -> list[str]:
    """The notes on a case's warnings: each warning and what was written to standard error
    (a hidden verdict: how many, of which built-in categories, and no text)."""
    entries = warnings if isinstance(warnings, list) else []
    if hidden:
        return _counted_warnings(entries)
    return [_warning_text(warning) for warning in entries[:MAX_WARNINGS]]


def _warning_text(warning: Any) -> str:
    if not isinstance(warning, dict):
        return str(warning)[:MAX_TEXT]
    category, message = _text(warning.get("category")), _text(warning.get("message"))
    if category == STDERR:
        return f"wrote to standard error: {message}"
    return f"{category}: {message}"


def _counted_warnings(entries: list) -> list[str]:
    """The warnings of a hidden verdict: counted by built-in category, without their text."""
    labels = [_warning_label(warning) for warning in entries]
    counts = Counter(label for label in labels if label != STDERR)
    notes = []
    if counts:
        total = sum(counts.values())
        kinds = ", ".join(f"{count} {label}" for label, count in counts.items())
        noun = "warning" if total == 1 else "warnings"
        notes.append(
            f"your function emitted {total} {noun} ({kinds}); graded feedback does not show "
            f"their messages"
        )
    if STDERR in labels:
        notes.append(
            "your function wrote to standard error; graded feedback does not show the text"
        )
    return notes


def _warning_label(warning: Any) -> str:
    """``STDERR``, the name of a built-in warning category, or ``ANOTHER_CLASS``."""
    category = warning.get("category") if isinstance(warning, dict) else None
    if isinstance(category, str) and (category == STDERR or _is_builtin(category, Warning)):
        return category
    return ANOTHER_CLASS


# -- answers -----------------------------------------------------------------------------------


def _answer_result(
    check: Check, case: Case, record: dict, notes: list[str], hidden: bool
) -> tuple[CaseResult, Answered | None]:
    """The result of a case that returned an answer."""
    expected = _parts(check, to_plain(check.reference(case))[0])
    try:
        received = _parts(check, check.normalize(record["answer"], case))
    except AnswerShapeError as error:
        return CaseResult(case.name, False, str(error), warnings=notes), None
    except Exception:  # noqa: BLE001 - a check's reading of an answer of any form
        problem = f"the answer cannot be read: {_expected_form(check)}"
        return CaseResult(case.name, False, problem, warnings=notes), None
    if len(received) != len(expected):
        problem = f"expected {len(expected)} values, got {len(received)}"
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


def _parts(check: Check, answer: Any) -> list:
    """The named outputs of a plain answer, each as a float64 array where it is numbers."""
    parts = []
    for part in check.as_parts(answer):
        array = _numbers(part)
        parts.append(part if array is None else array)
    return parts


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array when it is numbers (an array of numbers, a number or a
    boolean, nested lists of them of a regular shape); else None.  An array of more numbers
    than the kernel sends (``MAX_VALUES``) is read as NaN of its shape, without a copy."""
    if isinstance(value, (str, dict)) or value is None:
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None
    if array.dtype.kind not in "biuf":
        return None  # text, None, a dict, an integer too large for any integer type
    if array.size > MAX_VALUES:
        return np.broadcast_to(np.nan, array.shape)
    return array.astype(np.float64)


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
    the received ones are known): which entries are wrong."""
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
        count = int(np.count_nonzero(not_finite))
        entries = "entry that is" if count == 1 else "entries that are"
        first = "" if count == 1 else ", the first"
        return f"{name} has {count} {entries} NaN or infinite{first}{_at_index(not_finite)}", shown
    if withhold:
        return f"{name} is wrong {_wrong_entries(want, got, tolerance)}", []
    return f"{name} is wrong: {_error_sizes(want, got, tolerance[1], hidden)}", shown


def _describe(value: Any) -> str:
    """What a received part that is not numbers is, in words (never its contents)."""
    if isinstance(value, list):
        return "a list that is not an array of numbers"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a dict"
    if value is None:
        return "None"
    return "something that is not numbers"


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False))


def _error_sizes(want: np.ndarray, got: np.ndarray, atol: float, hidden: bool) -> str:
    """The largest absolute and relative errors and where the largest is (two significant
    digits in a hidden verdict, which must not give the expected values away)."""
    with np.errstate(all="ignore"):
        abs_err = np.abs(got - want)
        abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
        rel_err = abs_err / np.maximum(np.abs(want), max(atol, np.finfo(np.float64).tiny))
    digits = 2 if hidden else 3
    where = _at_index(abs_err == np.max(abs_err))
    return (
        f"max abs error {float(np.max(abs_err)):.{digits}g}, "
        f"max rel error {float(np.max(rel_err)):.{digits}g}"
        + (f" (largest{where})" if where else "")
    )


MAX_WRONG_LISTED = 8  # wrong entries named one by one in a verdict that withholds values
WITHHELD = "the values of this case are not shown: they are the answer of a written exercise"


def _wrong_entries(want: np.ndarray, got: np.ndarray, tolerance: tuple[float, float]) -> str:
    """Which entries of ``got`` are wrong, by index (up to ``MAX_WRONG_LISTED``, else how
    many), and that the values are withheld: no number of the answer."""
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(got, want, rtol=tolerance[0], atol=tolerance[1])
    count, size = int(np.count_nonzero(wrong)), int(want.size)
    if not want.ndim:
        return f"({WITHHELD})"
    places = [tuple(int(i) for i in index) for index in np.argwhere(wrong)]
    if count and count <= MAX_WRONG_LISTED:
        at = ", ".join(str(place[0] if len(place) == 1 else place) for place in places)
        noun = "index" if count == 1 else "indices"
        return f"at {noun} {at} ({count} of {size} entries; {WITHHELD})"
    return f"in {count} of {size} entries ({WITHHELD})"


def _at_index(mask: np.ndarray) -> str:
    """' at index (i, j)' of the first true entry of ``mask`` ('' for a number)."""
    if not mask.ndim:
        return ""
    index = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return f" at index {tuple(int(i) for i in index)}"


def _matches(parts_a: list, parts_b: list, rtol: float, atol: float) -> bool:
    return all(
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and _close(a, b, rtol, atol)
        for a, b in zip(parts_a, parts_b)
    )


# -- diagnosis ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """A cause the diagnosis names: its name (a mistake model's, or the generic slip in
    words), the text the student reads, and the equation it cites."""

    name: str
    text: str
    equation: str


def _attach_diagnosis(check: Check, answered: list[Answered]) -> None:
    """Name the cause of the wrong answers, if one cause explains them all, and attach it to
    every failing case that returned numbers."""
    failing = [entry for entry in answered if not entry.result.passed]
    if not failing:
        return
    cause = _diagnose(check, answered)
    if cause is None:
        _attach_sign_notes(check, failing)
        return
    for entry in failing:
        entry.result.diagnosis = cause.text
        entry.result.cause = cause.name
        entry.result.cause_equation = cause.equation


def _attach_sign_notes(check: Check, failing: list[Answered]) -> None:
    """Where no cause explains every case, a failing case whose answer is the correct one
    with signs flipped (everywhere, or in some entries at the right size) says so: a fact
    about that case, so it names no cause for the class report."""
    tol = (max(check.rtol, 1e-6), max(check.atol, 1e-8))
    for entry in failing:
        signs = [
            slip for slip in _slips(check, entry.expected, entry.received, tol) if SIGN in slip
        ]
        if signs:
            entry.result.diagnosis = (
                f"In this case {'; '.join(signs)}: look for a sign slip. "
                f"Reread {_equation(check.equation)}."
            )


def _diagnose(check: Check, answered: list[Answered]) -> Cause | None:
    """The first mistake model that reproduces every answer, else a generic slip of the
    output shared by every failing case, else a slip of an input that reproduces every
    answer, else None."""
    tol = (max(check.rtol, 1e-6), max(check.atol, 1e-8))
    for mistake in check.mistakes():
        if _explains(check, mistake, answered, tol):
            return Cause(mistake.name, _mistake_text(mistake), mistake.equation)
    return _generic_diagnosis(check, answered, tol) or _argument_diagnosis(check, answered, tol)


def _explains(check: Check, mistake: Mistake, answered: list[Answered], tol) -> bool:
    """Whether ``mistake`` gives the received answer in every answered case: failing cases
    first (they reject a wrong model soonest), then the passing ones."""
    explained_a_failure = False
    for entry in sorted(answered, key=lambda entry: entry.result.passed):
        try:
            with np.errstate(all="ignore"):
                model = _parts(check, to_plain(mistake.model(entry.case))[0])
        except Exception:  # noqa: BLE001 - a model that does not apply to this case
            if entry.result.passed:
                continue  # right here, so nothing to explain
            return False
        if not _matches(model, entry.received, *tol):
            return False
        explained_a_failure |= not entry.result.passed
    return explained_a_failure


def _mistake_text(mistake: Mistake) -> str:
    return f"{mistake.explanation} Reread {_equation(mistake.equation)}."


def _equation(equation: str) -> str:
    """An equation reference as it reads after "Reread": "(Exercise 8.6)" -> "Exercise 8.6"."""
    text = equation.strip()
    if text.startswith("(") and text.endswith(")") and not text[1:2].isdigit():
        text = text[1:-1]
    return text or "the task's description"


def _generic_diagnosis(check: Check, answered: list[Answered], tol) -> Cause | None:
    """Slips that look the same in every task (a sign, a constant factor, a transpose),
    named only when the same slip is found in every failing case (the cause's name is the
    slip in words)."""
    shared: list[str] | None = None
    for entry in answered:
        if entry.result.passed:
            continue
        hints = _slips(check, entry.expected, entry.received, tol)
        shared = hints if shared is None else [h for h in shared if h in hints]
        if not shared:
            return None
    if not shared:
        return None
    name = "; ".join(shared)
    return Cause(name, f"{name}. Reread {_equation(check.equation)}.", check.equation)


def _argument_diagnosis(check: Check, answered: list[Answered], tol) -> Cause | None:
    """The slip of an input rather than an output: the answers are what the correct
    function returns with one argument transposed (a square matrix) or with its sign
    flipped, in every case that returned numbers (cases that measure cost excepted).  The
    arguments are named as the check's ``inputs`` name them, else by position."""
    failing = [e for e in answered if not e.result.passed and not e.case.seconds]
    if not failing:
        return None
    names = list(getattr(check, "inputs", ()) or ())
    for i, value in enumerate(failing[0].case.args):
        if i < len(names) and names[i] is None:
            continue
        name = names[i] if i < len(names) else f"argument {i + 1}"
        array = _real_array(value)
        if array is None:
            continue
        variants = [(SIGN_FLIPPED, np.negative)]
        if array.ndim == 2 and array.shape[0] == array.shape[1] > 1:
            variants.insert(0, (TRANSPOSED, np.transpose))
        for kind, transform in variants:
            if _variant_explains(check, answered, i, transform, tol):
                return _argument_cause(check, kind, name)
    return None


SIGN = "wrong sign"  # the words of every sign slip of an output
SIGN_FLIPPED, TRANSPOSED = "sign flipped", "transposed"  # the argument slips
MAX_VARIANT_SIZE = 100_000  # numbers in an argument the argument diagnosis varies


def _real_array(value: Any) -> np.ndarray | None:
    """``value`` as a float array when it is real numbers of a float type (not an integer,
    which counts or indexes, nor a boolean), of a size the diagnosis may vary."""
    if isinstance(value, (bool, int, str)) or value is None:
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None
    if array.dtype.kind != "f" or not array.size or array.size > MAX_VARIANT_SIZE:
        return None
    return array


def _variant_explains(
    check: Check, answered: list[Answered], i: int, transform: Callable, tol
) -> bool:
    """Whether the reference on each case with argument ``i`` transformed gives the received
    answer in every answered case (failing ones first; a case where the transform does not
    apply, or the reference fails, rejects the variant when it failed and is skipped when it
    passed)."""
    explained_a_failure = False
    for entry in sorted(answered, key=lambda entry: entry.result.passed):
        if entry.case.seconds:
            continue
        args = list(entry.case.args)
        array = _real_array(args[i]) if i < len(args) else None
        applies = array is not None and (
            transform is not np.transpose or (array.ndim == 2 and array.shape[0] == array.shape[1])
        )
        try:
            if not applies:
                raise ValueError("the variant does not apply to this case")
            args[i] = transform(array)
            case = replace(entry.case, args=tuple(args))
            with np.errstate(all="ignore"):
                model = _parts(check, to_plain(check.reference(case))[0])
        except Exception:  # noqa: BLE001 - a reference that does not take the variant
            if entry.result.passed:
                continue
            return False
        if not _matches(model, entry.received, *tol):
            return False
        explained_a_failure |= not entry.result.passed
    return explained_a_failure


def _argument_cause(check: Check, kind: str, name: str) -> Cause:
    reread = f"Reread {_equation(check.equation)}."
    if kind == TRANSPOSED:
        text = (
            f"Your answers are what the correct computation gives with {name} transposed: "
            f"where your code uses {name}, it needs the transpose (or has one too many). "
            f"{reread}"
        )
        return Cause(f"{name} {TRANSPOSED}", text, check.equation)
    text = (
        f"Your answers are what the correct computation gives with the sign of {name} "
        f"flipped: look for a sign slip where {name} enters. {reread}"
    )
    return Cause(f"sign of {name} flipped", text, check.equation)


def _slips(check: Check, expected: list, received: list, tol) -> list[str]:
    with np.errstate(all="ignore"):
        return [
            f"{name} {slip}"
            for name, want, got in zip(check.outputs, expected, received)
            if isinstance(got, np.ndarray) and (slip := _slip(want, got, tol))
        ]


def _slip(want: np.ndarray, got: np.ndarray, tol) -> str:
    """The generic slip that turns ``want`` into ``got``, if any ('' otherwise)."""
    same_shape = got.shape == want.shape
    if not np.any(want) or (same_shape and _close(got, want, *tol)):
        return ""
    if same_shape and _close(got, -want, *tol):
        return f"has the {SIGN} everywhere"
    if same_shape and (partly := _partial_sign(want, got, tol)):
        return partly
    if same_shape and _close(got, 2 * want, *tol):
        return "is twice the correct value (a factor 1/2 dropped?)"
    if same_shape and _close(2 * got, want, *tol):
        return "is half the correct value (a factor 2 missing?)"
    if want.ndim == 2 and got.shape == want.T.shape and _close(got, want.T, *tol):
        return "is the transpose of the correct matrix"
    ratio = _integer_ratio(got, want, tol) if same_shape else None
    if ratio is not None:
        return f"is the correct value divided by {ratio:.4g}"
    if same_shape and _single_precision(got, want):
        return (
            "agrees with the correct value to about seven digits, single precision, but not "
            "to double precision: part of the computation ran in float32 (an input, a "
            "constant, or another task's function that returns float32); NumPy's default "
            "float64 gives the full accuracy"
        )
    return ""


def _partial_sign(want: np.ndarray, got: np.ndarray, tol) -> str:
    """'has the wrong sign ...' when ``got`` is ``want`` with the signs of some entries
    flipped (each at its right size), saying which: on or off the diagonal of a square
    matrix, at up to three indices, else how many."""
    if not _close(np.abs(got), np.abs(want), *tol):
        return ""
    flipped = ~np.isclose(got, want, rtol=tol[0], atol=tol[1])
    count = int(np.count_nonzero(flipped))
    if not count:
        return ""
    if want.ndim == 2 and want.shape[0] == want.shape[1] > 1:
        diagonal = np.eye(want.shape[0], dtype=bool)
        nonzero = ~np.isclose(want, 0.0, atol=tol[1])
        if np.array_equal(flipped, ~diagonal & nonzero) and flipped.any():
            return f"has the {SIGN} off the diagonal (the diagonal is right)"
        if np.array_equal(flipped, diagonal & nonzero):
            return f"has the {SIGN} on the diagonal (the rest is right)"
    if count <= 3 and want.ndim:
        places = [tuple(int(i) for i in index) for index in np.argwhere(flipped)]
        at = ", ".join(str(place[0] if len(place) == 1 else place) for place in places)
        noun = "index" if count == 1 else "indices"
        return f"has the {SIGN} at {noun} {at} (the other entries are right)"
    return f"has the {SIGN} in {count} of {want.size} entries (every entry has the right size)"


def _single_precision(got: np.ndarray, want: np.ndarray) -> bool:
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    atol = LOW_PRECISION_RTOL * scale
    return scale > 0 and _close(got, want, LOW_PRECISION_RTOL, atol)


def _integer_ratio(got: np.ndarray, want: np.ndarray, tol) -> float | None:
    """The whole number k > 2 with ``got`` = ``want`` / k, if there is one."""
    denominator = float(np.sum(got * want))
    ratio = float(np.sum(want * want)) / denominator if denominator else math.nan
    if not math.isfinite(ratio) or abs(ratio - round(ratio)) >= 1e-9 or round(ratio) <= 2:
        return None
    return ratio if _close(got * ratio, want, *tol) else None


# -- hints on NumPy's shape errors -------------------------------------------------------------

_SIZE = r"\d{1,6}"  # a size small enough to repeat: under 10^6
_SIZES = re.compile(rf"size ({_SIZE}) is different from ({_SIZE})\b")
_SHAPES = re.compile(rf"\((?:{_SIZE}(?:,\s*{_SIZE})*,?)?\)")


def _kind_of(message: str) -> str:
    """Which NumPy shape error a message reports, by the words NumPy uses ("" for none)."""
    for words in ("matmul", "not aligned", "could not be broadcast", "out of bounds"):
        if words in message:
            return words
    return ""


def _error_hint(check: Check, case: Case, type_name: str, message: str, kind: str) -> str:
    """What a NumPy shape error (of ``kind``) in the student's code means, with the shapes
    involved: those of this case's arguments and, from ``message`` (empty in a hidden
    verdict, whose text the student's code must not control), the sizes or shapes NumPy
    reports (only numbers read from it, and only small ones)."""
    shapes = _argument_shapes(check, case)
    reread = f"Reread {_equation(check.equation)}."
    if type_name == "ValueError" and kind == "matmul":
        sizes = _SIZES.search(message)
        told = ""
        if sizes:
            told = (
                f": the first operand's last axis has size {int(sizes.group(2))} but the "
                f"second operand's first axis has size {int(sizes.group(1))}"
            )
        return (
            f"A matrix product (@ or np.matmul) in your function got operands that do not "
            f"fit{told}. The arguments of this case have the shapes {shapes}: check which "
            f"index each sum runs over, and whether a matrix needs its transpose. {reread}"
        )
    if type_name == "ValueError" and kind == "not aligned":
        told = " and ".join(_shapes_in(message)[:2])
        return (
            f"A matrix product (np.dot) in your function got operands "
            f"{f'of the shapes {told}, ' if told else ''}whose inner sizes differ. The "
            f"arguments of this case have the shapes {shapes}. {reread}"
        )
    if type_name == "ValueError" and kind == "could not be broadcast":
        found = " and ".join(_shapes_in(message.split("[original->remapped]")[0])[:3])
        return (
            f"An elementwise operation in your function combined arrays "
            f"{f'of the shapes {found}, ' if found else ''}which do not broadcast together. "
            f"The arguments of this case have the shapes {shapes}: compare each array's "
            f"shape with the quantity it stands for. {reread}"
        )
    if type_name == "IndexError" and kind == "out of bounds":
        return (
            f"An index in your function runs past the end of an axis. The arguments of this "
            f"case have the shapes {shapes}: check the ranges of your loops and indices. "
            f"{reread}"
        )
    return ""


def _shapes_in(message: str) -> list[str]:
    """The shapes written in an error message, rewritten from the numbers they hold."""
    shapes = _SHAPES.findall(message)
    return [str(tuple(int(n) for n in re.findall(r"\d+", shape))) for shape in shapes]


def _argument_shapes(check: Check, case: Case) -> str:
    """``name (shape)`` for each array argument of ``case``: names from the check's
    optional ``inputs`` (an entry None leaves out an input the student's function does not
    receive as such), else by position."""
    names = list(getattr(check, "inputs", ()) or ())
    described = []
    for i, value in enumerate(case.args):
        if isinstance(value, (str, bool)) or np.ndim(value) == 0:
            continue
        name = names[i] if i < len(names) else f"argument {i + 1}"
        if name is None:
            continue
        described.append(f"{name} {tuple(np.shape(value))}")
    return ", ".join(described) or "(no array arguments)"


# -- expected and received, as the student reads them ---------------------------------------

ONE_LINE = 8  # a vector of at most this many numbers is shown on one line
SHOWN_INDENT = "  "  # the rows of an array shown under its label


def _side_by_side(want: np.ndarray, got: np.ndarray) -> list[str]:
    """The expected and the received array of one output (same shape), as lines: small ones
    whole, a matrix row by row (long axes cut to their first and last three entries), and
    an array of three or more axes by the matrix that holds its largest error, the same one
    of both."""
    where = None
    if want.ndim > 2:
        with np.errstate(all="ignore"):
            error = np.abs(got - want)
        error = np.where(np.isnan(error), np.inf, error)
        where = np.unravel_index(int(np.argmax(error)), error.shape)[:-2]
    return [*_shown("expected", want, where), *_shown("received", got, where)]


def _shown(label: str, a: np.ndarray, where: tuple | None = None) -> list[str]:
    """``label`` and the array ``a`` as lines, the first "label: ..." (see
    ``_side_by_side``); ``where`` picks the matrix of an array of three or more axes
    (default: the first)."""
    if a.ndim == 0 or (a.ndim == 1 and a.size <= ONE_LINE):
        return [f"{label}: {_array_text(a)}"]
    if a.ndim == 1:
        return [f"{label}: {a.size} numbers, {_array_text(a)}"]
    if a.ndim == 2:
        return [f"{label}: shape {a.shape}", *_rows(a)]
    if 0 in a.shape:
        return [f"{label}: an empty array of shape {a.shape}"]
    index = tuple(int(i) for i in (where if where is not None else (0,) * (a.ndim - 2)))
    at = ", ".join(map(str, index))
    which = ", the one with the largest error" if where is not None else ""
    return [f"{label}: the matrix [{at}, :, :] of shape {a.shape}{which}", *_rows(a[index])]


def _rows(matrix: np.ndarray) -> list[str]:
    return [SHOWN_INDENT + line for line in _array_text(matrix).splitlines()]


def _array_text(a: np.ndarray) -> str:
    """NumPy's text of ``a`` with five digits (fixed-point unless every entry is tiny), each
    axis longer than six entries cut to its first and last three."""
    with np.errstate(all="ignore"):
        finite = np.abs(a[np.isfinite(a)])
    fixed = bool(finite.size) and float(finite.max()) >= 1e-3
    return np.array2string(
        a,
        precision=5,
        threshold=0,
        edgeitems=3,
        separator=", ",
        max_line_width=100,
        suppress_small=fixed,
    )
