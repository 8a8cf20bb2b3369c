"""Checks for the assignment on evaluating gradients (Sections 8.1-8.1.2)."""

from __future__ import annotations

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.framework import Case, Check, Mistake


def _linear_error(W, X, T):
    """Sum-of-squares error (8.3) of the linear model (8.2), summed over the batch (8.1)."""
    return 0.5 * anp.sum((X @ anp.transpose(W) - T) ** 2)


@register
class LinearModelGradient(Check):
    """dE/dW for the linear model y = W x with sum-of-squares error: (8.4) summed over the
    data points."""

    name = "linear_model_gradient"
    title = "Gradient of the linear model"
    equation = "(8.4)"
    points = 2.0
    outputs = ("dE/dW",)

    def cases(self, rng):
        cases = []
        for i in range(6):
            K, D, N = sizes(rng, 1, 5, 3)
            if i == 0:
                K, D, N = 1, 1, 1  # the smallest case
            W, X, T = normal(rng, K, D), normal(rng, N, D), normal(rng, N, K)
            cases.append(Case(f"K={K} outputs, D={D} inputs, N={N} points", (W, X, T)))
        return cases

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
        ]
