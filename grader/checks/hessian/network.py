"""The two-layer network that the Hessian checks share: its algebra and its cases.

The network as a function of its flat weights, written with ``autodiff.numpy`` for the
references: the output pre-activations (8.18)-(8.20) (with the skip term of Exercise 8.4),
the batch error (8.1) of the three canonical output/error pairs and its exact Hessian (8.37)
by ``autodiff.hessian``.  The same quantities in NumPy for the mistake models: the outputs,
the curvature ``M_n`` of the error at the outputs (8.33)-(8.34) and ``_State``, all that the
formulas of Exercises 8.6-8.12 need for one case (the deltas (8.11), the slopes (8.16)); the
two batch slips of every task (8.1).  Then the cases: random networks with targets that suit
their output units, and ``_NetworkCheck``, the base of the tasks ``f(W1, W2, X, T, output)``.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks.cases import normal, sizes
from grader.framework import Case, Check, Mistake

OUTPUTS = ("linear", "sigmoid", "softmax")
NETWORK_INPUTS = ("W1", "W2", "X", "T")

# ------------------------------------------------------------------------------ the network


def _shape(case: Case) -> tuple[int, int, int]:
    """``(D, M, K)`` of a case's network."""
    W1, W2 = case.args[:2]
    return W1.shape[1] - 1, W1.shape[0], W2.shape[0]


def _output(case: Case, output: str | None = None) -> str:
    """The output type: ``output`` when the task fixes it, else the case's keyword."""
    return output or case.kwargs.get("output", "linear")


def _has_skip(case: Case) -> bool:
    """A case of Exercise 8.7: ``(W1, W2, Ws, X, T)``, ``Ws`` being ``(K, D)``."""
    return len(case.args) == 5 and np.ndim(case.args[4]) == 2


def _unflatten(w, D: int, M: int, K: int, skip: bool = False):
    """``(W1, W2[, Ws])`` from a flat vector (``anp`` indexing: works on traced values)."""
    n1, n2 = M * (D + 1), K * (M + 1)
    W1 = anp.reshape(w[:n1], (M, D + 1))
    W2 = anp.reshape(w[n1 : n1 + n2], (K, M + 1))
    if skip:
        return W1, W2, anp.reshape(w[n1 + n2 :], (K, D))
    return W1, W2


def _preactivations(w, X, D: int, M: int, K: int, skip: bool = False):
    """Output pre-activations ``a_nk`` (8.18)-(8.20), plus the skip term of Exercise 8.4."""
    weights = _unflatten(w, D, M, K, skip)
    W1, W2 = weights[:2]
    z = anp.tanh(X @ anp.transpose(W1[:, 1:]) + W1[:, 0])
    a = z @ anp.transpose(W2[:, 1:]) + W2[:, 0]
    if skip:
        a = a + X @ anp.transpose(weights[2])
    return a


def _error_of_a(a, T, output: str):
    """The batch error as a function of the output pre-activations ``a`` (``N, K``)."""
    if output == "linear":
        return 0.5 * anp.sum((a - T) ** 2)
    if output == "sigmoid":
        return anp.sum(anp.softplus(a) - T * a)
    return anp.sum(anp.logsumexp(a, axis=1) - anp.sum(T * a, axis=1))


def _flat(case: Case) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in _weights(case)])


def _weights(case: Case) -> tuple[np.ndarray, ...]:
    """``(W1, W2)``, or ``(W1, W2, Ws)`` for a case with skip-layer weights."""
    return tuple(case.args[:3]) if _has_skip(case) else tuple(case.args[:2])


