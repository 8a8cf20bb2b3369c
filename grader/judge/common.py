"""What the modules of the judge share: the plain answer read as named float64 parts
(``_parts``, ``_numbers``), the comparison within tolerances (``_close``, ``_matches``), a
recorded text cut to its length (``_text``), the test for Python's built-in classes
(``_is_builtin``), what a check's function returns in words (``_expected_form``), an
equation as it reads after "Reread" (``_equation``), and the tolerance of answers in single
precision.  No student code runs here."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from grader.framework import Check
from grader.sandboxed.calls import MAX_VALUES

LOW_PRECISION_RTOL = 1e-4
"""Relative tolerance, against the largest entry of the reference, for answers computed in
float32 or float16 (float32 keeps about 7 digits; a few operations lose some of them)."""
MAX_TEXT = 2000  # characters of a recorded text that a verdict with full detail repeats


def _text(value: Any) -> str:
    """A recorded text, cut to ``MAX_TEXT`` characters ('' for anything but a string)."""
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _expected_form(check: Check) -> str:
    """What ``check``'s function returns, in words."""
    if check.answer_form:
        return check.answer_form
    if len(check.outputs) == 1:
        return f"expected an array ({check.outputs[0]})"
    return f"expected a tuple of {len(check.outputs)} arrays ({', '.join(check.outputs)})"


def _is_builtin(name: Any, base: type) -> bool:
    """Whether ``name`` names one of Python's built-in classes derived from ``base``."""
    found = getattr(builtins, name, None) if isinstance(name, str) else None
    return isinstance(found, type) and issubclass(found, base)


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


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False))


def _matches(parts_a: list, parts_b: list, rtol: float, atol: float) -> bool:
    return all(
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and _close(a, b, rtol, atol)
        for a, b in zip(parts_a, parts_b)
    )


def _equation(equation: str) -> str:
    """An equation reference as it reads after "Reread": "(Exercise 8.6)" -> "Exercise 8.6"."""
    text = equation.strip()
    if text.startswith("(") and text.endswith(")") and not text[1:2].isdigit():
        text = text[1:-1]
    return text or "the task's description"
