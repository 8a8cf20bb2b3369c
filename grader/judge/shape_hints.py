"""Hints on NumPy's shape errors: a case whose function raised gets a hint of its own when
the error is a shape mismatch of NumPy (a matrix product, ``np.dot``, broadcasting, an index
out of bounds), with the sizes NumPy reports (not in a hidden verdict, whose text the
student's code must not control) and the shapes of the case's arguments.  No student code
runs here."""

from __future__ import annotations

import re

import numpy as np

from grader.framework import Case, Check
from grader.judge.common import _equation

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
