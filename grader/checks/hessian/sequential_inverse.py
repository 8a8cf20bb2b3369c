"""Exercise 8.12: the inverse ``(alpha I + sum_l b_l b_l^T)^-1`` of the outer-product Hessian,
by one rank-one (Sherman-Morrison) update per vector ``b_l``, starting from ``(alpha I)^-1``.
"""

from __future__ import annotations

import numpy as np

from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import WITHOUT_INVERSION
from grader.framework import Case, Check, Mistake

# ----------------------------------------------- Exercise 8.12: the sequential inverse


def _update_inverse(
    B: np.ndarray, alpha: float, start_inverted: bool, step, rows: slice = slice(None)
) -> np.ndarray:
    """Run a (possibly wrong) rank-one update ``step(H_inv, b)`` over the rows of ``B``."""
    W = B.shape[1]
    H_inv = np.eye(W) / alpha if start_inverted else alpha * np.eye(W)
    for b in B[rows]:
        H_inv = step(H_inv, b)
    return H_inv


def _sherman_morrison(H_inv: np.ndarray, b: np.ndarray) -> np.ndarray:
    u = H_inv @ b
    return H_inv - np.outer(u, u) / (1.0 + b @ u)


@register
class SequentialInverseHessian(Check):
    """``(alpha I + sum_l b_l b_l^T)^-1`` by one rank-one update per row of ``B``
    (Exercise 8.12)."""

    name = "sequential_inverse_hessian"
    forbids = WITHOUT_INVERSION
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Sequential inverse of the outer-product Hessian"
    equation = "Exercise 8.12"
    points = 3.0
    outputs = ("H^-1",)
    inputs = ("B",)

    def cases(self, rng):
        cases = []
        for i in range(6):
            L, W = sizes(rng, 2, 7, 2)
            if i == 0:
                L, W = 1, 1  # a single update of a 1 x 1 matrix
            alpha = float(rng.choice([0.1, 0.5, 1.0, 2.0, 5.0]))
            B = normal(rng, L, W)
            cases.append(Case(f"L={L} vectors b of length W={W}, alpha={alpha:g}", (B, alpha)))
        return cases

    def reference(self, case):
        B, alpha = case.args
        return np.linalg.inv(alpha * np.eye(B.shape[1]) + B.T @ B)

    def mistakes(self):
        def plus_sign(H_inv, b):
            u = H_inv @ b
            return H_inv + np.outer(u, u) / (1.0 + b @ u)

        def no_denominator(H_inv, b):
            u = H_inv @ b
            return H_inv - np.outer(u, u)

        def denominator_without_one(H_inv, b):
            u = H_inv @ b
            return H_inv - np.outer(u, u) / (b @ u)

        identity = "the rank-one (Sherman-Morrison) identity in Exercise 8.12"
        return [
            Mistake(
                "plus sign",
                "The correction is added: adding b b^T to H makes its inverse smaller, so "
                "the rank-one term is subtracted.",
                identity,
                lambda case: _update_inverse(*case.args, True, plus_sign),
            ),
            Mistake(
                "no denominator",
                "The correction (H^-1 b)(H^-1 b)^T is not divided by 1 + b^T H^-1 b.",
                identity,
                lambda case: _update_inverse(*case.args, True, no_denominator),
            ),
            Mistake(
                "denominator without the 1",
                "The denominator is b^T H^-1 b: it must be 1 + b^T H^-1 b.",
                identity,
                lambda case: _update_inverse(*case.args, True, denominator_without_one),
            ),
            Mistake(
                "started from alpha I",
                "The recursion updates the inverse, so it starts from (alpha I)^-1 = I / alpha, "
                "not from alpha I.",
                "Exercise 8.12",
                lambda case: _update_inverse(*case.args, False, _sherman_morrison),
            ),
            Mistake(
                "last update skipped",
                "The last row of B never entered: one rank-one update per vector b_l, "
                "l = 1, ..., L, the last one included.",
                "Exercise 8.12",
                lambda case: _update_inverse(*case.args, True, _sherman_morrison, slice(None, -1)),
            ),
        ]
