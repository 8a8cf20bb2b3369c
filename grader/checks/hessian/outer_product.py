"""The gradients of the output pre-activations and the outer-product approximations.

``grad a_nk`` by backpropagation from ``d a_k / d a_l = I_kl`` ((8.29)-(8.31) and (8.10)),
with the case that measures the cost of the method (Sections 8.1.4-8.1.5); then the
outer-product (Levenberg-Marquardt) approximation ``sum_n G_n^T C_n G_n`` for linear outputs
with sum-of-squares error ((8.40), Exercise 8.8), logistic-sigmoid outputs with cross-entropy
((8.41), Exercise 8.10) and softmax outputs with cross-entropy (Exercise 8.11).
"""

from __future__ import annotations

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.cases import sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.hessian.network import (
    _batch_mistakes,
    _curvature,
    _flat,
    _full_hessian,
    _network_case,
    _NetworkCheck,
    _preactivations,
    _shape,
    _State,
)
from grader.framework import Case, Mistake

# --------------------------------------------- the outer-product approximations (8.8-8.11)


def _output_gradients(
    case: Case, slope: bool = True, one_row: bool = True, bias: bool = True
) -> np.ndarray:
    """``grad a_nk`` for every data point and output, shape ``(N, K, W)``: backpropagation
    from ``d a_k / d a_l = I_kl`` (8.31); switches model a missing ``h'``, a second-layer
    gradient copied into every output's row and the bias unit left out (x_0 = z_0 = 0)."""
    s = _State(case, bias=bias)
    N, K, Mh, D = s.N, s.K, s.Mh, s.D
    eye = np.eye(K) if one_row else np.ones((K, K))
    second = np.einsum("kl,nj->nklj", eye, s.Z1).reshape(N, K, K * (Mh + 1))
    back = s.hp if slope else np.ones_like(s.hp)
    first = np.einsum("kj,nj,ni->nkji", s.Wh, back, s.X1).reshape(N, K, Mh * (D + 1))
    return np.concatenate([first, second], axis=2)


def _weighted_outer(case: Case, output: str, curvature: str = "") -> np.ndarray:
    """``sum_n G_n^T C_n G_n`` with ``G_n`` the output gradients and ``C_n`` the
    curvature of the output type (or a flawed one)."""
    s = _State(case, output=output)
    G = _output_gradients(case)
    return np.einsum("nkv,nkl,nlw->vw", G, _curvature(s.A2, output, curvature), G)


OUTPUT_GRADIENTS_COST = (999, 250, 2, 1)
"""``D, M, K, N`` of the cost case of ``output_gradients_backprop``: W = M (D + 1) +
K (M + 1) = 250,502 weights, an answer of N K W = 501,004 numbers.  Backpropagation costs
K backward passes per point, O(N K W); finite differences W evaluations of the N K outputs
(2 W central), each O(N W): 6e10 multiply-adds (1.3e11 central)."""

OUTPUT_GRADIENTS_SECONDS = 2.0
"""The time budget of that case: backpropagation takes 5-20 ms (the answer is 4 MB), a loop
over units and outputs about as long, even a Python loop over every single weight 0.4-1 s;
W evaluations of the outputs take half a minute or more (NumPy ran them at 2e9-3e9
multiply-adds per second here at best)."""


