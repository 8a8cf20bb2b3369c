"""What the forward-mode checks share: the scalar functions that the dual numbers are pushed
through (8.57) and the vector functions of the Jacobian checks (8.66), (8.67), test
functions of the sandboxed side (``grader.sandboxed.inputs``) listed with how they read and
their sizes; the points they are evaluated at; ``_pair``, how an answer of two parts is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.framework import AnswerShapeError
from grader.sandboxed.inputs import (
    book_8_49,
    book_two_outputs,
    cos_of_sum,
    cyclic_products,
    exp_of_product,
    helix,
    log_of_squares,
    neuron,
    polar_to_cartesian,
    powers,
    product,
    quotient,
    sin_of_difference,
    tanh_layer,
    three_outputs,
    with_constants,
)


def _pair(answer: Any, what: str, names: str) -> list[np.ndarray]:
    """A two-part answer as two float64 arrays, or a TypeError saying what was expected."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise AnswerShapeError(f"{what} must return a pair ({names}), got {type(answer).__name__}")
    try:
        return [np.asarray(part, dtype=np.float64) for part in answer]
    except (TypeError, ValueError):
        kinds = ", ".join(type(part).__name__ for part in answer)
        raise AnswerShapeError(f"{what} must return numbers ({names}), got ({kinds})") from None


# The functions the student's dual numbers are pushed through.  Written with operators and
# methods only, so that the same code runs on dual numbers and on autodiff's traced values;
# the keys of the tables are the functions' names, which map a call back to its case.


SCALAR_FUNCTIONS: dict[str, tuple[Callable, str, int, bool]] = {
    "book_8_49": (book_8_49, "(8.49): x1 x2 + exp(x1 x2) - sin(x2)", 2, False),
    "product": (product, "x y", 2, False),
    "quotient": (quotient, "x / y", 2, True),
    "with_constants": (with_constants, "3x + 2 - x/4 + (2.5 - x) 0.5 + 1.5/x", 1, True),
    "powers": (powers, "x^3 - (x^2 + y^2)^0.5 - y", 2, False),
    "exp_of_product": (exp_of_product, "exp(x y)", 2, False),
    "sin_of_difference": (sin_of_difference, "sin(x - y)", 2, False),
    "cos_of_sum": (cos_of_sum, "cos(x + y)", 2, False),
    "log_of_squares": (log_of_squares, "log(x^2 + y^2)", 2, False),
    "neuron": (neuron, "tanh(w1 x1 + w2 x2 + b)", 5, False),
}
"""The functions of the dual-number check, each with the rules it exercises: products,
quotients, constants, powers and each elementary function alone, then (8.49) and a neuron
combining them.  Values: (function, how it reads, number of inputs, inputs kept positive)."""

VECTOR_FUNCTIONS: dict[str, tuple[Callable, str, int, int]] = {
    "book_two_outputs": (book_two_outputs, "(8.49) and (8.65), Figure 8.5", 2, 2),
    "polar_to_cartesian": (polar_to_cartesian, "(r cos t, r sin t)", 2, 2),
    "tanh_layer": (tanh_layer, "two tanh units of three inputs", 3, 2),
    "helix": (helix, "(cos t, sin t, t/2)", 1, 3),
    "three_outputs": (three_outputs, "three outputs of two inputs", 2, 3),
    "cyclic_products": (cyclic_products, "(x1 x2, x2 x3, x3 x1)", 3, 3),
}
"""The functions of the Jacobian checks, with fewer, as many and more outputs than inputs.
Values: (function, how it reads, number of inputs D, number of outputs K)."""


def _point(rng: np.random.Generator, count: int, positive: bool) -> np.ndarray:
    """Inputs of size between 0.3 and 2, of random sign unless ``positive``."""
    magnitude = rng.uniform(0.3, 2.0, size=count)
    return magnitude if positive else magnitude * rng.choice([-1.0, 1.0], size=count)