def _data(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """``(X, T)`` of a case (``T`` zero when the task takes no targets)."""
    n = 3 if _has_skip(case) else 2
    X = case.args[n]
    if len(case.args) > n + 1:
        return X, case.args[n + 1]
    return X, np.zeros((X.shape[0], case.args[1].shape[0]))


def _full_hessian(case: Case, output: str | None = None) -> np.ndarray:
    """The exact Hessian (8.37) of the batch error over all the case's weights."""
    D, M, K = _shape(case)
    X, T = _data(case)
    skip = _has_skip(case)
    output = _output(case, output)

    def error(w):
        return _error_of_a(_preactivations(w, X, D, M, K, skip), T, output)

    return np.asarray(autodiff.hessian(error)(_flat(case)))


# ------------------------------------------------------------ the quantities, in NumPy


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _outputs(a: np.ndarray, output: str) -> np.ndarray:
    return {"linear": lambda a: a, "sigmoid": _sigmoid, "softmax": _softmax}[output](a)


def _curvature(a: np.ndarray, output: str, flaw: str = "") -> np.ndarray:
    """``M_n = d2 E_n / da_n da_n^T`` (``N, K, K``): I, diag(y (1 - y)) or
    diag(y) - y y^T (8.34); ``flaw`` models a wrong one ("sigmoid slope y": diag(y) for
    sigmoid outputs, the other types right)."""
    N, K = a.shape
    eye = np.broadcast_to(np.eye(K), (N, K, K))
    if output == "linear" or flaw == "identity":
        return eye.copy()
    y = _outputs(a, output)
    if output == "sigmoid" and flaw == "sigmoid slope y":
        return y[:, :, None] * eye
    if output == "sigmoid" or flaw == "sigmoid-like":
        return (y * (1.0 - y))[:, :, None] * eye
    if flaw == "diag y":
        return y[:, :, None] * eye
    return y[:, :, None] * eye - y[:, :, None] * y[:, None, :]


class _State:
    """Everything the block formulas need for one case (all data points at once), with
    switches that model a wrong quantity (``bias=False``: the forward pass right, but the
    bias unit x_0 = z_0 = 1 left out of the formulas that follow it)."""

    def __init__(
        self,
        case: Case,
        curvature: str = "",
        skip_in_outputs: bool = True,
        output: str | None = None,
        bias: bool = True,
    ) -> None:
        weights = _weights(case)
        self.W1, self.W2 = weights[:2]
        self.Ws = weights[2] if len(weights) == 3 else None
        self.X, self.T = _data(case)
        self.output = _output(case, output)
        N = self.X.shape[0]
        self.X1 = np.concatenate([np.ones((N, 1)), self.X], axis=1)  # x_0 = 1
        self.A1 = self.X1 @ self.W1.T
        z = np.tanh(self.A1)
        self.Z1 = np.concatenate([np.ones((N, 1)), z], axis=1)  # z_0 = 1
        self.A2 = self.Z1 @ self.W2.T
        if self.Ws is not None and skip_in_outputs:
            self.A2 = self.A2 + self.X @ self.Ws.T
        self.delta = _outputs(self.A2, self.output) - self.T  # (8.11) for canonical pairs
        self.M = _curvature(self.A2, self.output, curvature)
        self.hp = 1.0 - z**2  # (8.16)
        self.hpp = -2.0 * z * self.hp
        self.Wh = self.W2[:, 1:]  # the weights from the hidden units (not the bias)
        self.N, self.D, self.K = N, self.X.shape[1], self.W2.shape[0]
        self.Mh = self.W1.shape[0]
        if not bias:  # the bias unit dropped from the formulas: x_0 = z_0 = 0 there
            self.X1 = self.X1 * (np.arange(self.X1.shape[1]) > 0)
            self.Z1 = self.Z1 * (np.arange(self.Z1.shape[1]) > 0)


def _scaled(function, factor_of_case):
    return lambda case: function(case) * factor_of_case(case)


def _first_point(case: Case) -> Case:
    """The same case with only its first data point."""
    n = 3 if _has_skip(case) else 2
    args = list(case.args)
    args[n], args[n + 1] = args[n][:1], args[n + 1][:1]
    return Case(case.name, tuple(args), case.kwargs)


def _per_point(case: Case) -> float:
    return 1.0 / _data(case)[0].shape[0]


def _batch_mistakes(function, equation: str, what: str = "matrix") -> list[Mistake]:
    """The two batch slips of every task: the first data point alone, a mean over N."""
    return [
        Mistake(
            "first point only",
            f"This {what} is the contribution of the first data point alone: the error is a "
            f"sum over the data points (8.1), and so is every derivative of it.",
            equation,
            lambda case: function(_first_point(case)),
        ),
        Mistake(
            "mean instead of sum",
            f"This {what} is averaged over the data points: the error is the sum (8.1), so "
            f"its derivatives are sums too (no division by N).",
            equation,
            _scaled(function, _per_point),
        ),
    ]


# ------------------------------------------------------------------------------ cases


def _targets(rng: np.random.Generator, output: str, N: int, K: int) -> np.ndarray:
    """Targets that suit the output units: real values, 0/1 labels, or 1-of-K codes."""
    if output == "linear":
        return normal(rng, N, K)
    if output == "sigmoid":
        return rng.integers(0, 2, size=(N, K)).astype(np.float64)
    return np.eye(K)[rng.integers(0, K, size=N)]


def _network_case(rng, D, M, K, N, output="linear", skip=False, extra=()) -> Case:
    W1 = normal(rng, M, D + 1, scale=1.0 / np.sqrt(D + 1))
    W2 = normal(rng, K, M + 1, scale=1.5 / np.sqrt(M + 1))
    X, T = normal(rng, N, D), _targets(rng, output, N, K)
    args = (W1, W2, X, T)
    name = f"D={D} inputs, M={M} hidden units, K={K} {output} outputs, N={N} points"
    if skip:
        args = (W1, W2, normal(rng, K, D, scale=0.7), X, T)
        name += ", skip-layer weights"
    return Case(name, args + tuple(extra), {"output": output})


def _plans(rng, outputs, count: int, first=()) -> list[tuple[int, int, int, int, str]]:
    """``(D, M, K, N, output)`` for ``count`` cases: ``first`` as given, then random sizes,
    the output types taking turns (softmax with at least two outputs)."""
    plans = list(first)
    for i in range(len(plans), count):
        output = outputs[i % len(outputs)]
        D, M = sizes(rng, 1, 3, 2)
        K, N = sizes(rng, 1, 3)[0], sizes(rng, 2, 5)[0]
        plans.append((D, M, max(K, 2) if output == "softmax" else K, N, output))
    return plans


class _NetworkCheck(Check):
    """A task on the two-layer network: ``f(W1, W2, X, T, output)``."""

    inputs = NETWORK_INPUTS
    outputs = ("H",)
    rtol = 1e-7
    atol = 1e-9
    output_types: tuple[str, ...] = OUTPUTS
    uses_output: bool = True

    def cases(self, rng):
        # the smallest network, then every output type at least once
        first = [(1, 1, 1, 1, "linear")] if "linear" in self.output_types else []
        plans = _plans(rng, self.output_types, 6, first)
        return [self._case(rng, *plan) for plan in plans]

    def visible_cases(self, rng):
        """One of each output type with two hidden units, two outputs and three data
        points: enough for every modelled mistake to give its own answer."""
        return [self._case(rng, 2, 2, 2, 3, output) for output in self.output_types]

    def _case(self, rng, D, M, K, N, output):
        return _network_case(rng, D, M, K, N, output)

    def student_function(self, answer):
        def function(W1, W2, X, T, output="linear"):
            return answer(Case("", (W1, W2, X, T), {"output": output}))

        return function
