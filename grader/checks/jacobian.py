"""Checks for the assignment on the network Jacobian (Section 8.1.5, Exercise 8.5).

The students' network functions receive a :class:`TwoLayerNet` and one input ``x``; the
cases hold only the arrays ``(W1, b1, W2, b2, x)`` and ``call`` builds the network from them.
Cases with ``D = M = K`` are included so that a weight matrix used transposed still gives
an answer of the right shape, which the mistake models can then recognise.

The Jacobian by backpropagation ends with a case that measures the cost of the method
(Sections 8.1.4-8.1.5): many inputs, few outputs.  Backpropagation costs K backward passes
of O(W) each; finite differences cost D forward passes (2 D central), each O(W).  With
D = 150,000 and K = 3 that is milliseconds against half a minute or more.  Forward
propagation (Exercise 8.5) carries D derivatives forward and so has no such case.  The
measurements are in ``tests/grader/test_cost_cases.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.framework import Case, Check, Mistake

ANP_OUTPUTS = {"linear": lambda a: a, "sigmoid": anp.sigmoid, "softmax": anp.softmax}


def _network_case(rng: np.random.Generator, D: int, M: int, K: int, scale: float = 1.0, **kw):
    """A case ``(W1, b1, W2, b2, x)`` of a ``D``-``M``-``K`` network; ``scale`` sets how far
    the tanh units and the outputs are driven into saturation."""
    args = (
        normal(rng, M, D, scale=scale / np.sqrt(D)),
        normal(rng, M, scale=0.3),
        normal(rng, K, M, scale=scale / np.sqrt(M)),
        normal(rng, K, scale=0.3),
        normal(rng, D, scale=scale),
    )
    label = f"D={D} inputs, M={M} hidden, K={K} outputs"
    if scale != 1.0:
        label += f", weights and input scaled by {scale:g}"
    if "output" in kw:
        label = f"{kw['output']} outputs, " + label
    return Case(label, args, kw)


def _network_outputs(case: Case) -> Callable:
    """``x -> y`` of the case's network, written with ``anp`` for the transforms."""
    W1, b1, W2, b2, _ = case.args
    output = ANP_OUTPUTS[case.kwargs.get("output", "softmax")]
    return lambda x: output(anp.matmul(W2, anp.tanh(anp.matmul(W1, x) + b1)) + b2)


