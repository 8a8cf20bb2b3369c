"""Exercises 8.16 and 8.17: the adjoints ``v̄1 .. v̄7`` of the evaluation trace (8.50)-(8.56)
of (8.49) by the backward pass (8.70)-(8.76), with the slip of the printed (8.75) corrected
to ``v̄2 = v̄3 v1 + v̄4 cos(v2)``; the reference is the adjoint table of
``autodiff.algorithms.traces``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autodiff.algorithms import traces
from grader.checks import register
from grader.checks.forbidden import BY_HAND
from grader.framework import Case, Check, Mistake

# -- the adjoint trace of (8.49): Exercises 8.16 and 8.17 ---------------------------------


def _book_adjoints(
    x1: float,
    x2: float,
    *,
    printed_8_75: bool = False,
    subtraction_sign: float = -1.0,
    exp_factor: bool = True,
    swapped_product: bool = False,
    cos_path: bool = True,
) -> np.ndarray:
    """``[v̄1, .., v̄7]`` of (8.70)-(8.76) at ``(x1, x2)``, optionally with one mistake."""
    v1, v2 = x1, x2
    v3 = v1 * v2
    v5 = math.exp(v3)
    bar7 = 1.0
    bar6 = bar7
    bar5 = bar7
    bar4 = subtraction_sign * bar6
    bar3 = bar5 * (v5 if exp_factor else 1.0) + bar6
    via_v3 = bar3 * (v2 if swapped_product else v1)
    via_v4 = bar4 * math.cos(v2) if cos_path else 0.0
    bar2 = (0.0 if printed_8_75 else via_v3) + via_v4
    bar1 = bar3 * (v1 if swapped_product else v2)
    return np.array([bar1, bar2, bar3, bar4, bar5, bar6, bar7])


def _points(rng: np.random.Generator, count: int) -> list[Case]:
    cases = []
    for _ in range(count):
        x1, x2 = (float(x) for x in np.round(rng.uniform(-1.5, 1.5, size=2), 3))
        cases.append(Case(f"x1 = {x1:g}, x2 = {x2:g}", (x1, x2)))
    return cases


@register
class AdjointTrace849(Check):
    """The adjoints ``v̄1 .. v̄7`` of the evaluation trace (8.50)-(8.56) of (8.49), by the
    backward pass (8.70)-(8.76), with (8.75) corrected to ``v̄3 v1 + v̄4 cos(v2)``."""

    name = "adjoint_trace_8_49"
    forbids = BY_HAND
    references = ("autodiff.algorithms.traces",)
    title = "Adjoint trace of (8.49)"
    equation = "(8.69)-(8.76)"
    points = 2.0
    outputs = ("adjoints [v̄1, .., v̄7]",)
    rtol = 1e-8
    atol = 1e-10

    def cases(self, rng):
        cases = _points(rng, 5)
        cases.insert(1, Case("x1 = 0, x2 = -0.7 (x1 = 0 kills the path v2 -> v3)", (0.0, -0.7)))
        return cases

    def visible_cases(self, rng):
        """The book's point (1, 2), whose adjoints Exercise 8.17 asks for (v̄1 = df/dx1):
        judged, but its messages withhold the numbers; and two random points, shown in
        full."""
        book = Case("x1 = 1, x2 = 2 (Exercise 8.17)", (1.0, 2.0), withhold_values=True)
        return [book, *_points(rng, 2)]

    def reference(self, case):
        trace = traces.record_trace(traces.book_example, *case.args)
        return np.array(trace.adjoint_table().values)

    def mistakes(self):
        def model(**flaw) -> Callable[[Case], np.ndarray]:
            return lambda case: _book_adjoints(*case.args, **flaw)

        return [
            Mistake(
                "printed (8.75)",
                "v̄2 misses the contribution that flows back through v3: the children of v2 "
                "are v3 and v4, so v̄2 = v̄3 v1 + v̄4 cos(v2) (the printed (8.75) has v̄2 v1 "
                "where v̄3 v1 belongs).",
                "(8.69) and (8.75)",
                model(printed_8_75=True),
            ),
            Mistake(
                "cos path dropped",
                "v̄2 misses the contribution that flows back through v4 = sin(v2): v2 has two "
                "children, v3 and v4, and (8.69) adds one term per child, here "
                "v̄4 ∂v4/∂v2 = v̄4 cos(v2).",
                "(8.53), (8.69) and (8.75)",
                model(cos_path=False),
            ),
            Mistake(
                "subtraction sign",
                "v̄4 has the wrong sign: v6 = v3 - v4, so ∂v6/∂v4 = -1 and v̄4 = -v̄6.",
                "(8.55) and (8.73)",
                model(subtraction_sign=1.0),
            ),
            Mistake(
                "exp without its derivative",
                "v̄3 passes v̄5 back without the local derivative ∂v5/∂v3 = exp(v3) = v5.",
                "(8.54) and (8.74)",
                model(exp_factor=False),
            ),
            Mistake(
                "product rule swapped",
                "The product v3 = v1 v2 sends v̄3 times the OTHER factor back to each input: "
                "∂v3/∂v1 = v2 and ∂v3/∂v2 = v1.",
                "(8.52), (8.75) and (8.76)",
                model(swapped_product=True),
            ),
        ]
