"""Checks for the assignment on the Hessian matrix (Section 8.1.6, Exercises 8.6-8.12).

Every network task uses the two-layer tanh network of Section 8.1.3 with its weights passed
as ``(W1, b1, W2, b2)`` and a batch ``(X, T)``; matrices over all weights follow the flat
order ``[W1.ravel(), b1, W2.ravel(), b2]`` of ``TwoLayerNet``.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.hessian import error_function, exact_hessian
from autodiff.algorithms.hessian_approx import (
    outer_product_hessian,
    output_gradients,
    sequential_inverse_hessian,
)
from autodiff.algorithms.network import TwoLayerNet
from autodiff.algorithms.outputs import sigmoid, softmax
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.framework import Case, Check, Mistake

# ---------------------------------------------------------------------------- cases


def _targets(rng: np.random.Generator, output: str, N: int, K: int) -> np.ndarray:
    """Targets that suit the output units: real values, 0/1 labels, or 1-of-K codes."""
    if output == "linear":
        return normal(rng, N, K)
    if output == "sigmoid":
        return rng.integers(0, 2, size=(N, K)).astype(np.float64)
    return np.eye(K)[rng.integers(0, K, size=N)]


def _network_cases(
    rng: np.random.Generator, output: str, first: list[tuple[int, int, int, int]], count: int = 6
) -> list[Case]:
    """``count`` cases ``(W1, b1, W2, b2, X, T)``: the sizes ``(D, M, K, N)`` in ``first``,
    then random ones (softmax networks get at least two outputs)."""
    cases = []
    for i in range(count):
        if i < len(first):
            D, M, K, N = first[i]
        else:
            D, M, K, N = sizes(rng, 1, 4, 4)
            K = max(K, 2) if output == "softmax" else K
        net = TwoLayerNet.random(D, M, K, rng=rng)
        X = normal(rng, N, D)
        T = _targets(rng, output, N, K)
        name = f"D={D} inputs, M={M} hidden units, K={K} {output} outputs, batch of N={N}"
        cases.append(Case(name, (*net.parameters(), X, T)))
    return cases


def _net(case: Case) -> TwoLayerNet:
    return TwoLayerNet(*case.args[:4])


def _data(case: Case) -> tuple[np.ndarray, np.ndarray]:
    return case.args[4], case.args[5]


def _first_point(case: Case) -> Case:
    """The same case with only its first data point (a missing batch sum (8.1))."""
    X, T = _data(case)
    return Case(case.name, (*case.args[:4], X[:1], T[:1], *case.args[6:]))


def _weighted_outer_products(case: Case, curvature) -> np.ndarray:
    """``sum_n sum_kk' grad a_nk C_nkk' grad a_nk'^T`` for per-point matrices ``C_n``
    computed by ``curvature(y_n_pre_activations)``: the common form of (8.40), (8.41) and
    Exercise 8.11."""
    net = _net(case)
    X, _ = _data(case)
    grads = output_gradients(net, X)  # (N, K, W)
    C = curvature(net.forward(X)[2])  # (N, K, K)
    return np.einsum("nkv,nkl,nlw->vw", grads, C, grads)


def _identity_curvature(a: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.eye(a.shape[1]), (a.shape[0], a.shape[1], a.shape[1]))


def _sigmoid_curvature(a: np.ndarray) -> np.ndarray:
    """``diag(y (1 - y))`` with ``y = sigma(a)`` (8.33)."""
    y = sigmoid(a)
    return (y * (1.0 - y))[:, :, None] * np.eye(a.shape[1])


def _softmax_curvature(a: np.ndarray) -> np.ndarray:
    """``diag(y) - y y^T`` with ``y = softmax(a)`` (8.34)."""
    y = softmax(a)
    return y[:, :, None] * np.eye(a.shape[1]) - y[:, :, None] * y[:, None, :]


def _kept_second_term(output: str) -> Mistake:
    return Mistake(
        "kept the second term",
        "This is the exact Hessian: the outer-product approximation drops the term "
        "sum_n (y_n - t_n) grad grad a_n, so it needs first derivatives only and does not "
        "depend on the targets.",
        "(8.39)-(8.41)",
        lambda case: exact_hessian(_net(case), *_data(case), output),
    )


def _first_point_only(function, equation: str = "(8.1) and (8.40)") -> Mistake:
    return Mistake(
        "first point only",
        "This is the contribution of the first data point alone: the Hessian of E is the "
        "sum of the per-point contributions.",
        equation,
        lambda case: function(_first_point(case)),
    )


# ------------------------------------------------------------- Exercise 8.6: a block


def _softmax_error_of_W2(W2, W1, b1, b2, X, T):
    """Cross-entropy of softmax outputs as a function of the second-layer weights."""
    z = anp.tanh(X @ np.transpose(W1) + b1)
    a = anp.matmul(z, anp.transpose(W2)) + b2
    return -anp.sum(T * anp.log_softmax(a, axis=1))


def _second_layer_block(case: Case, curvature=_softmax_curvature) -> np.ndarray:
    """``sum_n z_nj z_nj' C_nkk'`` with rows ``(k, j)`` and columns ``(k', j')``."""
    net = _net(case)
    X, _ = _data(case)
    _, z, a = net.forward(X)
    K, M = net.W2.shape
    block = np.einsum("nj,ni,nkl->kjli", z, z, curvature(a))
    return block.reshape(K * M, K * M)


@register
class SecondLayerHessianBlock(Check):
    """The block of the exact Hessian for two second-layer weights, softmax outputs with
    cross-entropy (Exercise 8.6): ``sum_n z_nj z_nj' M_nkk'``."""

    name = "second_layer_hessian_block"
    title = "Second-layer block of the exact Hessian"
    equation = "(Exercise 8.6)"
    points = 3.0
    outputs = ("d2E/dW2 dW2",)

    def cases(self, rng):
        return _network_cases(rng, "softmax", [(1, 1, 2, 1), (2, 3, 3, 4)])

    def reference(self, case):
        W1, b1, W2, b2, X, T = case.args
        block = autodiff.hessian(_softmax_error_of_W2)(W2, W1, b1, b2, X, T)
        return np.reshape(block, (W2.size, W2.size))

    def mistakes(self):
        def rows_jk(case):
            K, M = case.args[2].shape
            block = _second_layer_block(case).reshape(K, M, K, M)
            return block.transpose(1, 0, 3, 2).reshape(K * M, K * M)

        return [
            Mistake(
                "linear-output curvature",
                "This uses M = I, the curvature of linear outputs with a sum-of-squares "
                "error: for softmax outputs with cross-entropy M_kk' = y_k (I_kk' - y_k').",
                "Exercise 8.6 with (8.34)",
                lambda case: _second_layer_block(case, _identity_curvature),
            ),
            Mistake(
                "diagonal curvature",
                "This keeps only the diagonal y_k (1 - y_k) of M and drops the couplings "
                "-y_k y_k' between different softmax outputs.",
                "Exercise 8.6 with (8.34)",
                lambda case: _second_layer_block(case, _sigmoid_curvature),
            ),
            _first_point_only(_second_layer_block, "(8.1) and Exercise 8.6"),
            Mistake(
                "rows ordered (j, k)",
                "The entries are right but in the wrong places: rows and columns must follow "
                "W2.ravel(), where w_kj sits at index k * M + j.",
                "(8.37)",
                rows_jk,
            ),
        ]


# ------------------------------------------- Exercises 8.8, 8.10, 8.11: outer products


@register
class OuterProductHessianLinear(Check):
    """The outer-product approximation for K linear outputs with sum-of-squares error
    (Exercise 8.8): ``sum_n sum_k grad a_nk grad a_nk^T``."""

    name = "outer_product_hessian_linear"
    title = "Outer-product (Levenberg-Marquardt) Hessian, several outputs"
    equation = "(8.40), Exercise 8.8"
    points = 3.0
    outputs = ("H",)

    def cases(self, rng):
        return _network_cases(rng, "linear", [(1, 1, 1, 1), (2, 3, 3, 4)])

    def reference(self, case):
        return outer_product_hessian(_net(case), _data(case)[0], "linear")

    def mistakes(self):
        def one_output(case):
            grads = output_gradients(_net(case), _data(case)[0])[:, 0, :]
            return grads.T @ grads

        def summed_outputs(case):
            grads = output_gradients(_net(case), _data(case)[0]).sum(axis=1)
            return grads.T @ grads

        def correct(case):
            return _weighted_outer_products(case, _identity_curvature)

        return [
            Mistake(
                "one output only",
                "This uses the first output alone: with several outputs the error is a sum "
                "over k as well, and so is the approximation.",
                "Exercise 8.8",
                one_output,
            ),
            Mistake(
                "outputs summed before the outer product",
                "This is (sum_k grad a_nk)(sum_k grad a_nk)^T, which adds cross products "
                "between different outputs: each output contributes its own outer product.",
                "Exercise 8.8",
                summed_outputs,
            ),
            _first_point_only(correct),
            _kept_second_term("linear"),
        ]


@register
class OuterProductHessianSigmoid(Check):
    """The outer-product approximation for K logistic-sigmoid outputs with cross-entropy
    (8.41), one such sum per output (Exercise 8.10)."""

    name = "outer_product_hessian_sigmoid"
    title = "Outer-product Hessian, logistic-sigmoid outputs with cross-entropy"
    equation = "(8.41), Exercise 8.10"
    points = 2.0
    outputs = ("H",)

    def cases(self, rng):
        return _network_cases(rng, "sigmoid", [(1, 1, 1, 1), (2, 3, 2, 5)])

    def reference(self, case):
        return outer_product_hessian(_net(case), _data(case)[0], "sigmoid")

    def mistakes(self):
        def squared_weight(case):
            return _weighted_outer_products(case, lambda a: _sigmoid_curvature(a) ** 2)

        return [
            Mistake(
                "no y(1 - y) weight",
                "This is the sum-of-squares form (8.40): with sigmoid outputs and "
                "cross-entropy each outer product is weighted by y_n (1 - y_n).",
                "(8.41)",
                lambda case: _weighted_outer_products(case, _identity_curvature),
            ),
            Mistake(
                "weight squared",
                "This weights by (y_n (1 - y_n))^2, i.e. it uses grad y_n grad y_n^T as for a "
                "sum-of-squares error on sigmoid outputs: with cross-entropy dE/da = y - t, "
                "so the factor y (1 - y) appears once.",
                "(8.41) and Exercise 8.10",
                squared_weight,
            ),
            _kept_second_term("sigmoid"),
        ]


@register
class OuterProductHessianSoftmax(Check):
    """The outer-product approximation for K softmax outputs with cross-entropy (Exercise
    8.11): ``sum_n sum_kk' grad a_nk (I_kk' y_nk - y_nk y_nk') grad a_nk'^T``."""

    name = "outer_product_hessian_softmax"
    title = "Outer-product Hessian, softmax outputs with cross-entropy"
    equation = "Exercise 8.11"
    points = 3.0
    outputs = ("H",)

    def cases(self, rng):
        return _network_cases(rng, "softmax", [(1, 1, 2, 1), (2, 3, 3, 4)])

    def reference(self, case):
        return outer_product_hessian(_net(case), _data(case)[0], "softmax")

    def mistakes(self):
        return [
            Mistake(
                "independent sigmoids",
                "This weights each output by y_k (1 - y_k) as if the outputs were independent "
                "sigmoids: the softmax couples them, and the terms k != k' with weight "
                "-y_k y_k' are missing.",
                "Exercise 8.11 with (8.34)",
                lambda case: _weighted_outer_products(case, _sigmoid_curvature),
            ),
            Mistake(
                "missing -y y^T",
                "This uses the weights diag(y) only: the softmax derivative (8.34) is "
                "diag(y) - y y^T, and the second part couples every pair of outputs.",
                "Exercise 8.11 with (8.34)",
                lambda case: _weighted_outer_products(
                    case, lambda a: softmax(a)[:, :, None] * np.eye(a.shape[1])
                ),
            ),
            Mistake(
                "no softmax weights",
                "This is the sum-of-squares form (8.40): with softmax outputs and "
                "cross-entropy the outer products are weighted by dy_k/da_k' = "
                "y_k (I_kk' - y_k').",
                "Exercise 8.11",
                lambda case: _weighted_outer_products(case, _identity_curvature),
            ),
            _kept_second_term("softmax"),
        ]


# ----------------------------------------------- Exercise 8.12: the sequential inverse


def _update_inverse(B: np.ndarray, alpha: float, start_inverted: bool, step) -> np.ndarray:
    """Run a (possibly wrong) rank-one update ``step(H_inv, b)`` over the rows of ``B``."""
    W = B.shape[1]
    H_inv = np.eye(W) / alpha if start_inverted else alpha * np.eye(W)
    for b in B:
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
    title = "Sequential inverse of the outer-product Hessian"
    equation = "Exercise 8.12"
    points = 3.0
    outputs = ("H^-1",)

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
        return sequential_inverse_hessian(*case.args)

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

        return [
            Mistake(
                "plus sign",
                "The correction is added: adding b b^T to H makes its inverse smaller, so "
                "the rank-one term is subtracted.",
                "the rank-one (Sherman-Morrison) identity in Exercise 8.12",
                lambda case: _update_inverse(*case.args, True, plus_sign),
            ),
            Mistake(
                "no denominator",
                "The correction (H^-1 b)(H^-1 b)^T is not divided by 1 + b^T H^-1 b.",
                "the rank-one (Sherman-Morrison) identity in Exercise 8.12",
                lambda case: _update_inverse(*case.args, True, no_denominator),
            ),
            Mistake(
                "denominator without the 1",
                "The denominator is b^T H^-1 b: it must be 1 + b^T H^-1 b.",
                "the rank-one (Sherman-Morrison) identity in Exercise 8.12",
                lambda case: _update_inverse(*case.args, True, denominator_without_one),
            ),
            Mistake(
                "started from alpha I",
                "The recursion updates the inverse, so it starts from (alpha I)^-1 = I / alpha, "
                "not from alpha I.",
                "Exercise 8.12",
                lambda case: _update_inverse(*case.args, False, _sherman_morrison),
            ),
        ]


# ---------------------------------------------------- Hessian-vector products in O(W)


def _hessian_of_error(case: Case) -> np.ndarray:
    """The exact Hessian of the sum-of-squares batch error (8.17), (8.1), by ``autodiff``."""
    net = _net(case)
    return autodiff.hessian(error_function(net, *_data(case)))(net.flatten())


@register
class HessianVectorProduct(Check):
    """``H v`` by forward-over-reverse differentiation (Section 8.2.2) for the sum-of-squares
    error of the two-layer network, compared with the product of the full Hessian."""

    name = "hessian_vector_product"
    title = "Hessian-vector product by forward-over-reverse"
    equation = "Section 8.1.6 (H v in O(W))"
    points = 2.0
    outputs = ("H v",)

    def cases(self, rng):
        cases = []
        for case in _network_cases(rng, "linear", [(1, 1, 1, 1), (2, 3, 2, 4)]):
            v = normal(rng, _net(case).num_params)
            cases.append(Case(case.name, (*case.args, v)))
        return cases

    def reference(self, case):
        return _hessian_of_error(case) @ case.args[6]

    def mistakes(self):
        def gradient(case):
            net = _net(case)
            return autodiff.grad(error_function(net, *_data(case)))(net.flatten())

        def directional(case):
            return gradient(case) @ case.args[6]

        return [
            Mistake(
                "returned the gradient",
                "This is the gradient: jvp returns the pair (value, tangent), and for "
                "grad E the value is the gradient while the tangent is H v.",
                "Section 8.2.2 (forward over reverse)",
                gradient,
            ),
            Mistake(
                "directional derivative of E",
                "This is v^T grad E, the forward derivative of E itself: apply the forward "
                "pass to the gradient function grad E, not to E.",
                "Section 8.2.2 (forward over reverse)",
                directional,
            ),
            _first_point_only(
                lambda case: _hessian_of_error(case) @ case.args[6], "(8.1) and (8.37)"
            ),
        ]
