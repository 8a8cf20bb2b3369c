"""Cases whose call met an error, and the warnings of every case: the problem in the
grader's own words (``OWN_WORDS``, ``NOT_IMPLEMENTED``), a time limit and, for a case that
measures the cost of the method, its budget and what it allows (``Check.cost_reason``), an
answer that is not numbers, an exception raised (in a hidden verdict: its type only when it
is one of Python's built-in exceptions, never its message), with the hint on a NumPy shape
error (``grader.judge.shape_hints``); the warnings each listed, or in a hidden verdict
counted by built-in category without their text.  No student code runs here: the error is
the plain record the kernel produced."""

from __future__ import annotations

from collections import Counter
from typing import Any

from grader.framework import Case, Check
from grader.judge.common import MAX_TEXT, _expected_form, _is_builtin, _text
from grader.judge.results import CaseResult
from grader.judge.shape_hints import _error_hint, _kind_of
from grader.sandboxed import channel
from grader.sandboxed.calls import STDERR

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
    channel.MISSING_HERE: (
        "your function used something your notebook had and the grading run does not (a "
        "package, or a file your notebook wrote); your instructor has been told and will look "
        "at it"
    ),
}
"""The problem of a case that met an error of these kinds, in the grader's own words."""


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
    """The warnings of a hidden verdict: how many in a few words (the number is the student
    code's to choose: it could carry a hidden input) and their built-in categories, without
    their text."""
    labels = [_warning_label(warning) for warning in entries]
    counts = Counter(label for label in labels if label != STDERR)
    notes = []
    if counts:
        total = sum(counts.values())
        kinds = ", ".join(counts)
        many = "one warning" if total == 1 else "a few warnings" if total < 10 else "many warnings"
        notes.append(
            f"your function emitted {many} ({kinds}); graded feedback does not show their messages"
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
