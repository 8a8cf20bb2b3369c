"""Forward mode with dual numbers (8.57): ``jvp_dual(f, x, v)``, the value of a function of
scalars and its derivative along ``v``, checked against ``autodiff.jvp``; the mistake
models push ``_SlipDual``, a dual number with one slip in its rules, through the same
functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.cases import normal
from grader.checks.forbidden import BY_HAND
from grader.checks.forward_mode.functions import SCALAR_FUNCTIONS, _pair, _point
from grader.framework import Case, Check, Mistake

# ---------------------------------------------------------------------------------------
# Dual numbers: forward mode pushed through functions of scalars
# ---------------------------------------------------------------------------------------


class _SlipDual:
    """A dual number (value, tangent) with one typical slip in its rules, as a mistaken
    student writes it: ``"product"`` keeps one term of the product rule, ``"chain"`` drops
    the inner tangent of exp/sin/cos/log/tanh/power (``"chain:exp"`` of ``exp`` alone, and
    so on), ``"constant"`` gives numbers the tangent 1, ``"quotient"`` adds where the
    quotient rule subtracts."""

    def __init__(self, value: float, tangent: float, slip: str) -> None:
        self.value, self.tangent, self.slip = value, tangent, slip

    def _new(self, value: float, tangent: float) -> _SlipDual:
        return _SlipDual(value, tangent, self.slip)

    def _lift(self, other: Any) -> _SlipDual:
        if isinstance(other, _SlipDual):
            return other
        return self._new(float(other), 1.0 if self.slip == "constant" else 0.0)

    def __add__(self, other):
        other = self._lift(other)
        return self._new(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other)
        return self._new(self.value - other.value, self.tangent - other.tangent)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __neg__(self):
        return self._new(-self.value, -self.tangent)

    def __mul__(self, other):
        other = self._lift(other)
        tangent = self.tangent * other.value
        if self.slip != "product":
            tangent += self.value * other.tangent
        return self._new(self.value * other.value, tangent)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other)
        sign = 1.0 if self.slip == "quotient" else -1.0
        tangent = (self.tangent * other.value + sign * self.value * other.tangent) / other.value**2
        return self._new(self.value / other.value, tangent)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def _chain(self, function: str, value: float, derivative: float) -> _SlipDual:
        dropped = self.slip in ("chain", f"chain:{function}")
        return self._new(value, derivative * (1.0 if dropped else self.tangent))

    def __pow__(self, exponent: float):
        derivative = exponent * self.value ** (exponent - 1.0)
        return self._chain("pow", self.value**exponent, derivative)

    def exp(self):
        return self._chain("exp", math.exp(self.value), math.exp(self.value))

    def sin(self):
        return self._chain("sin", math.sin(self.value), math.cos(self.value))

    def cos(self):
        return self._chain("cos", math.cos(self.value), -math.sin(self.value))

    def log(self):
        return self._chain("log", math.log(self.value), 1.0 / self.value)

    def tanh(self):
        return self._chain("tanh", math.tanh(self.value), 1.0 - math.tanh(self.value) ** 2)


def _slip_outputs(slip: str, f: Callable, x: np.ndarray, seed: np.ndarray) -> list:
    """The outputs of ``f`` on slipped dual numbers seeded with ``seed``."""
    outputs = f(*(_SlipDual(float(a), float(d), slip) for a, d in zip(x, seed)))
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


_DUAL_SLIPS = [
    (
        "product",
        "product rule missing a term",
        "The tangent of a product u v is u_dot v + u v_dot; one of the two terms is missing.",
        "(8.43) and (8.60)",
    ),
    (
        "chain",
        "chain rule without the inner derivative",
        "exp, sin, cos, log, tanh and powers must multiply their derivative by the tangent "
        "of their argument: the tangent of exp(u) is exp(u) u_dot.",
        "(8.57), (8.61) and (8.62)",
    ),
    *(
        (
            f"chain:{function}",
            f"chain rule without the inner derivative in {reads}",
            f"The tangent of {reads} misses the tangent of its argument: it is "
            f"{derivative} times u_dot (the other elementary functions have it right).",
            equation,
        )
        for function, reads, derivative, equation in (
            ("exp", "exp(u)", "exp(u)", "(8.57) and (8.62)"),
            ("sin", "sin(u)", "cos(u)", "(8.57) and (8.61)"),
            ("cos", "cos(u)", "-sin(u)", "(8.57)"),
            ("log", "log(u)", "1/u", "(8.57)"),
            ("tanh", "tanh(u)", "1 - tanh(u)^2", "(8.57)"),
            ("pow", "u ** p", "p u^(p-1)", "(8.57)"),
        )
    ),
    (
        "constant",
        "constant with a nonzero tangent",
        "A number does not depend on the inputs, so as a dual number its tangent is 0, not 1.",
        "(8.57)",
    ),
    (
        "quotient",
        "sign in the quotient rule",
        "The tangent of u / v is (u_dot v - u v_dot) / v^2: the second term is subtracted.",
        "the quotient rule and (8.57)",
    ),
]


@register
class DualNumberJvp(Check):
    """jvp_dual(f, x, v): f and its directional derivative along v, by dual numbers."""

    name = "dual_number_jvp"
    forbids = BY_HAND
    references = ("autodiff.algorithms.traces",)
    title = "Forward mode with dual numbers"
    equation = "(8.57)"
    points = 4.0
    outputs = ("value", "tangent")

    def cases(self, rng):
        cases = []
        for name, (_, reads, count, positive) in SCALAR_FUNCTIONS.items():
            x = _point(rng, count, positive)
            v = normal(rng, count)
            cases.append(Case(f"f = {reads}, {count} input(s)", (name, x, v)))
        return cases

    def visible_cases(self, rng):
        return self.cases(rng)  # every function, at other points and directions

    def reference(self, case):
        name, x, v = case.args
        value, tangent = autodiff.jvp(SCALAR_FUNCTIONS[name][0], tuple(x), tuple(v))
        return [np.asarray(value), np.asarray(tangent)]

    caller = "dual"
    answer_form = "jvp_dual must return numbers (value, tangent): the two parts of a Dual"

    def normalize(self, answer, case):
        return _pair(answer, "jvp_dual", "value, tangent")

    def student_function(self, answer):
        return lambda f, x, v: answer(Case("", (f.__name__, np.asarray(x), np.asarray(v))))

    def mistakes(self):
        def model(slip):
            def outputs(case):
                name, x, v = case.args
                (out,) = _slip_outputs(slip, SCALAR_FUNCTIONS[name][0], x, v)
                return [np.asarray(out.value), np.asarray(out.tangent)]

            return outputs

        return [
            Mistake(name, explanation, equation, model(slip))
            for slip, name, explanation, equation in _DUAL_SLIPS
        ]