def _states(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward propagation (8.19)-(8.20) in NumPy: hidden pre-activations, hidden outputs,
    output pre-activations."""
    W1, b1, W2, b2, x = case.args
    a = W1 @ x + b1
    z = np.tanh(a)
    return a, z, W2 @ z + b2


def _output_derivative(a_out: np.ndarray, output: str) -> np.ndarray:
    """``dy_k/da_l``: (8.31), (8.33) or (8.34)."""
    if output == "linear":
        return np.eye(a_out.size)
    if output == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-a_out))
        return np.diag(y * (1.0 - y))
    y = np.exp(a_out - a_out.max())
    y = y / y.sum()
    return np.diag(y) - np.outer(y, y)


def _backprop_with(case: Case, G: np.ndarray, h_prime: np.ndarray, transpose: bool = False):
    """``J = ((G W2) * h') W1``, (8.29)-(8.30), from a given output derivative ``G`` and
    hidden derivative ``h'``; with ``transpose`` both weight matrices are used transposed."""
    W1, _, W2, _, _ = case.args
    if transpose:
        W1, W2 = W1.T, W2.T
    return ((G @ W2) * h_prime) @ W1


def _softmax_y(case: Case) -> np.ndarray:
    """The softmax outputs ``y`` of the case's network."""
    a_out = _states(case)[2]
    y = np.exp(a_out - a_out.max())
    return y / y.sum()


def _sigmoid_like_g(case: Case) -> np.ndarray:
    """``diag(y (1 - y))``: the diagonal of the softmax derivative (8.34) alone."""
    y = _softmax_y(case)
    return np.diag(y * (1.0 - y))


def _h_prime(case: Case) -> np.ndarray:
    """``h'(a_j) = 1 - z_j^2`` of the tanh hidden units."""
    return 1.0 - _states(case)[1] ** 2


COST_SIZES = (150_000, 2, 3)
"""``D, M, K`` of the cost case: W = M D + M + K M + K = 300,011 weights.  Backpropagation
costs one forward pass and K backward passes, about (K + 1) M D = 1.2e6 multiply-adds;
finite differences D forward passes (2 D central), each M D = 3e5, about 4.5e10 in all
(9e10 central), and each pass must read a perturbed input of D numbers."""

COST_SECONDS = 1.0
"""The time budget of the cost case.  Backpropagation takes 1-10 ms here (the inputs are
3.6 MB), up to 0.15 s on two cores loaded with three times as many processes (NumPy's BLAS
threads then wait for each other); D forward passes take half a minute or more, however
they are batched (NumPy ran them at 1.6e9 multiply-adds per second here at best)."""


def _cost_case(rng: np.random.Generator) -> Case:
    """The cost case: a wide input layer (weights scaled by 1/sqrt(D), so that the units
    are neither saturated nor linear), few hidden units and outputs."""
    D, M, K = COST_SIZES
    case = _network_case(rng, D, M, K)
    label = (
        f"cost: {case.name}, W={M * D + M + K * M + K:,} weights: K backward passes "
        f"(backpropagation) fit the {COST_SECONDS:g} s budget, D forward passes (finite "
        f"differences) do not"
    )
    return Case(label, case.args, case.kwargs, seconds=COST_SECONDS)


class _NetworkCheck(Check):
    """A check whose student function is ``f(net, x, **kwargs)`` with a TwoLayerNet."""

    outputs = ("J",)
    inputs = ("net.W1", "net.b1", "net.W2", "net.b2", "x")

    caller = "network"

    def student_function(self, answer):
        def function(net, x, **kwargs):
            return answer(Case("", (net.W1, net.b1, net.W2, net.b2, x), kwargs))

        return function


@register
class SoftmaxNetworkJacobian(_NetworkCheck):
    """``J = dy/dx`` of the two-layer tanh network with softmax outputs, by backpropagation
    (8.29)-(8.30) started from (8.34)."""

    name = "softmax_network_jacobian"
    title = "Jacobian of a softmax network by backpropagation"
    equation = "(8.29)-(8.34)"
    points = 3.0
    cost_reason = (
        "as costly as a few passes through the network per output (backpropagation: K "
        "backward passes), not one per input (finite differences: D forward passes)"
    )

    def cases(self, rng):
        cases = [
            _network_case(rng, 3, 3, 3),
            _network_case(rng, 1, 2, 2),
            _network_case(rng, *sizes(rng, 2, 6, 2), sizes(rng, 2, 6)[0]),
            _network_case(rng, 4, 4, 4),
            _network_case(rng, *sizes(rng, 1, 6, 2), sizes(rng, 2, 6)[0]),
            _network_case(rng, *sizes(rng, 2, 5, 3), scale=3.0),
        ]
        return [*cases, _cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: a method that is too slow shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        return autodiff.jacrev(_network_outputs(case))(case.args[-1])

    def mistakes(self):
        def softmax_g(case):
            return _output_derivative(_states(case)[2], "softmax")

        return [
            Mistake(
                "missing -y_k y_l",
                "The derivative of the softmax outputs was taken as diag(y): the term "
                "-y_k y_l is missing. Every output depends on every pre-activation through "
                "the normalisation, so dy_k/da_l is not zero for k != l.",
                "(8.34)",
                lambda case: _backprop_with(case, np.diag(_softmax_y(case)), _h_prime(case)),
            ),
            Mistake(
                "diagonal of (8.34) only",
                "Only the diagonal y_k (1 - y_k) of the softmax derivative was used, as for "
                "independent sigmoid outputs (8.33): the off-diagonal entries -y_k y_l are "
                "missing.",
                "(8.34)",
                lambda case: _backprop_with(case, _sigmoid_like_g(case), _h_prime(case)),
            ),
            Mistake(
                "missing h'",
                "The derivative h'(a_j) = 1 - z_j^2 of the tanh hidden units is missing: "
                "passing back through a hidden unit multiplies by it.",
                "(8.30)",
                lambda case: _backprop_with(case, softmax_g(case), np.ones_like(_h_prime(case))),
            ),
            Mistake(
                "1 - a^2",
                "The tanh derivative was evaluated as 1 - a_j^2 from the pre-activation: it is "
                "1 - tanh(a_j)^2 = 1 - z_j^2.",
                "(8.30) with h = tanh",
                lambda case: _backprop_with(case, softmax_g(case), 1.0 - _states(case)[0] ** 2),
            ),
            Mistake(
                "transposed weights",
                "The weight matrices were used transposed: dy_k/da_j sums w_lj over the units "
                "l that unit j feeds (the first index), and J_ki sums w_ji over the units j "
                "that input i feeds.",
                "(8.29) and (8.30)",
                lambda case: _backprop_with(case, softmax_g(case), _h_prime(case), True),
            ),
        ]


@register
class JacobianForwardPropagation(_NetworkCheck):
    """``J = dy/dx`` of the two-layer tanh network by forward propagation (Exercise 8.5),
    for linear, sigmoid or softmax outputs."""

    name = "jacobian_forward_propagation"
    title = "Jacobian by forward propagation"
    equation = "Exercise 8.5"
    points = 3.0

    def cases(self, rng):
        return [
            _network_case(rng, 3, 3, 3, output="softmax"),
            _network_case(rng, 1, 1, 1, output="linear"),
            _network_case(rng, *sizes(rng, 2, 6, 3), output="sigmoid"),
            _network_case(rng, 4, 4, 4, output="sigmoid"),
            _network_case(rng, *sizes(rng, 1, 6, 2), sizes(rng, 2, 6)[0], output="softmax"),
            _network_case(rng, *sizes(rng, 2, 6, 3), output="linear"),
            _network_case(rng, *sizes(rng, 2, 5, 3), scale=3.0, output="softmax"),
        ]

    def reference(self, case):
        return autodiff.jacfwd(_network_outputs(case))(case.args[-1])

    def mistakes(self):
        def forward_with(case, h_prime, output=None, transpose=False):
            W1, _, W2, _, _ = case.args
            if transpose:
                W1, W2 = W1.T, W2.T
            da_out_dx = W2 @ (h_prime[:, None] * W1)
            G = _output_derivative(_states(case)[2], output or case.kwargs["output"])
            return G @ da_out_dx

        return [
            Mistake(
                "output derivative skipped",
                "This is d a_k / d x_i, the Jacobian of the output pre-activations: the last "
                "step multiplies by dy_k/da_l of the output units.",
                "(8.31), (8.33), (8.34)",
                lambda case: forward_with(case, _h_prime(case), output="linear"),
            ),
            Mistake(
                "missing h'",
                "The derivative h'(a_j) = 1 - z_j^2 of the tanh hidden units is missing: "
                "going forward through hidden unit j multiplies da_j/dx_i by it.",
                "Exercise 8.5, by analogy with (8.30)",
                lambda case: forward_with(case, np.ones_like(_h_prime(case))),
            ),
            Mistake(
                "transposed weights",
                "The weight matrices were used transposed: da_j/dx_i = w_ji (row j, column i "
                "of W1), and da_l/dx_i sums w_lj h'(a_j) da_j/dx_i over the hidden units j.",
                "Exercise 8.5 and (8.5)",
                lambda case: forward_with(case, _h_prime(case), transpose=True),
            ),
        ]


@register
class ModuleChainGradient(Check):
    """``dE/dw`` through a chain of modules (Figure 8.3): the sum over ``k, j`` of (8.27)."""

    name = "module_chain_gradient"
    title = "Gradient through a chain of modules"
    equation = "(8.27)"
    points = 2.0
    outputs = ("dE/dw",)
    inputs = ("dE_dy", "dy_dz", "dz_dw")

    def cases(self, rng):
        shapes = [(3, 3, 3), (1, 1, 1), (2, 4, 3), (4, 4, 2), (1, 5, 4), (5, 2, 6)]
        cases = []
        for K, L, P in shapes:
            args = (normal(rng, K), normal(rng, K, L), normal(rng, L, P))
            cases.append(Case(f"K={K} outputs y, L={L} signals z, P={P} parameters w", args))
        return cases

    def reference(self, case):
        dE_dy, dy_dz, dz_dw = case.args

        def error_of_w(dw):
            # A chain of linear modules with exactly these Jacobians: z = dz_dw w,
            # y = dy_dz z, E = dE_dy . y.
            return anp.sum(dE_dy * anp.matmul(dy_dz, anp.matmul(dz_dw, dw)))

        return autodiff.grad(error_of_w)(np.zeros(dz_dw.shape[1]))

    def mistakes(self):
        return [
            Mistake(
                "middle module skipped",
                "The Jacobian dy/dz of the middle module is missing: dE/dz_j is not dE/dy_j; "
                "it sums dE/dy_k dy_k/dz_j over all outputs k.",
                "(8.27)",
                lambda case: case.args[0] @ case.args[2],
            ),
            Mistake(
                "diagonal terms only",
                "Only the terms with k = j were summed, as if y_k depended on z_k alone: "
                "(8.27) sums over every pair k, j.",
                "(8.27)",
                lambda case: (case.args[0] * np.diag(case.args[1])) @ case.args[2],
            ),
            Mistake(
                "middle Jacobian transposed",
                "The middle Jacobian was used transposed: its entry (k, j) is dy_k/dz_j, so "
                "the error signal at z_j is sum_k dE/dy_k dy_k/dz_j.",
                "(8.26) and (8.27)",
                lambda case: case.args[0] @ case.args[1].T @ case.args[2],
            ),
        ]
