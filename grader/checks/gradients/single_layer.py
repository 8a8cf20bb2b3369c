"""Single-layer models (Sections 8.1-8.1.1): the gradient (8.4) of the linear model (8.2)
with sum-of-squares error (8.3), summed over the batch (8.1), and the same "error signal
times input" form for the canonical output-function / error pairs, ``dE/da_k = y_k - t_k``
(8.11), with linear, logistic-sigmoid and softmax outputs.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.framework import Case, Check, Mistake

# --- the single-layer model (8.2)-(8.4) --------------------------------------------------


def _linear_error(W, X, T):
    """Sum-of-squares error (8.3) of the linear model (8.2), summed over the batch (8.1)."""
    return 0.5 * anp.sum((X @ anp.transpose(W) - T) ** 2)


COST_SIZES = (50, 500, 400)
"""Outputs K, inputs D and data points N of the cost cases of the single-layer gradients:
W = K D = 25,000 weights; one evaluation of the error is N K D = 1e7 multiply-adds, (8.4)
about two of them, finite differences W or 2 W."""

COST_SECONDS = 2.0
"""The time budget of those cases: (8.4) as two matrix products takes milliseconds, a loop
over the data points a few more; W evaluations of the error take half a minute or more
(25 s even at 2e10 multiply-adds per second)."""

COST_REASON = (
    "as costly as a few evaluations of the error (two matrix products), not one "
    "evaluation or two per weight (finite differences: W evaluations of N K D operations each)"
)


def _cost_case(rng: np.random.Generator, output: str | None = None) -> Case:
    """The cost case of a single-layer gradient: with ``output``, softmax outputs need 0/1
    targets of that pair (Section 8.1.1)."""
    K, D, N = COST_SIZES
    W, X = normal(rng, K, D, scale=1.0 / np.sqrt(D)), normal(rng, N, D)
    T = normal(rng, N, K) if output is None else _canonical_targets(rng, N, K, output, False)
    outputs = "" if output is None else f"{output} outputs, "
    label = (
        f"cost: {outputs}K={K} outputs, D={D} inputs, N={N} points, W={K * D:,} weights: "
        f"(8.4) fits the {COST_SECONDS:g} s budget, W evaluations of the error do not"
    )
    kwargs = {} if output is None else {"output": output}
    return Case(label, (W, X, T), kwargs, seconds=COST_SECONDS)


@register
class LinearModelGradient(Check):
    """dE/dW for the linear model y = W x with sum-of-squares error: (8.4) summed over the
    data points."""

    name = "linear_model_gradient"
    forbids = BY_HAND
    references = ("autodiff.grad",)
    title = "Gradient of the linear model"
    equation = "(8.4)"
    points = 2.0
    outputs = ("dE/dW",)
    inputs = ("W", "X", "T")
    cost_reason = COST_REASON

    def cases(self, rng):
        cases = []
        for i in range(6):
            K, D, N = sizes(rng, 1, 5, 3)
            if i == 0:
                K, D, N = 1, 1, 1  # the smallest case
            W, X, T = normal(rng, K, D), normal(rng, N, D), normal(rng, N, K)
            cases.append(Case(f"K={K} outputs, D={D} inputs, N={N} points", (W, X, T)))
        return [*cases, _cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: a method that is too slow shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        return autodiff.grad(_linear_error)(*case.args)

    def mistakes(self):
        return [
            Mistake(
                "first point only",
                "This is the gradient of the first data point alone: the gradient of E is "
                "the sum of the per-point gradients.",
                "(8.1) and (8.14)",
                lambda case: autodiff.grad(_linear_error)(
                    case.args[0], case.args[1][:1], case.args[2][:1]
                ),
            ),
            Mistake(
                "output instead of error signal",
                "This uses the output y where the error signal y - t belongs.",
                "(8.4)",
                lambda case: (case.args[1] @ case.args[0].T).T @ case.args[1],
            ),
            Mistake(
                "mean instead of sum",
                "This is the gradient averaged over the data points: E in (8.1) is a sum, so "
                "its gradient is the sum of the per-point gradients (no division by N).",
                "(8.1) and (8.4)",
                lambda case: autodiff.grad(_linear_error)(*case.args) / case.args[1].shape[0],
            ),
        ]


# --- canonical output-function / error pairs (Section 8.1.1) ------------------------------


def _canonical_error(W, X, T, output):
    """Batch error of the single-layer model ``y = f(W x)`` with the error that matches
    ``f``: sum-of-squares (8.3) for linear outputs, cross-entropy for sigmoid and softmax
    outputs, written in terms of the pre-activations ``a = W x``."""
    A = X @ anp.transpose(W)
    if output == "linear":
        return 0.5 * anp.sum((A - T) ** 2)
    if output == "sigmoid":
        return anp.sum(anp.softplus(A) - T * A)
    return anp.sum(anp.sum(T, axis=1) * anp.logsumexp(A, axis=1) - anp.sum(T * A, axis=1))


def _canonical_outputs(A: np.ndarray, output: str) -> np.ndarray:
    if output == "linear":
        return A
    if output == "sigmoid":
        return 1.0 / (1.0 + np.exp(-A))
    E = np.exp(A - A.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _canonical_targets(rng: np.random.Generator, N: int, K: int, output: str, soft: bool):
    if output == "linear":
        return normal(rng, N, K)
    if output == "sigmoid":
        return rng.uniform(0.0, 1.0, (N, K)) if soft else rng.integers(0, 2, (N, K)) * 1.0
    if soft:
        return rng.dirichlet(np.ones(K), size=N)
    return np.eye(K)[rng.integers(0, K, N)]


@register
class CanonicalLinkGradient(Check):
    """dE/dW for a single-layer model with a canonical output-function / error pair: the
    same "error signal times input" form (8.4) for linear, sigmoid and softmax outputs."""

    name = "canonical_link_gradient"
    forbids = BY_HAND
    references = (
        "autodiff.algorithms.outputs.single_layer_gradient",
        "autodiff.algorithms.outputs.output_deltas",
    )
    title = "Gradient of a single-layer model with a canonical link"
    equation = "(8.4) and (8.11)"
    points = 2.0
    outputs = ("dE/dW",)
    inputs = ("W", "X", "T")
    cost_reason = COST_REASON

    def cases(self, rng):
        plan = [
            ("linear", False),
            ("sigmoid", False),
            ("softmax", False),
            ("sigmoid", True),
            ("softmax", True),
            ("softmax", False),
            ("softmax", "unnormalised"),  # target rows that do not sum to one
        ]
        cases = []
        for i, (output, soft) in enumerate(plan):
            K, D, N = sizes(rng, 2, 4, 3)
            if i == 1:
                K, N = 1, 1  # one sigmoid output, one data point
            scale = 2.0 if i == 5 else 1.0  # larger logits: a confident softmax
            W, X = normal(rng, K, D, scale=scale), normal(rng, N, D)
            if soft == "unnormalised":
                T = rng.uniform(0.0, 1.0, (N, K))
            else:
                T = _canonical_targets(rng, N, K, output, soft)
            targets = "soft targets" if soft else "0/1 targets"
            if soft == "unnormalised":
                targets = "targets whose rows do not sum to one"
            if output == "linear":
                targets = "real targets"
            label = f"{output} outputs, K={K}, D={D}, N={N}, {targets}"
            cases.append(Case(label, (W, X, T), {"output": output}))
        return [*cases, _cost_case(rng, "softmax")]

    def visible_cases(self, rng):
        """Three cases, the one whose targets do not sum to one (the task's general form) and
        the cost case: a method that is too slow shows in the self-check."""
        cases = self.cases(rng)
        return [*cases[:3], *cases[-2:]]

    def reference(self, case):
        W, X, T = case.args
        return autodiff.grad(_canonical_error)(W, X, T, case.kwargs["output"])

    def mistakes(self):
        def signal(case, *, through_f=True, extra_derivative=False, batch_axis=False):
            W, X, T = case.args
            output = case.kwargs["output"]
            A = X @ W.T
            if not through_f:
                Y = A
            elif batch_axis and output == "softmax":
                E = np.exp(A)
                Y = E / E.sum(axis=0, keepdims=True)
            else:
                Y = _canonical_outputs(A, output)
            delta = Y - T
            if extra_derivative and output != "linear":
                delta = delta * Y * (1.0 - Y)
            return delta.T @ X

        return [
            Mistake(
                "extra output derivative",
                "The error signal was multiplied by the slope y (1 - y) of the output "
                "function: that is the gradient of a sum-of-squares error on these outputs. "
                "With the matching cross-entropy the slope cancels and dE/da_k = y_k - t_k.",
                "(8.4) and (8.11)",
                lambda case: signal(case, extra_derivative=True),
            ),
            Mistake(
                "output function forgotten",
                "The error signal used the pre-activations a = W x in place of the outputs "
                "y = f(a): apply the sigmoid or softmax before subtracting the targets.",
                "(8.11)",
                lambda case: signal(case, through_f=False),
            ),
            Mistake(
                "softmax over the batch",
                "The softmax was normalised over the data points (axis 0): each data point's "
                "outputs must sum to one over the K classes (axis 1).",
                "(8.11)",
                lambda case: signal(case, batch_axis=True),
            ),
            Mistake(
                "mean instead of sum",
                "This is the gradient averaged over the data points: E in (8.1) is a sum, so "
                "its gradient is the sum of the per-point gradients (no division by N).",
                "(8.1) and (8.4)",
                lambda case: signal(case) / case.args[1].shape[0],
            ),
            Mistake(
                "y - t for any targets",
                "The error signal y - t of (8.11) needs each data point's targets to sum to "
                "one; here they do not: redo the chain rule through the softmax for a "
                "general target row.",
                "(8.11)",
                lambda case: signal(case),
            ),
        ]
