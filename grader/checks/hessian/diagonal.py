"""The diagonal approximation of the Hessian (Section 8.1.6): second derivatives sent
backwards like the deltas (8.13), ``d_j = h'(a_j)^2 sum_k w_kj^2 d_k + h''(a_j) sum_k w_kj
delta_k``, the off-diagonal curvature terms dropped; the reference is that recursion.
"""

from __future__ import annotations

import numpy as np

from grader.checks import register
from grader.checks.forbidden import BY_HAND
from grader.checks.hessian.network import _batch_mistakes, _NetworkCheck, _State
from grader.framework import Case, Mistake

# ------------------------------------------------------- the diagonal approximation


def _diagonal(
    case: Case,
    hpp: bool = True,
    square_slope: bool = True,
    square_w: bool = True,
    exact: bool = False,
) -> np.ndarray:
    """The diagonal approximation by back-propagated second derivatives: ``d_k = M_kk`` at
    the outputs, ``d_j = h'(a_j)^2 sum_k w_kj^2 d_k + h''(a_j) sum_k w_kj delta_k`` at the
    hidden units, ``d2E/dw_ji^2 = sum_n d_nj x_ni^2``; the switches model mistakes, and
    ``exact`` keeps the whole ``M`` (the exact diagonal, not the approximation)."""
    s = _State(case)
    Mkk = np.einsum("nkk->nk", s.M)
    second = np.einsum("nk,nj->kj", Mkk, s.Z1**2)
    slope = s.hp**2 if square_slope else s.hp
    weights = s.Wh**2 if square_w else s.Wh
    if exact:
        d = slope * np.einsum("kj,nkm,mj->nj", s.Wh, s.M, s.Wh)
    else:
        d = slope * (Mkk @ weights)
    if hpp:
        d = d + s.hpp * (s.delta @ s.Wh)
    first = np.einsum("nj,ni->ji", d, s.X1**2)
    return np.concatenate([first.ravel(), second.ravel()])


@register
class DiagonalHessian(_NetworkCheck):
    """The diagonal approximation of the Hessian, by sending second derivatives backwards
    like the deltas (Section 8.1.6): the off-diagonal curvature terms are dropped."""

    name = "diagonal_hessian_approximation"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "The diagonal approximation, by backpropagation of second derivatives"
    equation = "Section 8.1.6 (the diagonal approximation)"
    points = 3.0
    outputs = ("diag H",)

    def reference(self, case):
        return _diagonal(case)

    def mistakes(self):
        return [
            Mistake(
                "h'' term missing",
                "d_j lacks the term h''(a_j) sum_k w_kj delta_k: the second derivative of E "
                "by a_j also differentiates the slope h'(a_j) of the unit.",
                "Exercise 8.6 (b) with j = j'",
                lambda case: _diagonal(case, hpp=False),
            ),
            Mistake(
                "slope not squared",
                "d_j multiplies by h'(a_j) once: a_j enters both factors of the second "
                "derivative through a_k, so the slope appears squared, h'(a_j)^2.",
                "Exercise 8.6 (b) with j = j'",
                lambda case: _diagonal(case, square_slope=False),
            ),
            Mistake(
                "weights not squared",
                "d_j sums w_kj d_k: a second derivative goes back through the weight twice, "
                "so the sum is over w_kj^2 d_k.",
                "Exercise 8.6 (b) with j = j'",
                lambda case: _diagonal(case, square_w=False),
            ),
            Mistake(
                "whole curvature kept",
                "This is the exact diagonal, with the couplings M_kk' between different "
                "outputs: the approximation sends back only d_k = M_kk (for softmax outputs "
                "the two differ).",
                "Section 8.1.6 (the diagonal approximation)",
                lambda case: _diagonal(case, exact=True),
            ),
            *_batch_mistakes(_diagonal, "(8.1) and Section 8.1.6", "diagonal"),
        ]
