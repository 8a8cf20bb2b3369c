"""The inputs of the checks that are not numbers: test functions and objects built from a
case's numbers, on the student's side of grading.

A case crosses into the sandbox as plain data; where the student's function expects a
callable or an object, the case names it (a test function by name) or holds its numbers
(``SmoothFunction``, ``TwoLayerNet``), and the callers (``callers``) build it here.  These are
inputs, not answers: nothing here computes what a student is asked for.

The functions that dual numbers, a reverse-mode engine or autodiff's traced values are
pushed through are written with operators and the methods ``exp sin cos log tanh`` only,
so the same code runs on all of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff.numpy as anp
from autodiff.algorithms.network import TwoLayerNet

__all__ = [
    "DUAL_FUNCTIONS",
    "ENGINE_FUNCTIONS",
    "HVP_FUNCTIONS",
    "JACOBIAN_FUNCTIONS",
    "NESTED_HVP_FUNCTIONS",
    "SmoothFunction",
    "TwoLayerNet",
]

# -- forward mode: functions for dual numbers (Section 8.2.1) ---------------------------------


def book_8_49(x1, x2):
    """f of (8.49)."""
    return x1 * x2 + (x1 * x2).exp() - x2.sin()


def product(x, y):
    return x * y


def quotient(x, y):
    return x / y


def with_constants(x):
    return 3.0 * x + 2.0 - x / 4.0 + (2.5 - x) * 0.5 + 1.5 / x


def powers(x, y):
    return x**3 - (x * x + y * y) ** 0.5 + (-y)


def exp_of_product(x, y):
    return (x * y).exp()


def sin_of_difference(x, y):
    return (x - y).sin()


def cos_of_sum(x, y):
    return (x + y).cos()


def log_of_squares(x, y):
    return (x * x + y * y).log()


def neuron(w1, w2, b, x1, x2):
    return (w1 * x1 + w2 * x2 + b).tanh()


def book_two_outputs(x1, x2):
    """f1 (8.49) and f2 (8.65) through the shared trace of Figure 8.5."""
    v3 = x1 * x2
    v5 = v3.exp()
    v6 = v3 - x2.sin()
    return v5 + v6, v5 * v6


def polar_to_cartesian(r, theta):
    return r * theta.cos(), r * theta.sin()


def tanh_layer(x1, x2, x3):
    return (0.5 * x1 - x2 + 0.3 * x3 + 0.1).tanh(), (x1 + 0.7 * x2 - 0.2 * x3).tanh()


def helix(t):
    return t.cos(), t.sin(), 0.5 * t


def three_outputs(x1, x2):
    return ((x1 - x2).exp() + 1.0).log(), x1 * x2 / (1.0 + x2 * x2), (x1**2 + 1.0).log() * x2


def cyclic_products(x1, x2, x3):
    return x1 * x2, x2 * x3, x3 * x1


DUAL_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        book_8_49,
        product,
        quotient,
        with_constants,
        powers,
        exp_of_product,
        sin_of_difference,
        cos_of_sum,
        log_of_squares,
        neuron,
    )
}
"""Scalar functions for the dual-number tasks, by name."""

JACOBIAN_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        book_two_outputs,
        polar_to_cartesian,
        tanh_layer,
        helix,
        three_outputs,
        cyclic_products,
    )
}
"""Functions with several outputs (a tuple) for the Jacobian tasks, by name."""


# -- reverse mode: functions for a student's engine (Section 8.2.2) ---------------------------
# Written with operators and the methods only; the chain is deeper than Python's default
# recursion limit, so that a recursive topological sort fails on it.

CHAIN_LENGTH = 1500  # steps of 3 operations: deeper than Python's default recursion limit


def trace_8_49(x1, x2):
    """(8.49), with v3 = x1 x2 computed once and used twice (8.52)."""
    v3 = x1 * x2
    return v3 + v3.exp() - x2.sin()


def reused_variable(x):
    """x enters five times: every use must add its own contribution to x̄."""
    return x * x + x.sin() * x + x.cos()


def quotients(x, y):
    """Only + * / ** (no subtraction): the quotient rule on both sides of /."""
    return x / (1.0 + y * y) + (y * y + 1.0).log() / (x * x + 2.0) + (x**3 + 2.0 * y).tanh()


def differences(x, y, z):
    """Only + * -, unary minus and elementary functions (no division)."""
    return (x - y).tanh() * z - (z - x).cos() + (y * y + 1.0) ** 0.5 - (-x * z).exp()


def constants_first(x, y):
    """Numbers on the left of / and -, and an input (y) that f does not use."""
    return 3.0 / (1.0 + x.exp()) + 2.0 - x.tanh()


def long_chain(x):
    """A chain of CHAIN_LENGTH steps s <- s + 0.001 sin(s): a recursive sort overflows."""
    s = x
    for _ in range(CHAIN_LENGTH):
        s = s + 0.001 * s.sin()
    return s


ENGINE_FUNCTIONS: dict[str, Callable] = {
    "(8.49)": trace_8_49,
    "a variable used five times": reused_variable,
    "quotients, powers, log, tanh": quotients,
    "differences, negation, tanh, cos, exp, square root": differences,
    "constants on the left, an unused input": constants_first,
    f"a chain of {3 * CHAIN_LENGTH} operations": long_chain,
}


# -- Hessian-vector products by the student's nested engines (Section 8.2.2) ------------------
# Scalar functions of several scalars, written with operators and the methods only, like the
# engine's: the student's dual numbers and Vars, nested either way, run them, and so do the
# model engines of the trusted side and autodiff's traced values.

_NETWORK_X = (-1.2, 0.3, 1.1)  # the three data points of the small network below
_NETWORK_T = (0.8, -0.2, 0.5)


def tanh_network_error(w1, b1, w2, b2, u1, u2, c):
    """Sum-of-squares error (8.17), summed over three points (8.1), of a network with one
    input, two tanh hidden units and one linear output (8.18)-(8.20), as a function of its
    W = 7 weights: z_j = tanh(w_j x + b_j), y = u1 z1 + u2 z2 + c."""
    total = 0.0
    for x, t in zip(_NETWORK_X, _NETWORK_T):
        y = u1 * (w1 * x + b1).tanh() + u2 * (w2 * x + b2).tanh() + c
        total = total + 0.5 * (y - t) ** 2
    return total


def pairwise_sum(terms: list):
    """The sum of ``terms`` added in pairs, level by level: a graph of depth log2(len)."""
    while len(terms) > 1:
        paired = [a + b for a, b in zip(terms[0::2], terms[1::2])]
        terms = paired + (terms[-1:] if len(terms) % 2 else [])
    return terms[0]


def ring(*x):
    """sum_i x_i^4 / 4 + sin(x_i x_(i+1)) around a ring of inputs: six operations per
    input, every input coupled to its two neighbours (so H has three nonzero diagonals and
    its corners); the terms are added in pairs, so the graph stays shallow however many
    inputs there are."""
    n = len(x)
    return pairwise_sum([0.25 * x[i] ** 4 + (x[i] * x[(i + 1) % n]).sin() for i in range(n)])


RING_COST_SIZE = 500
"""Inputs of the cost case of the nested Hessian-vector product: one nested pass runs the
3,000 operations of the primal function once, on objects of the student's engines (the
master's create about 17,500 Vars and Duals, a fraction of a second); the Hessian column by
column is 500 such passes."""

NESTED_HVP_FUNCTIONS: dict[str, Callable] = {
    "(8.49)": trace_8_49,
    "a variable used five times": reused_variable,
    "quotients, powers, log, tanh": quotients,
    "differences, negation, tanh, cos, exp, square root": differences,
    "constants on the left, an unused input": constants_first,
    "the error of a 1-2-1 tanh network (W = 7)": tanh_network_error,
    "a ring of coupled inputs": ring,
}
"""Scalar functions of several scalars for ``hessian_vector_product(f, x, v)`` of the
reverse-mode assignment, by name (the ring takes any number of inputs)."""


# -- Hessian-vector products: scalar functions of a vector, written with anp ---------------

_HVP_RNG = np.random.default_rng(822)
_X = _HVP_RNG.normal(size=(6, 2))  # data of the small tanh network: D = 2 inputs
_T = np.sin(_X[:, :1]) + 0.1 * _HVP_RNG.normal(size=(6, 1))  # K = 1 output
_M = 3  # hidden units: W = M D + M + K M + K = 13 parameters


def network_error(w):
    """Sum-of-squares error (8.17) of a two-layer tanh network (8.18)-(8.20) as a function
    of its flat parameter vector [W1, b1, W2, b2] (13 parameters)."""
    D, M = _X.shape[1], _M
    W1 = anp.reshape(w[: M * D], (M, D))
    b1 = w[M * D : M * D + M]
    W2 = anp.reshape(w[M * D + M : M * D + 2 * M], (1, M))
    b2 = w[M * D + 2 * M :]
    z = anp.tanh(_X @ anp.transpose(W1) + b1)
    return 0.5 * anp.sum((z @ anp.transpose(W2) + b2 - _T) ** 2)


def log_sum_exp(x):
    return anp.logsumexp(x)


def coupled_quartic(x):
    return 0.25 * anp.sum(x**4) + anp.sum(anp.sin(x[1:] * x[:-1])) + anp.sum(x) ** 2


HVP_FUNCTIONS: dict[str, Callable] = {
    "the error of a small tanh network (W = 13)": network_error,
    "log-sum-exp": log_sum_exp,
    "a coupled quartic": coupled_quartic,
}


# -- numerical differentiation (Section 8.1.4) ------------------------------------------------


class SmoothFunction:
    """A smooth function of a vector, built from the numbers of a case.

    ``kind="scalar"``: ``f(x) = a . tanh(B x + c) + |x|^2 / 2`` (a scalar);
    ``kind="vector"``: ``y(x) = A tanh(B x + c)``, a two-layer network's outputs as
    functions of its inputs, as in (8.35).  Written with ``autodiff.numpy``, so it runs on
    plain arrays and can be differentiated by the transforms.
    """

    def __init__(self, kind: str, outer: np.ndarray, B: np.ndarray, c: np.ndarray):
        self.kind = kind
        self.params = (outer, B, c)
        self.size = B.shape[1]

    def __call__(self, x):
        shape = getattr(x, "shape", None)
        if shape != (self.size,):
            raise ValueError(
                f"f expects a vector of shape ({self.size},), got "
                f"{'shape ' + str(shape) if shape is not None else type(x).__name__}; "
                "perturb a copy of x, one component at a time"
            )
        outer, B, c = self.params
        hidden = anp.tanh(anp.matmul(B, x) + c)
        if self.kind == "scalar":
            return anp.sum(outer * hidden) + 0.5 * anp.sum(x * x)
        return anp.matmul(outer, hidden)
