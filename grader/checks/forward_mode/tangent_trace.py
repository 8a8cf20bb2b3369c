"""Exercises 8.15 and 8.17: the primal trace (8.50)-(8.56) of (8.49) and its tangent trace
(8.58)-(8.64) for any input direction, the reference from ``autodiff.jvp``.
"""

from __future__ import annotations

import math

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal
from grader.checks.forbidden import BY_HAND
from grader.checks.forward_mode.functions import _pair
from grader.framework import Case, Check, Mistake

# ---------------------------------------------------------------------------------------
# Exercises 8.15 and 8.17: the primal and tangent traces of (8.49)
# ---------------------------------------------------------------------------------------


def _book_trace_variables(x1, x2):
    """v1 .. v7 of (8.50)-(8.56) as one array."""
    v3 = x1 * x2
    v4 = anp.sin(x2)
    v5 = anp.exp(v3)
    v6 = v3 - v4
    return anp.stack([x1, x2, v3, v4, v5, v6, v5 + v6])


def _tangent_trace_with_slip(case: Case, slip: str) -> tuple[np.ndarray, np.ndarray]:
    """(v, v-dot) of (8.50)-(8.56) and (8.58)-(8.64) as a student with ``slip`` computes them."""
    x1, x2, d1, d2 = case.args
    v = [x1, x2, x1 * x2, math.sin(x2), math.exp(x1 * x2)]
    v += [v[2] - v[3], v[4] + v[2] - v[3]]
    d3 = d1 * x2 if slip == "product" else x1 * d2 + d1 * x2
    inner = 1.0 if slip == "chain" else d2
    d4 = inner * math.cos(x2)
    if slip == "cos sign":
        d4 = -d4  # the slope of sin taken as -cos
    elif slip == "sin for cos":
        d4 = -inner * math.sin(x2)  # sin differentiated as if it were cos
    d5 = (1.0 if slip == "chain" else d3) * v[4]
    d6 = d3 + d4 if slip == "sign" else d3 - d4
    return np.array(v), np.array([d1, d2, d3, d4, d5, d6, d5 + d6])


@register
class TangentTrace849(Check):
    """Primal values v1..v7 (8.50)-(8.56) and tangents (8.58)-(8.64) for any direction."""

    name = "tangent_trace_8_49"
    forbids = BY_HAND
    references = ("autodiff.algorithms.traces",)
    title = "Primal and tangent trace of (8.49)"
    equation = "(8.50)-(8.64)"
    points = 2.0
    outputs = ("v", "v_dot")

    def cases(self, rng):
        cases = []
        for i in range(6):
            x1, x2 = (float(v) for v in rng.uniform(-1.5, 1.5, size=2))
            d1, d2 = (float(d) for d in normal(rng, 2))
            if i == 0:
                d1, d2 = 1.0, 0.0  # the direction of (8.58)-(8.59): df/dx1
            elif i == 1:
                d1, d2 = 0.0, 1.0  # df/dx2
            name = f"x = ({x1:.3g}, {x2:.3g}), x_dot = ({d1:.3g}, {d2:.3g})"
            cases.append(Case(name, (x1, x2, d1, d2)))
        return cases

    def visible_cases(self, rng):
        """The book's point (1, 2) along x_dot = (1, 0), whose tangent table Exercise 8.17
        asks for (v7_dot = df/dx1): judged, but its messages withhold the numbers; and two
        hidden-style cases, shown in full."""
        book = Case(
            "the point (1, 2) of Exercise 8.17, x_dot = (1, 0)",
            (1.0, 2.0, 1.0, 0.0),
            withhold_values=True,
        )
        return [book, *self.cases(rng)[1:3]]

    def reference(self, case):
        x1, x2, d1, d2 = case.args
        return autodiff.jvp(_book_trace_variables, (x1, x2), (d1, d2))

    def normalize(self, answer, case):
        return _pair(answer, "tangent_trace", "v, v_dot")

    def mistakes(self):
        def model(slip):
            return lambda case: _tangent_trace_with_slip(case, slip)

        return [
            Mistake(
                "product rule missing a term",
                "v3_dot needs both terms of the product rule, v1 v2_dot + v1_dot v2; with "
                "x_dot = e1 the missing term happens to vanish, in other directions not.",
                "(8.60)",
                model("product"),
            ),
            Mistake(
                "chain rule without the inner tangent",
                "v4_dot and v5_dot multiply the derivative of sin and exp by the tangent of "
                "their argument: v4_dot = v2_dot cos(v2), v5_dot = v3_dot exp(v3).",
                "(8.61) and (8.62)",
                model("chain"),
            ),
            Mistake(
                "sign of the cos term",
                "v4_dot has the wrong sign: v4 = sin(v2), whose derivative is +cos(v2), so "
                "v4_dot = v2_dot cos(v2); the minus sign belongs to the derivative of cos, and "
                "in this trace the minus of v6 = v3 - v4 enters only in v6_dot.",
                "(8.61) and (8.63)",
                model("cos sign"),
            ),
            Mistake(
                "sin differentiated as cos",
                "v4_dot uses -sin(v2), the derivative of cos: v4 = sin(v2), so v4_dot = v2_dot "
                "cos(v2).",
                "(8.61)",
                model("sin for cos"),
            ),
            Mistake(
                "sign of v4_dot",
                "v6 = v3 - v4, so v6_dot = v3_dot - v4_dot.",
                "(8.63)",
                model("sign"),
            ),
        ]
