"""The Hessian-vector product ``H v`` by the R-operator (Section 8.1.6, H v in O(W)): the
forward and backward passes (8.18)-(8.23) differentiated along ``v`` (Pearlmutter's
R-passes), for linear outputs with sum-of-squares error, checked against the product of the
full Hessian from ``autodiff.hessian`` (on the cost case, where no W x W matrix fits, against
``autodiff.hvp``, forward mode through the reverse-mode gradient).

The cost case has W = 250,502 weights and N = 20 points: the R-operator is a few passes
through the network, O(N W), milliseconds; the Hessian has W^2 = 6.3e10 entries (502 GB in
float64, more than a hundred times the memory a grading run may use) and forming it, by
blocks as ``exact_hessian`` does or row by row, costs N W^2 = 1.3e12 multiply-adds, a minute
or more, past the budget.
"""

from __future__ import annotations

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.hessian.network import (
    _batch_mistakes,
    _error_of_a,
    _flat,
    _full_hessian,
    _network_case,
    _preactivations,
    _shape,
    _State,
)
from grader.framework import Case, Check, Mistake

# ------------------------------------------------ Hessian-vector products: the R-operator

HVP_COST = (999, 250, 2, 20)
"""``D, M, K, N`` of the cost case: W = M (D + 1) + K (M + 1) = 250,502 weights, inputs of
4.2 MB (W1, W2 and v: about 2 W numbers; X and T: 20 points).  The R-operator costs a few
passes of about N W = 5e6 multiply-adds each; forming H costs N W^2 = 1.3e12 multiply-adds
(the blocks of Exercise 8.6 as ``exact_hessian`` forms them, or H row by row) and W^2
numbers, 502 GB (the first-layer block alone 500 GB)."""

HVP_COST_SECONDS = 2.0
"""The time budget of the cost case.  Measured on a two-core machine under a load of 4-5,
with one BLAS thread as in the grading runs: the master's R-operator 3-26 ms (median 9 ms of
20 runs; with two BLAS threads fighting the load, up to 0.2 s), a loop over the 20 data
points 40-70 ms; the master's ``exact_hessian`` times v spends 4-12 s on its mixed block
(1 GB) before its first-layer block (500 GB) fails to allocate, and H formed row by row
(never stored) takes 7-9 minutes."""

DENSE_LIMIT = 2_000
"""The largest W whose reference is the dense Hessian times v (every case but the cost
case); above it ``autodiff.hvp``, which never forms H."""


def _sum_of_squares_hessian(case: Case) -> np.ndarray:
    return _full_hessian(Case(case.name, case.args[:4], {"output": "linear"}))


def _r_operator(
    case: Case,
    bias: bool = True,
    direct: bool = True,
    hpp_term: bool = True,
    v2_term: bool = True,
    rz_term: bool = True,
) -> np.ndarray:
    """``H v`` for the sum-of-squares error of the network with linear outputs, by the
    R-operator R{.} = v^T grad(.) applied to (8.18)-(8.23) (Pearlmutter's forward and
    backward R-passes), summed over the batch; each switch drops one term (a mistake):

    forward R-pass   R{a_j} = sum_i v_ji x_i (``bias``: the i = 0 term v_j0 x_0),
                     R{z_j} = h'(a_j) R{a_j},
                     R{y_k} = sum_j w_kj R{z_j} + sum_j v_kj z_j (``direct``: the second sum;
                     ``bias``: its j = 0 term v_k0 z_0);
    backward R-pass  R{delta_k} = R{y_k},
                     R{delta_j} = h''(a_j) R{a_j} sum_k w_kj delta_k (``hpp_term``)
                                  + h'(a_j) sum_k v_kj delta_k (``v2_term``)
                                  + h'(a_j) sum_k w_kj R{delta_k};
    the products     R{dE/dw_ji} = R{delta_j} x_i,
                     R{dE/dw_kj} = R{delta_k} z_j + delta_k R{z_j} (``rz_term``: the second).
    """
    W1, W2, X, T, v = case.args
    s = _State(Case(case.name, (W1, W2, X, T), {"output": "linear"}))
    V1 = np.reshape(v[: W1.size], W1.shape)
    V2 = np.reshape(v[W1.size :], W2.shape)
    unit = 1.0 if bias else 0.0  # x_0 = z_0 = 1, or the bias unit dropped
    Ra1 = s.X @ V1[:, 1:].T + unit * V1[:, 0]
    Rz = s.hp * Ra1
    Ry = Rz @ s.Wh.T
    if direct:
        Ry = Ry + s.Z1[:, 1:] @ V2[:, 1:].T + unit * V2[:, 0]
    Rdelta_h = s.hp * (Ry @ s.Wh)
    if hpp_term:
        Rdelta_h = Rdelta_h + s.hpp * Ra1 * (s.delta @ s.Wh)
    if v2_term:
        Rdelta_h = Rdelta_h + s.hp * (s.delta @ V2[:, 1:])
    RG2 = Ry.T @ s.Z1
    if rz_term:
        RG2 = RG2 + s.delta.T @ np.concatenate([np.zeros((s.N, 1)), Rz], axis=1)
    RG1 = Rdelta_h.T @ s.X1
    return np.concatenate([RG1.ravel(), RG2.ravel()])


