"""Symbolic differentiation (Section 8.2): the derivative (8.48) of the soft-ReLU network
(8.44)-(8.47) with respect to ``w1`` (Exercise 8.13), and the logistic map ``L_{k+1} =
4 L_k (1 - L_k)`` with its derivative by the product rule (8.43) and the chain rule,
unsimplified (Exercise 8.14).
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.forward_mode.functions import _pair
from grader.framework import Case, Check, Mistake


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


# ---------------------------------------------------------------------------------------
# Exercise 8.13: the soft-ReLU network (8.44)-(8.47) and its derivative (8.48)
# ---------------------------------------------------------------------------------------


def _soft_relu(a):
    """h(a) = ln(1 + exp(a)) (8.46)."""
    return anp.log(1.0 + anp.exp(a))


def _soft_relu_network(x, w1, b1, w2, b2):
    """y = h(w2 h(w1 x + b1) + b2) (8.47), element by element in ``x``."""
    return _soft_relu(w2 * _soft_relu(w1 * x + b1) + b2)


def _network_parts(case: Case) -> tuple[np.ndarray, ...]:
    """x, w2 and the pre-activations a1 = w1 x + b1, a2 = w2 h(a1) + b2 of a case."""
    x, w1, b1, w2, b2 = case.args
    a1 = w1 * x + b1
    a2 = w2 * np.log1p(np.exp(a1)) + b2
    return x, w2, a1, a2


@register
class SoftReluDyDw1(Check):
    """dy/dw1 of the two soft-ReLU units (8.47), i.e. (8.48), at each input x."""

    name = "soft_relu_dy_dw1"
    forbids = BY_HAND
    references = (
        "autodiff.algorithms.swell.book_dy_dw1",
        "autodiff.algorithms.swell.check_exercise_8_13",
    )
    title = "Derivative of the soft-ReLU network with respect to w1"
    equation = "(8.48)"
    points = 2.0
    outputs = ("dy/dw1",)

    def cases(self, rng):
        cases = []
        for i in range(6):
            (n,) = sizes(rng, 1, 6)
            x = rng.uniform(-2.0, 2.0, size=n)
            if i == 1:
                x[0] = 0.0  # dy/dw1 vanishes at x = 0
            w1, b1, w2, b2 = (float(w) for w in normal(rng, 4, scale=1.5))
            if i == 2:
                w2 = -abs(w2)  # a negative output weight
            args = (x, w1, b1, w2, b2)
            cases.append(Case(f"{n} inputs x, w1={w1:.3g}, b1={b1:.3g}, w2={w2:.3g}", args))
        return cases

    def reference(self, case):
        x, w1, b1, w2, b2 = case.args

        def total(w):
            return anp.sum(_soft_relu_network(x, w, b1, w2, b2))

        # one copy of w1 per input, so that the gradient holds each dy_n/dw1
        return autodiff.grad(total)(np.full(np.shape(x), w1))

    def mistakes(self):
        def without_x(case):
            x, w2, a1, a2 = _network_parts(case)
            return _sigmoid(a2) * w2 * _sigmoid(a1)

        def without_w2(case):
            x, w2, a1, a2 = _network_parts(case)
            return _sigmoid(a2) * _sigmoid(a1) * x

        def inner_derivative_dropped(case):
            x, w2, a1, a2 = _network_parts(case)
            return (1.0 / (1.0 + np.exp(a2))) * w2 * (1.0 / (1.0 + np.exp(a1))) * x

        return [
            Mistake(
                "soft ReLU derivative without inner factor",
                "The derivative of h(a) = ln(1 + e^a) is e^a / (1 + e^a), the logistic "
                "sigmoid; 1 / (1 + e^a) leaves out the derivative e^a of the logarithm's "
                "argument.",
                "(8.46) and (8.48)",
                inner_derivative_dropped,
            ),
            Mistake(
                "factor x missing",
                "The factor x is missing: the derivative of w1 x + b1 with respect to w1 is x.",
                "(8.44) and (8.48)",
                without_x,
            ),
            Mistake(
                "factor w2 missing",
                "The factor w2 is missing: the output unit receives w2 z + b2, so the "
                "chain rule through z brings in w2.",
                "(8.45) and (8.48)",
                without_w2,
            ),
        ]


# ---------------------------------------------------------------------------------------
# Exercise 8.14: the logistic map L_{k+1} = 4 L_k (1 - L_k), L_1 = x
# ---------------------------------------------------------------------------------------


def _logistic_map(x, n: int):
    """L_n of the logistic map started at L_1 = x (n - 1 steps)."""
    value = x
    for _ in range(n - 1):
        value = 4.0 * value * (1.0 - value)
    return value


def _logistic_with_slip(x: np.ndarray, n: int, slip: str) -> tuple[np.ndarray, np.ndarray]:
    """(L_n, dL_n/dx) as a student with ``slip`` computes them."""
    value, slope = x, np.ones_like(x)
    for _ in range(n if slip == "n steps" else n - 1):
        if slip == "updated first":
            value = 4.0 * value * (1.0 - value)
            slope = 4.0 * slope * (1.0 - value) - 4.0 * value * slope
        elif slip == "one product term":
            value, slope = 4.0 * value * (1.0 - value), 4.0 * slope * (1.0 - value)
        elif slip == "no chain":
            value, slope = 4.0 * value * (1.0 - value), 4.0 * (1.0 - value) - 4.0 * value
        else:
            value, slope = (
                4.0 * value * (1.0 - value),
                4.0 * slope * (1.0 - value) - 4.0 * value * slope,
            )
    return value, slope


@register
class LogisticMapDerivative(Check):
    """L_n of the logistic map and dL_n/dx by the product and chain rules (Exercise 8.14)."""

    name = "logistic_map_derivative"
    forbids = BY_HAND
    references = ("autodiff.grad",)
    title = "The logistic map and its derivative"
    equation = "(Exercise 8.14)"
    points = 2.0
    outputs = ("L_n", "dL_n/dx")

    def cases(self, rng):
        cases = []
        for n in (1, 2, 3, 4, 5, 7):
            (size,) = sizes(rng, 2, 6)
            x = rng.uniform(0.02, 0.98, size=size)
            cases.append(Case(f"n={n}, {size} starting points x in (0, 1)", (x, n)))
        return cases

    def reference(self, case):
        x, n = case.args
        slope = autodiff.grad(lambda z: anp.sum(_logistic_map(z, n)))(x)
        return _logistic_map(x, n), slope

    def normalize(self, answer, case):
        x, _ = case.args
        answer = _pair(answer, "logistic_map", "L_n, dL_n/dx")
        # L_1 = x has the constant derivative 1, which a student may return as a number
        try:
            return [np.broadcast_to(part, np.shape(x)).copy() for part in answer]
        except ValueError:
            return answer

    def mistakes(self):
        def model(slip):
            return lambda case: _logistic_with_slip(*case.args, slip)

        return [
            Mistake(
                "one step too many",
                "This is L_{n+1}: the map starts at L_1 = x, so L_n takes n - 1 steps.",
                "Exercise 8.14",
                model("n steps"),
            ),
            Mistake(
                "derivative from the updated value",
                "The derivative uses L_{k+1} where L_k belongs: compute the new derivative "
                "from the old value before overwriting it.",
                "the product rule (8.43)",
                model("updated first"),
            ),
            Mistake(
                "product rule missing a term",
                "The derivative of 4 L_k (1 - L_k) has two terms, 4 L_k' (1 - L_k) and "
                "-4 L_k L_k'; one of them is missing.",
                "the product rule (8.43)",
                model("one product term"),
            ),
            Mistake(
                "chain rule not carried",
                "This is the derivative of L_{k+1} with respect to L_k only: the chain rule "
                "multiplies it by dL_k/dx at every step.",
                "Exercise 8.14 and (8.57)",
                model("no chain"),
            ),
        ]
