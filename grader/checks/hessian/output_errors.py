"""Exercise 8.6, the two quantities at the outputs: ``delta_nk = dE_n/da_nk`` (8.11) and
``M_nkk' = d2E_n/da_nk da_nk'`` (8.33)-(8.34), for linear outputs with sum-of-squares error
and for logistic-sigmoid and softmax outputs with cross-entropy.
"""

from __future__ import annotations

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.hessian.network import OUTPUTS, _curvature, _error_of_a, _outputs, _targets
from grader.framework import Case, Check, Mistake

# ------------------------------------------------------ Exercise 8.6: delta_k and M_kk'


@register
class OutputErrorDerivatives(Check):
    """``delta_nk = dE_n/da_nk`` and ``M_nkk' = d2E_n/da_nk da_nk'`` at the output
    pre-activations, for the three canonical output/error pairs (the two quantities of
    Exercise 8.6)."""

    name = "output_error_derivatives"
    forbids = BY_HAND
    references = ("autodiff.algorithms.hessian", "autodiff.algorithms.hessian_approx")
    title = "First and second derivatives of the error at the outputs"
    equation = "(8.11), (8.34) and Exercise 8.6"
    points = 2.0
    outputs = ("delta", "M")
    inputs = ("A", "T")

    def cases(self, rng):
        cases = []
        for i, output in enumerate(["linear", "sigmoid", "softmax"] * 2):
            K, N = (1, 1) if i == 0 else (sizes(rng, 2, 4)[0], sizes(rng, 1, 4)[0])
            A, T = normal(rng, N, K, scale=1.5), _targets(rng, output, N, K)
            name = f"{output} outputs, K={K}, N={N} points"
            cases.append(Case(name, (A, T), {"output": output}))
        return cases

    def visible_cases(self, rng):
        return [
            Case(
                f"{output} outputs, K=3, N=2 points",
                (normal(rng, 2, 3, scale=1.5), _targets(rng, output, 2, 3)),
                {"output": output},
            )
            for output in OUTPUTS
        ]

    def reference(self, case):
        A, T = case.args
        output = case.kwargs["output"]
        delta = autodiff.grad(lambda a: _error_of_a(a, T, output))(A)
        M = np.stack(
            [
                autodiff.hessian(lambda a, n=n: _error_of_a(a[None, :], T[n : n + 1], output))(A[n])
                for n in range(A.shape[0])
            ]
        )
        return delta, M

    def student_function(self, answer):
        def function(A, T, output):
            return answer(Case("", (A, T), {"output": output}))

        return function

    def mistakes(self):
        def model(curvature="", delta_slope=False):
            def outputs(case):
                A, T = case.args
                output = case.kwargs["output"]
                y = _outputs(A, output)
                delta = y - T
                if delta_slope and output != "linear":
                    delta = delta * (y * (1.0 - y) if output == "sigmoid" else y)
                return delta, _curvature(A, output, curvature)

            return outputs

        return [
            Mistake(
                "softmax curvature without -y y^T",
                "For softmax outputs M is diag(y) - y y^T, the derivative (8.34) of y with "
                "respect to a: the part -y_k y_k' that couples the outputs is missing.",
                "(8.34)",
                model(curvature="diag y"),
            ),
            Mistake(
                "softmax curvature of independent sigmoids",
                "For softmax outputs this M keeps only y_k (1 - y_k) on the diagonal, as for "
                "independent sigmoid outputs: the softmax couples the outputs, M_kk' = "
                "y_k (I_kk' - y_k').",
                "(8.34)",
                model(curvature="sigmoid-like"),
            ),
            Mistake(
                "sigmoid slope y instead of y(1 - y)",
                "For sigmoid outputs this M has y_k on the diagonal: the slope of the logistic "
                "sigmoid is sigma'(a) = sigma(a) (1 - sigma(a)), so M_kk = y_k (1 - y_k).",
                "(8.33)",
                model(curvature="sigmoid slope y"),
            ),
            Mistake(
                "identity curvature",
                "M is the identity for every output type: that is the curvature of linear "
                "outputs with the sum-of-squares error. With a cross-entropy error, M is the "
                "derivative of y with respect to a.",
                "(8.33) and (8.34)",
                model(curvature="identity"),
            ),
            Mistake(
                "delta with the output slope",
                "delta has an extra factor, the slope of the output function: with the "
                "matching cross-entropy the slope cancels and delta_k = y_k - t_k.",
                "(8.11)",
                model(delta_slope=True),
            ),
        ]