@register
class OutputGradients(_NetworkCheck):
    """``grad a_nk``, the gradient of every output pre-activation with respect to all the
    weights, for every data point, by backpropagation (the start (8.31) of Section 8.1.5)."""

    name = "output_gradients_backprop"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Gradients of the output pre-activations by backpropagation"
    equation = "(8.29)-(8.31) and (8.10)"
    points = 2.0
    outputs = ("grad a",)
    inputs = ("W1", "W2", "X")
    output_types = ("linear",)
    cost_reason = (
        "as costly as a few passes through the network per output and data point "
        "(backpropagation: K backward passes of O(W) each), not one per weight (finite "
        "differences: W forward passes)"
    )

    def cases(self, rng):
        plans = [(1, 1, 1, 1)]
        plans += [(*sizes(rng, 1, 3, 3), sizes(rng, 2, 4)[0]) for _ in range(5)]
        cases = [self._without_targets(_network_case(rng, *plan)) for plan in plans]
        return [*cases, self._cost_case(rng)]

    def visible_cases(self, rng):
        """Two small cases, where every modelled mistake gives its own answer, and the
        cost case: a method that is too slow shows in the self-check, stopped at the
        case's budget."""
        plans = [(2, 2, 2, 3), (1, 3, 2, 2)]
        cases = [self._without_targets(_network_case(rng, *plan)) for plan in plans]
        return [*cases, self._cost_case(rng)]

    @staticmethod
    def _without_targets(case: Case) -> Case:
        return Case(case.name.replace(" linear outputs", " outputs"), case.args[:3])

    def _cost_case(self, rng: np.random.Generator) -> Case:
        D, M, K, N = OUTPUT_GRADIENTS_COST
        case = self._without_targets(_network_case(rng, D, M, K, N))
        W = M * (D + 1) + K * (M + 1)
        label = (
            f"cost: {case.name}, W={W:,} weights: K backward passes per point "
            f"(backpropagation) fit the {OUTPUT_GRADIENTS_SECONDS:g} s budget, W evaluations "
            f"of the outputs (finite differences) do not"
        )
        return Case(label, case.args, seconds=OUTPUT_GRADIENTS_SECONDS)

    def reference(self, case):
        D, M, K = _shape(case)
        X = case.args[2]
        return np.asarray(autodiff.jacrev(lambda w: _preactivations(w, X, D, M, K))(_flat(case)))

    def student_function(self, answer):
        def function(W1, W2, X):
            return answer(Case("", (W1, W2, X)))

        return function

    def mistakes(self):
        return [
            Mistake(
                "h' missing",
                "The first-layer part lacks the factor h'(a_j) = 1 - z_j^2: going back from "
                "a_k through hidden unit j multiplies by the slope of that unit.",
                "(8.30) and (8.16)",
                lambda case: _output_gradients(case, slope=False),
            ),
            Mistake(
                "second-layer gradient in every row",
                "The gradient of a_k with respect to the second-layer weights is nonzero only "
                "for the weights of output k (da_k/dw_k'j = I_kk' z_j): here every output "
                "got the z_j of all rows of W2.",
                "(8.31) and (8.10)",
                lambda case: _output_gradients(case, one_row=False),
            ),
            Mistake(
                "axes in the wrong order",
                "The axes are in the wrong order: the array is (N, K, W), data points first, "
                "then outputs, then the weights in the flat order.",
                "the description of the task",
                lambda case: np.swapaxes(_output_gradients(case), 0, 1),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the biases are zero: a bias is the weight from the unit "
                "x_0 = 1 (or z_0 = 1), so da_k/dw_j0 = da_k/da_j x_0 and da_k/dw_k0 = z_0 = 1, "
                "as (8.10) gives for any weight.",
                "(8.10), (8.18) and (8.20)",
                lambda case: _output_gradients(case, bias=False),
            ),
        ]


class _OuterProductCheck(_NetworkCheck):
    """The outer-product approximations take ``(W1, W2, X, T)``: the output type is the
    task's."""

    output: str = "linear"

    def cases(self, rng):
        plans = [(1, 1, 1, 1)] if self.output != "softmax" else [(1, 1, 2, 1)]
        plans += [(2, 3, 3, 4)]
        for _ in range(4):
            D, M, K, N = sizes(rng, 1, 3, 3) + [sizes(rng, 2, 5)[0]]
            plans.append((D, M, max(K, 2) if self.output == "softmax" else K, N))
        return [_without_keywords(_network_case(rng, *plan, output=self.output)) for plan in plans]

    def visible_cases(self, rng):
        plans = [(2, 2, 3, 3), (1, 3, 2, 2)]
        return [_without_keywords(_network_case(rng, *plan, output=self.output)) for plan in plans]

    def student_function(self, answer):
        def function(W1, W2, X, T):
            return answer(Case("", (W1, W2, X, T)))

        return function

    def reference(self, case):
        return _weighted_outer(case, self.output)

    def outer(self, curvature: str = ""):
        """The approximation with the curvature of this task's output type (or a flawed
        one), as a function of a case."""
        return lambda case: _weighted_outer(case, self.output, curvature)

    def _kept_second_term(self) -> Mistake:
        return Mistake(
            "kept the second term",
            "This is the exact Hessian: the outer-product approximation drops the term "
            "sum_n (y_n - t_n) grad grad a_n, so it needs first derivatives only and does "
            "not depend on the targets.",
            "(8.39)-(8.41)",
            lambda case: _full_hessian(case, self.output),
        )


