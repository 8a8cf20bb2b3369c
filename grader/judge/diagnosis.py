"""The diagnosis: for wrong answers, the one mistake that explains them all.

A cause is named only when it reproduces the answer of every case that returned numbers
(the failing ones, and the passing ones too, where a real mistake of that kind would not
have passed).  First the check's own mistake models, most specific first; then generic slips
of the output (a sign, everywhere or in some entries, a constant factor, a transpose) that
hold in every failing case; then slips of an input (the correct computation on one argument
transposed, or of the opposite sign), checked like a mistake model.  Every diagnosis names
the equation to reread; the failing cases also keep the cause's name and that equation
(``CaseResult.cause``, ``cause_equation``), so the class report counts the causes without
reading text.  Where no cause explains them all, a failing case whose answer is the correct
one with signs flipped says so, as a fact about that case (no cause).  A hidden verdict's
diagnosis names no index of the answer and no number it chose (which entries have the wrong
sign, the whole number it was divided by), only the power of ten of that number: the
student's code could write what it read from the hidden inputs into them.

No student code runs here: the answers are the plain records the kernel produced, and the
models are the check's (``Check.reference``, ``Mistake.model``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.framework import Check, Mistake
from grader.judge.common import LOW_PRECISION_RTOL, _close, _equation, _matches, _parts
from grader.judge.results import Answered
from grader.judge.show import _decade
from grader.sandboxed.calls import to_plain


@dataclass(frozen=True)
class Cause:
    """A cause the diagnosis names: its name (a mistake model's, or the generic slip in
    words), the text the student reads, and the equation it cites."""

    name: str
    text: str
    equation: str


def _attach_diagnosis(check: Check, answered: list[Answered], hidden: bool) -> None:
    """Name the cause of the wrong answers, if one cause explains them all, and attach it to
    every failing case that returned numbers (``hidden``: in the words of a hidden
    verdict)."""
    failing = [entry for entry in answered if not entry.result.passed]
    if not failing:
        return
    cause = _diagnose(check, answered, hidden)
    if cause is None:
        _attach_sign_notes(check, failing, hidden)
        return
    for entry in failing:
        entry.result.diagnosis = cause.text
        entry.result.cause = cause.name
        entry.result.cause_equation = cause.equation


def _attach_sign_notes(check: Check, failing: list[Answered], hidden: bool) -> None:
    """Where no cause explains every case, a failing case whose answer is the correct one
    with signs flipped (everywhere, or in some entries at the right size) says so: a fact
    about that case, so it names no cause for the class report."""
    tol = (max(check.rtol, 1e-6), max(check.atol, 1e-8))
    for entry in failing:
        signs = [
            slip
            for slip in _slips(check, entry.expected, entry.received, tol, hidden)
            if SIGN in slip
        ]
        if signs:
            entry.result.diagnosis = (
                f"In this case {'; '.join(signs)}: look for a sign slip. "
                f"Reread {_equation(check.equation)}."
            )


def _diagnose(check: Check, answered: list[Answered], hidden: bool) -> Cause | None:
    """The first mistake model that reproduces every answer, else a generic slip of the
    output shared by every failing case, else a slip of an input that reproduces every
    answer, else None."""
    tol = (max(check.rtol, 1e-6), max(check.atol, 1e-8))
    for mistake in check.mistakes():
        if _explains(check, mistake, answered, tol):
            return Cause(mistake.name, _mistake_text(mistake), mistake.equation)
    generic = _generic_diagnosis(check, answered, tol, hidden)
    return generic or _argument_diagnosis(check, answered, tol)


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


def _generic_diagnosis(check: Check, answered: list[Answered], tol, hidden: bool) -> Cause | None:
    """Slips that look the same in every task (a sign, a constant factor, a transpose),
    named only when the same slip is found in every failing case (the cause's name is the
    slip in words)."""
    shared: list[str] | None = None
    for entry in answered:
        if entry.result.passed:
            continue
        hints = _slips(check, entry.expected, entry.received, tol, hidden)
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


def _slips(check: Check, expected: list, received: list, tol, hidden: bool) -> list[str]:
    with np.errstate(all="ignore"):
        return [
            f"{name} {slip}"
            for name, want, got in zip(check.outputs, expected, received)
            if isinstance(got, np.ndarray) and (slip := _slip(want, got, tol, hidden))
        ]


def _slip(want: np.ndarray, got: np.ndarray, tol, hidden: bool) -> str:
    """The generic slip that turns ``want`` into ``got``, if any ('' otherwise)."""
    same_shape = got.shape == want.shape
    if not np.any(want) or (same_shape and _close(got, want, *tol)):
        return ""
    if same_shape and _close(got, -want, *tol):
        return f"has the {SIGN} everywhere"
    if same_shape and (partly := _partial_sign(want, got, tol, hidden)):
        return partly
    if same_shape and _close(got, 2 * want, *tol):
        return "is twice the correct value (a factor 1/2 dropped?)"
    if same_shape and _close(2 * got, want, *tol):
        return "is half the correct value (a factor 2 missing?)"
    if want.ndim == 2 and got.shape == want.T.shape and _close(got, want.T, *tol):
        return "is the transpose of the correct matrix"
    ratio = _integer_ratio(got, want, tol) if same_shape else None
    if ratio is not None:
        divisor = f"a whole number {_decade(ratio)}" if hidden else f"{ratio:.4g}"
        return f"is the correct value divided by {divisor}"
    if same_shape and _single_precision(got, want):
        return (
            "agrees with the correct value to about seven digits, single precision, but not "
            "to double precision: part of the computation ran in float32 (an input, a "
            "constant, or another task's function that returns float32); NumPy's default "
            "float64 gives the full accuracy"
        )
    return ""


def _partial_sign(want: np.ndarray, got: np.ndarray, tol, hidden: bool) -> str:
    """'has the wrong sign ...' when ``got`` is ``want`` with the signs of some entries
    flipped (each at its right size), saying which: on or off the diagonal of a square
    matrix, at up to three indices, else how many (in a hidden verdict neither indices nor
    a count)."""
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
    if hidden:
        return f"has the {SIGN} in some entries (every entry has the right size)"
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