@register
class HessianVectorProduct(Check):
    """``H v`` for the sum-of-squares error of the two-layer network with linear outputs by
    the R-operator: the forward and backward passes (8.18)-(8.23) differentiated along ``v``
    (Pearlmutter's R-passes), written with NumPy, compared with the product of the full
    Hessian from ``autodiff.hessian``."""

    name = "hessian_vector_product"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Hessian-vector product by the R-operator"
    equation = "(8.18)-(8.23) and Section 8.1.6 (H v in O(W))"
    points = 2.0
    outputs = ("H v",)
    inputs = ("W1", "W2", "X", "T", "v")
    cost_reason = (
        "as costly as a few passes through the network (the R-operator: O(N W) for N data "
        "points and W weights), not as costly as forming the W x W Hessian (N W^2 "
        "multiply-adds and W^2 numbers to store, whether by its blocks or row by row)"
    )

    def cases(self, rng):
        plans = [(1, 1, 1, 1), (2, 3, 2, 4)] + [
            tuple(sizes(rng, 1, 3, 3)) + (sizes(rng, 2, 5)[0],) for _ in range(4)
        ]
        return [*(self._case(rng, plan) for plan in plans), self._cost_case(rng)]

    def visible_cases(self, rng):
        """Three networks with two or three hidden units, outputs and data points: enough
        for every modelled mistake to give its own answer; and the cost case, so that a
        method that forms H shows in the self-check, stopped at the case's budget (or out
        of memory)."""
        plans = [(2, 2, 2, 3), (1, 3, 2, 2), (3, 2, 1, 4)]
        return [*(self._case(rng, plan) for plan in plans), self._cost_case(rng)]

    @staticmethod
    def _case(rng, plan) -> Case:
        case = _network_case(rng, *plan)
        v = normal(rng, _flat(case).size)
        return Case(case.name, (*case.args, v))

    def _cost_case(self, rng: np.random.Generator) -> Case:
        """Last, since a time-out stops the later cases."""
        case = self._case(rng, HVP_COST)
        W = case.args[4].size
        dense = W * W * 8 / 1e9
        label = (
            f"cost: {case.name}, W={W:,} weights: the R-operator's few passes fit the "
            f"{HVP_COST_SECONDS:g} s budget, forming the {W:,} x {W:,} Hessian "
            f"({dense:,.0f} GB in float64) does not"
        )
        return Case(label, case.args, seconds=HVP_COST_SECONDS)

    def reference(self, case):
        v = case.args[4]
        if v.size <= DENSE_LIMIT:
            return _sum_of_squares_hessian(case) @ v
        D, M, K = _shape(case)
        X, T = case.args[2:4]
        w = np.concatenate([np.ravel(case.args[0]), np.ravel(case.args[1])])
        return np.asarray(
            autodiff.hvp(lambda w: _error_of_a(_preactivations(w, X, D, M, K), T, "linear"), w, v)
        )

    def mistakes(self):
        def gradient(case):
            D, M, K = _shape(case)
            X, T = case.args[2:4]
            w = np.concatenate([np.ravel(case.args[0]), np.ravel(case.args[1])])
            return autodiff.grad(
                lambda w: _error_of_a(_preactivations(w, X, D, M, K), T, "linear")
            )(w)

        return [
            Mistake(
                "returned the gradient",
                "This is the gradient of E, what the ordinary passes (8.18)-(8.23) give: H v "
                "is R{grad E}, the same passes with R applied to every line.",
                "(8.21)-(8.23) and Section 8.1.6 (H v in O(W))",
                gradient,
            ),
            Mistake(
                "bias unit dropped",
                "The R-pass forward leaves out the bias unit: x_0 = 1 and z_0 = 1 send the "
                "bias directions v_j0 and v_k0 into R{a_j} and R{y_k} like any other input.",
                "(8.18) and (8.20)",
                lambda case: _r_operator(case, bias=False),
            ),
            Mistake(
                "R{y} without the second-layer directions",
                "R{y_k} lacks the term sum_j v_kj z_j: y_k depends on the second-layer weights "
                "directly, not only through the hidden units, so R{y_k} = sum_j w_kj R{z_j} + "
                "sum_j v_kj z_j.",
                "(8.20)",
                lambda case: _r_operator(case, direct=False),
            ),
            Mistake(
                "h'' term missing",
                "R{delta_j} lacks the term h''(a_j) R{a_j} sum_k w_kj delta_k: applying R to "
                "delta_j = h'(a_j) sum_k w_kj delta_k differentiates the slope h'(a_j) too.",
                "(8.22) and (8.16)",
                lambda case: _r_operator(case, hpp_term=False),
            ),
            Mistake(
                "weights of (8.22) held fixed",
                "R{delta_j} lacks the term h'(a_j) sum_k v_kj delta_k: the second-layer weights "
                "w_kj in the backpropagation (8.22) move along v too, so R{w_kj} = v_kj.",
                "(8.22)",
                lambda case: _r_operator(case, v2_term=False),
            ),
            Mistake(
                "R{z} missing from the second-layer products",
                "The entries for the second-layer weights lack delta_k R{z_j}: R of the product "
                "delta_k z_j in (8.23) takes the product rule, R{delta_k} z_j + delta_k R{z_j}.",
                "(8.23)",
                lambda case: _r_operator(case, rz_term=False),
            ),
            *_batch_mistakes(_r_operator, "(8.1) and (8.23)", "product"),
        ]
