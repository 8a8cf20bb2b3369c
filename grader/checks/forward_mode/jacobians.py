"""Exercise 8.18: the Jacobian-vector product ``J r`` in one forward pass seeded with
``x_dot = r`` (8.67), and the K x D Jacobian column by column, pass ``j`` seeded with
``e_j`` (8.66), on functions with fewer, as many and more outputs than inputs; the
references from ``autodiff.jvp`` and ``autodiff.jacfwd``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal
from grader.checks.forbidden import BY_HAND
from grader.checks.forward_mode.functions import VECTOR_FUNCTIONS, _point
from grader.framework import Case, Check, Mistake


def _stacked(f: Callable) -> Callable:
    """``f`` with its tuple of outputs stacked into one array (for autodiff's transforms)."""
    return lambda *xs: anp.stack(list(f(*xs)))


def _vector_jacobian(case: Case) -> np.ndarray:
    """The K x D Jacobian (8.66) of a vector-function case by autodiff.jacfwd."""
    name, x = case.args[:2]
    f = VECTOR_FUNCTIONS[name][0]
    return autodiff.jacfwd(lambda z: _stacked(f)(*(z[i] for i in range(z.shape[0]))))(x)


def _vector_cases(rng: np.random.Generator, with_direction: bool) -> list[Case]:
    """One case per vector function: its name, a point x and, if asked, a direction r."""
    cases = []
    for name, (_, reads, inputs, outputs) in VECTOR_FUNCTIONS.items():
        label = f"f = {reads}, K={outputs} outputs, D={inputs} input(s)"
        x = _point(rng, inputs, positive=False)
        args = (name, x, normal(rng, inputs)) if with_direction else (name, x)
        cases.append(Case(label, args))
    return cases


@register
class ForwardJacobianVectorProduct(Check):
    """J r (8.67) of a function with several outputs, by one forward pass with x_dot = r."""

    name = "forward_jacobian_vector_product"
    forbids = BY_HAND
    references = ("autodiff.algorithms.traces",)
    title = "Jacobian-vector product in one forward pass"
    equation = "(8.67)"
    points = 2.0
    outputs = ("J r",)

    def cases(self, rng):
        return _vector_cases(rng, with_direction=True)

    def visible_cases(self, rng):
        """Every function with more than one input: with a single input, the first column
        and the sum of the columns are the same vector, and two mistakes would look alike."""
        return [c for c in self.cases(rng) if VECTOR_FUNCTIONS[c.args[0]][2] > 1]

    def reference(self, case):
        name, x, r = case.args
        return autodiff.jvp(_stacked(VECTOR_FUNCTIONS[name][0]), tuple(x), tuple(r))[1]

    caller = "jacobian_vector"

    def student_function(self, answer):
        return lambda f, x, r: answer(Case("", (f.__name__, np.asarray(x), np.asarray(r))))

    def mistakes(self):
        return [
            Mistake(
                "first column",
                "This is the first column J e1 of the Jacobian: seed the pass with x_dot = r, "
                "not with a unit vector.",
                "(8.67) and Exercise 8.18",
                lambda case: _vector_jacobian(case)[:, 0],
            ),
            Mistake(
                "unweighted sum of columns",
                "This is J (1, ..., 1): every input got the tangent 1 where it should get r_j.",
                "(8.67) and Exercise 8.18",
                lambda case: _vector_jacobian(case).sum(axis=1),
            ),
            Mistake(
                "weights on the outputs",
                "This weights the outputs by r (r^T J, what a reverse pass gives); forward mode "
                "puts r on the inputs and returns J r.",
                "(8.67)",
                lambda case: case.args[2] @ _vector_jacobian(case),
            ),
        ]


@register
class ForwardJacobianColumns(Check):
    """The K x D Jacobian (8.66) by D forward passes, column j seeded with x_dot = e_j."""

    name = "forward_jacobian_columns"
    forbids = BY_HAND
    references = ("autodiff.jacfwd",)
    title = "The Jacobian column by column in forward mode"
    equation = "(8.66)"
    points = 2.0
    outputs = ("J",)

    def cases(self, rng):
        return _vector_cases(rng, with_direction=False)

    def visible_cases(self, rng):
        return self.cases(rng)

    def reference(self, case):
        return _vector_jacobian(case)

    caller = "jacobian_columns"

    def student_function(self, answer):
        return lambda f, x: answer(Case("", (f.__name__, np.asarray(x))))

    def mistakes(self):
        def repeated(column):
            return lambda case: np.repeat(column(_vector_jacobian(case)), len(case.args[1]), 1)

        return [
            Mistake(
                "passes stored as rows",
                "Each forward pass gives one column of J, the derivatives of all K outputs "
                "with respect to one input; here they are stored as rows (J transposed).",
                "(8.66)",
                lambda case: _vector_jacobian(case).T,
            ),
            Mistake(
                "same seed in every pass",
                "Every column is the first one: pass j must be seeded with x_dot = e_j, a "
                "different unit vector each time.",
                "(8.66)",
                repeated(lambda J: J[:, :1]),
            ),
            Mistake(
                "all-ones seed",
                "Every column is J (1, ..., 1): the seed of pass j is e_j, with 1 in place j "
                "and 0 elsewhere.",
                "(8.66)",
                repeated(lambda J: J.sum(axis=1, keepdims=True)),
            ),
        ]