def _without_keywords(case: Case) -> Case:
    """The case without keywords: the outer-product tasks take ``(W1, W2, X, T)``."""
    return Case(case.name, case.args)


@register
class OuterProductHessianLinear(_OuterProductCheck):
    """The outer-product approximation for K linear outputs with sum-of-squares error
    (Exercise 8.8): ``sum_n sum_k grad a_nk grad a_nk^T``."""

    name = "outer_product_hessian_linear"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Outer-product (Levenberg-Marquardt) Hessian, several outputs"
    equation = "(8.40), Exercise 8.8"
    points = 2.0
    output = "linear"

    def mistakes(self):
        def one_output(case):
            G = _output_gradients(case)[:, 0, :]
            return G.T @ G

        def summed_outputs(case):
            G = _output_gradients(case).sum(axis=1)
            return G.T @ G

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
            self._kept_second_term(),
            *_batch_mistakes(self.outer(), "(8.1) and (8.40)"),
        ]


@register
class OuterProductHessianSigmoid(_OuterProductCheck):
    """The outer-product approximation for K logistic-sigmoid outputs with cross-entropy
    (8.41), one such sum per output (Exercise 8.10)."""

    name = "outer_product_hessian_sigmoid"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Outer-product Hessian, logistic-sigmoid outputs with cross-entropy"
    equation = "(8.41), Exercise 8.10"
    points = 2.0
    output = "sigmoid"

    def mistakes(self):
        def squared(case):
            s = _State(case, output="sigmoid")
            G = _output_gradients(case)
            return np.einsum("nkv,nkl,nlw->vw", G, _curvature(s.A2, "sigmoid") ** 2, G)

        return [
            Mistake(
                "no y(1 - y) weight",
                "This is the sum-of-squares form (8.40): with sigmoid outputs and "
                "cross-entropy each outer product is weighted by y_n (1 - y_n).",
                "(8.41)",
                self.outer("identity"),
            ),
            Mistake(
                "weight squared",
                "This weights by (y_n (1 - y_n))^2, i.e. it uses grad y_n grad y_n^T as for a "
                "sum-of-squares error on sigmoid outputs: with cross-entropy dE/da = y - t, "
                "so the factor y (1 - y) appears once.",
                "(8.41) and Exercise 8.10",
                squared,
            ),
            Mistake(
                "weight y instead of y(1 - y)",
                "This weights each outer product by y_n: the slope of the logistic sigmoid is "
                "y (1 - y), and that is the weight each output's outer product carries.",
                "(8.33) and (8.41)",
                self.outer("sigmoid slope y"),
            ),
            self._kept_second_term(),
            *_batch_mistakes(self.outer(), "(8.1) and (8.41)"),
        ]


@register
class OuterProductHessianSoftmax(_OuterProductCheck):
    """The outer-product approximation for K softmax outputs with cross-entropy (Exercise
    8.11): ``sum_n sum_kk' grad a_nk (I_kk' y_nk - y_nk y_nk') grad a_nk'^T``."""

    name = "outer_product_hessian_softmax"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "Outer-product Hessian, softmax outputs with cross-entropy"
    equation = "Exercise 8.11"
    points = 2.0
    output = "softmax"

    def mistakes(self):
        return [
            Mistake(
                "independent sigmoids",
                "This weights each output by y_k (1 - y_k) as if the outputs were independent "
                "sigmoids: the softmax couples them, and the terms k != k' with weight "
                "-y_k y_k' are missing.",
                "Exercise 8.11 with (8.34)",
                self.outer("sigmoid-like"),
            ),
            Mistake(
                "missing -y y^T",
                "This uses the weights diag(y) only: the softmax derivative (8.34) is "
                "diag(y) - y y^T, and the second part couples every pair of outputs.",
                "Exercise 8.11 with (8.34)",
                self.outer("diag y"),
            ),
            Mistake(
                "no softmax weights",
                "This is the sum-of-squares form (8.40): with softmax outputs and "
                "cross-entropy the outer products are weighted by dy_k/da_k' = "
                "y_k (I_kk' - y_k').",
                "Exercise 8.11",
                self.outer("identity"),
            ),
            self._kept_second_term(),
            *_batch_mistakes(self.outer(), "(8.1) and Exercise 8.11"),
        ]
