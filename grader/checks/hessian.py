"""Checks for the assignment on the Hessian matrix (Section 8.1.6, Exercises 8.6-8.12).

Conventions of every network task, those of (8.18)-(8.20) with ``x_0 = z_0 = 1``: a
two-layer network with ``D`` inputs, ``M`` tanh hidden units and ``K`` outputs has the
weights ``W1`` of shape ``(M, D + 1)`` and ``W2`` of shape ``(K, M + 1)``, column 0 of each
holding the biases (the weights from the unit fixed at 1).  The data are ``X`` ``(N, D)`` and
``T`` ``(N, K)``; the error is summed over the batch (8.1): sum-of-squares (8.17) for linear
outputs, cross-entropy for logistic-sigmoid and softmax outputs.  Every matrix over the
weights follows the flat order ``w = [W1.ravel(), W2.ravel()]`` (with skip-layer weights
``Ws`` of shape ``(K, D)``, Exercise 8.7: ``[W1.ravel(), W2.ravel(), Ws.ravel()]``).

The references come from ``autodiff`` (``hessian``, ``grad``, ``jacrev`` of the error written
with ``autodiff.numpy``), except the diagonal approximation, which is defined by its
recursion; the mistake models are written out in NumPy with switches.

The gradients of the output pre-activations by backpropagation end with a case that
measures the cost of the method (Sections 8.1.4-8.1.5): backpropagation costs K backward
passes per data point, finite differences W forward passes; with W = 250,502 weights that is
milliseconds against half a minute or more (``tests/grader/test_cost_cases.py``).
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
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


def _hessian_blocks(case: Case) -> dict[str, np.ndarray]:
    """The blocks of the exact Hessian: ``11``, ``12``, ``22`` (and ``1s``, ``2s``,
    ``ss`` with skip-layer weights), from ``autodiff.hessian``."""
    D, M, K = _shape(case)
    H = _full_hessian(case)
    n1, n2 = M * (D + 1), K * (M + 1)
    edges = {"1": slice(0, n1), "2": slice(n1, n1 + n2), "s": slice(n1 + n2, H.shape[0])}
    return {a + b: H[edges[a], edges[b]] for a in edges for b in edges}


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


def _block_22(s: _State, order: str = "kj") -> np.ndarray:
    """Exercise 8.6 (a): ``sum_n z_nj z_nj' M_nkk'`` over ``W2`` (bias column included)."""
    K, J = s.K, s.Z1.shape[1]
    block = np.einsum("nj,nl,nkm->kjml", s.Z1, s.Z1, s.M)
    if order == "jk":
        block = block.transpose(1, 0, 3, 2)
    return block.reshape(K * J, K * J)


def _block_11(
    s: _State, second: bool = True, coupling: bool = True, shift: bool = False, order: str = "ji"
):
    """Exercise 8.6 (b): ``sum_n x_ni x_ni' [I_jj' h''_nj sum_k w_kj delta_nk +
    h'_nj h'_nj' sum_kk' w_kj w_k'j' M_nkk']``; ``shift`` takes the hidden weights from
    the wrong columns of ``W2`` (the bias column counted as a hidden unit); ``order="ij"``
    puts the entries in the order of ``W1.T.ravel()`` instead of ``W1.ravel()``."""
    Wh = s.W2[:, :-1] if shift else s.Wh
    G = np.zeros((s.N, s.Mh, s.Mh))
    if second:
        G += np.einsum("nj,jl->njl", s.hpp * (s.delta @ Wh), np.eye(s.Mh))
    if coupling:
        G += s.hp[:, :, None] * s.hp[:, None, :] * np.einsum("kj,nkm,ml->njl", Wh, s.M, Wh)
    size = s.Mh * (s.D + 1)
    layout = "jiml" if order == "ji" else "ijlm"  # "ij": rows and columns ordered (i, j)
    return np.einsum(f"ni,nl,njm->{layout}", s.X1, s.X1, G).reshape(size, size)


def _block_12(
    s: _State, first: bool = True, curvature: bool = True, column: int = 1, order: str = "ji"
):
    """Exercise 8.6 (c): ``sum_n x_ni h'_nj [I_(j' = j) delta_nk + z_nj' sum_k' w_k'j
    M_nk'k]`` for ``w_ji^(1)`` against ``w_kj'^(2)``; ``column`` is where hidden unit
    ``j`` sits in ``W2`` (1 + j; 0 models forgetting the bias column); ``order="ij"`` puts
    the rows in the order of ``W1.T.ravel()``."""
    J = s.Z1.shape[1]
    inner = np.zeros((s.N, s.Mh, s.K, J))
    if first:
        for j in range(s.Mh):
            inner[:, j, :, j + column] += s.delta
    if curvature:
        P = np.einsum("kj,nkm->njm", s.Wh, s.M)  # sum_k' w_k'j M_nk'k
        inner += P[:, :, :, None] * s.Z1[:, None, None, :]
    layout = "jikl" if order == "ji" else "ijkl"  # "ij": rows ordered (i, j)
    block = np.einsum(f"ni,nj,njkl->{layout}", s.X1, s.hp, inner)
    return block.reshape(s.Mh * (s.D + 1), s.K * J)


def _skip_blocks(s: _State, delta_term: bool = False) -> dict[str, np.ndarray]:
    """Exercise 8.7: skip-skip, second-layer-skip and first-layer-skip blocks;
    ``delta_term`` adds a ``delta_k`` term to the first-layer-skip block, as (c) has one."""
    K, D, J = s.K, s.D, s.Z1.shape[1]
    ss = np.einsum("ni,nl,nkm->kiml", s.X, s.X, s.M).reshape(K * D, K * D)
    s2 = np.einsum("ni,nl,nkm->kiml", s.X, s.Z1, s.M).reshape(K * D, K * J)
    P = np.einsum("kj,nkm->njm", s.Wh, s.M)  # sum_k' w_k'j M_nk'k
    s1 = np.einsum("ni,nl,nj,njk->kijl", s.X, s.X1, s.hp, P)
    if delta_term:
        s1 = s1 + np.einsum("ni,nl,nj,nk->kijl", s.X, s.X1, s.hp, s.delta)
    return {"ss": ss, "s2": s2, "s1": s1.reshape(K * D, s.Mh * (D + 1))}


def _assemble(H11, H12, H22, skip: dict | None = None, lower: bool = True) -> np.ndarray:
    H21 = H12.T if lower else np.zeros_like(H12.T)
    if skip is None:
        return np.block([[H11, H12], [H21, H22]])
    s1, s2, ss = skip["s1"], skip["s2"], skip["ss"]
    return np.block([[H11, H12, s1.T], [H21, H22, s2.T], [s1, s2, ss]])


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


# ------------------------------------------------------ Exercise 8.6: delta_k and M_kk'


@register
class OutputErrorDerivatives(Check):
    """``delta_nk = dE_n/da_nk`` and ``M_nkk' = d2E_n/da_nk da_nk'`` at the output
    pre-activations, for the three canonical output/error pairs (the two quantities of
    Exercise 8.6)."""

    name = "output_error_derivatives"
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


# -------------------------------------------------------- Exercise 8.6: the three blocks


@register
class HessianSecondLayerBlock(_NetworkCheck):
    """Exercise 8.6 (a): the block of the exact Hessian for two weights of the second layer,
    ``sum_n z_nj z_nj' M_nkk'``, biases included (``z_0 = 1``)."""

    name = "hessian_second_layer_block"
    title = "Exact Hessian, block (a): two second-layer weights"
    equation = "Exercise 8.6 (a)"
    points = 2.0
    outputs = ("d2E/dW2 dW2",)

    def reference(self, case):
        return _hessian_blocks(case)["22"]

    def mistakes(self):
        return [
            Mistake(
                "curvature without -y y^T",
                "For softmax outputs this block uses M = diag(y): the part -y_k y_k' of "
                "M_kk', which couples different outputs, is missing.",
                "Exercise 8.6 (a) with (8.34)",
                lambda case: _block_22(_State(case, curvature="diag y")),
            ),
            Mistake(
                "identity curvature",
                "This block uses M = I, the curvature of linear outputs with a "
                "sum-of-squares error, for every output type.",
                "Exercise 8.6 (a) with (8.33) and (8.34)",
                lambda case: _block_22(_State(case, curvature="identity")),
            ),
            Mistake(
                "rows ordered (j, k)",
                "The entries are right but in the wrong places: rows and columns follow "
                "W2.ravel(), where w_kj sits at index k (M + 1) + j.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_22(_State(case), order="jk"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the output biases w_k0 are wrong: a bias is the weight from the "
                "unit z_0 = 1 (column 0 of the Z1 that propagate returns), and its second "
                "derivatives are those of any second-layer weight with z_0 = 1.",
                "(8.20) and Exercise 8.6 (a)",
                lambda case: _block_22(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_22(_State(case)), "(8.1) and Exercise 8.6 (a)"),
        ]


@register
class HessianFirstLayerBlock(_NetworkCheck):
    """Exercise 8.6 (b): the block for two weights of the first layer."""

    name = "hessian_first_layer_block"
    title = "Exact Hessian, block (b): two first-layer weights"
    equation = "Exercise 8.6 (b)"
    points = 3.0
    outputs = ("d2E/dW1 dW1",)

    def reference(self, case):
        return _hessian_blocks(case)["11"]

    def mistakes(self):
        return [
            Mistake(
                "h'' term missing",
                "The term I_jj' h''(a_j) sum_k w_kj delta_k is missing: differentiating "
                "delta_j = h'(a_j) sum_k w_kj delta_k by a_j also differentiates the slope "
                "h'(a_j) itself.",
                "Exercise 8.6 (b) with (8.13)",
                lambda case: _block_11(_State(case), second=False),
            ),
            Mistake(
                "coupling term missing",
                "The term h'(a_j) h'(a_j') sum_kk' w_kj w_k'j' M_kk' is missing: a change of "
                "a_j' moves every output pre-activation, and with it every delta_k.",
                "Exercise 8.6 (b)",
                lambda case: _block_11(_State(case), coupling=False),
            ),
            Mistake(
                "weights from the wrong columns of W2",
                "The weights of hidden unit j were taken from column j of W2, which holds "
                "the biases in column 0: hidden unit j sends through column j + 1.",
                "Exercise 8.6 (b) and (8.20)",
                lambda case: _block_11(_State(case), shift=True),
            ),
            Mistake(
                "curvature without -y y^T",
                "For softmax outputs this block uses M = diag(y): the part -y_k y_k' that "
                "couples the outputs is missing from M_kk'.",
                "Exercise 8.6 (b) with (8.34)",
                lambda case: _block_11(_State(case, curvature="diag y")),
            ),
            Mistake(
                "rows ordered (i, j)",
                "The entries are right but in the wrong places: rows and columns follow "
                "W1.ravel(), where w_ji sits at index j (D + 1) + i; here the input index i "
                "runs slowest.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_11(_State(case), order="ij"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the hidden biases w_j0 are wrong: a bias is the weight from the "
                "input x_0 = 1 (column 0 of the X1 that propagate returns), and it enters the "
                "sums over x_i x_i' with x_0 = 1.",
                "(8.18) and Exercise 8.6 (b)",
                lambda case: _block_11(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_11(_State(case)), "(8.1) and Exercise 8.6 (b)"),
        ]


@register
class HessianMixedBlock(_NetworkCheck):
    """Exercise 8.6 (c): the block for one weight of the first layer (rows) and one of the
    second layer (columns)."""

    name = "hessian_mixed_block"
    title = "Exact Hessian, block (c): one weight in each layer"
    equation = "Exercise 8.6 (c)"
    points = 3.0
    outputs = ("d2E/dW1 dW2",)

    def reference(self, case):
        return _hessian_blocks(case)["12"]

    def mistakes(self):
        return [
            Mistake(
                "delta term missing",
                "The term I_jj' delta_k is missing: the weight w_kj of hidden unit j also "
                "appears in delta_j = h'(a_j) sum_k w_kj delta_k itself.",
                "Exercise 8.6 (c) with (8.13)",
                lambda case: _block_12(_State(case), first=False),
            ),
            Mistake(
                "curvature term missing",
                "The term z_j' sum_k' w_k'j M_k'k is missing: the second-layer weight w_kj' "
                "changes a_k, and with it every delta_k'.",
                "Exercise 8.6 (c)",
                lambda case: _block_12(_State(case), curvature=False),
            ),
            Mistake(
                "delta term in the bias column",
                "The term I_jj' delta_k sits one column too far left: hidden unit j is "
                "column j + 1 of W2, since column 0 holds the bias (z_0 = 1).",
                "Exercise 8.6 (c) and (8.20)",
                lambda case: _block_12(_State(case), column=0),
            ),
            Mistake(
                "transposed block",
                "This is the transpose of the block: its rows belong to the first-layer "
                "weights (W1.ravel()), its columns to the second-layer weights (W2.ravel()).",
                "Exercise 8.6 (c) and (8.37)",
                lambda case: _block_12(_State(case)).T,
            ),
            Mistake(
                "rows ordered (i, j)",
                "The rows are in the wrong order: they follow W1.ravel(), where w_ji sits at "
                "index j (D + 1) + i; here the input index i runs slowest.",
                "(8.37) and the conventions of the assignment",
                lambda case: _block_12(_State(case), order="ij"),
            ),
            Mistake(
                "bias unit dropped",
                "The entries of the biases are wrong: the hidden biases are weights from "
                "x_0 = 1 and the output biases weights from z_0 = 1 (column 0 of X1 and of "
                "Z1), and both units enter the formula like any other.",
                "(8.18), (8.20) and Exercise 8.6 (c)",
                lambda case: _block_12(_State(case, bias=False)),
            ),
            *_batch_mistakes(lambda case: _block_12(_State(case)), "(8.1) and Exercise 8.6 (c)"),
        ]


@register
class ExactHessian(_NetworkCheck):
    """The exact Hessian (8.37) of the two-layer network, assembled from the three blocks of
    Exercise 8.6 in the flat order ``[W1.ravel(), W2.ravel()]``."""

    name = "exact_hessian_assembled"
    title = "The exact Hessian, assembled from its blocks"
    equation = "(8.37) and Exercise 8.6"
    points = 2.0
    outputs = ("H",)

    def reference(self, case):
        return _full_hessian(case)

    def mistakes(self):
        def blocks(case, lower=True):
            s = _State(case)
            return _assemble(_block_11(s), _block_12(s), _block_22(s), lower=lower)

        def swapped(case):
            s = _State(case)
            H11, H12, H22 = _block_11(s), _block_12(s), _block_22(s)
            return np.block([[H22, H12.T], [H12, H11]])

        return [
            Mistake(
                "lower block empty",
                "The block below the diagonal is zero: H is symmetric, so the block for "
                "(second-layer, first-layer) pairs is the transpose of block (c).",
                "(8.37)",
                lambda case: blocks(case, lower=False),
            ),
            Mistake(
                "layers in the wrong order",
                "The second layer's weights come first here: the flat order is "
                "[W1.ravel(), W2.ravel()], so block (b) is the top-left block.",
                "(8.37) and the conventions of the assignment",
                swapped,
            ),
            *_batch_mistakes(blocks, "(8.1) and (8.37)"),
        ]


# -------------------------------------------------------- Exercise 8.7: skip-layer weights


@register
class ExactHessianSkipLayer(_NetworkCheck):
    """The exact Hessian of the network with skip-layer weights ``Ws`` from the inputs to
    the outputs (Exercise 8.7), in the flat order ``[W1.ravel(), W2.ravel(), Ws.ravel()]``."""

    name = "exact_hessian_skip_layer"
    title = "The exact Hessian with skip-layer weights"
    equation = "Exercise 8.7"
    points = 3.0
    outputs = ("H",)
    inputs = ("W1", "W2", "Ws", "X", "T")

    def _case(self, rng, D, M, K, N, output):
        return _network_case(rng, D, M, K, N, output, skip=True)

    def reference(self, case):
        return _full_hessian(case)

    def student_function(self, answer):
        def function(W1, W2, Ws, X, T, output="linear"):
            return answer(Case("", (W1, W2, Ws, X, T), {"output": output}))

        return function

    def mistakes(self):
        def full(case, skip_in_outputs=True, delta_term=False, skip_blocks=True):
            s = _State(case, skip_in_outputs=skip_in_outputs)
            blocks = _skip_blocks(s, delta_term=delta_term)
            if not skip_blocks:
                blocks = {key: np.zeros_like(value) for key, value in blocks.items()}
            return _assemble(_block_11(s), _block_12(s), _block_22(s), blocks)

        return [
            Mistake(
                "skip term missing from the outputs",
                "The output pre-activations lack the skip term sum_i w_ki^(s) x_i, so delta_k "
                "and M_kk' belong to another network: compute them from the full a_k.",
                "Exercise 8.7 and Exercise 8.4",
                lambda case: full(case, skip_in_outputs=False),
            ),
            Mistake(
                "delta term in the skip/first-layer block",
                "The skip/first-layer block has a term delta_k, as block (c) has: a skip "
                "weight does not appear in the backpropagation (8.13) of any hidden delta, "
                "so that block has the curvature term only.",
                "Exercise 8.7 and Exercise 8.6 (c)",
                lambda case: full(case, delta_term=True),
            ),
            Mistake(
                "skip blocks missing",
                "Every block that involves a skip-layer weight is zero: a skip weight w_ki^(s) "
                "acts like a second-layer weight whose input is x_i instead of z_j.",
                "Exercise 8.7",
                lambda case: full(case, skip_blocks=False),
            ),
            *_batch_mistakes(full, "(8.1) and Exercise 8.7"),
        ]


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
        return [_plain(_network_case(rng, *plan, output=self.output)) for plan in plans]

    def visible_cases(self, rng):
        plans = [(2, 2, 3, 3), (1, 3, 2, 2)]
        return [_plain(_network_case(rng, *plan, output=self.output)) for plan in plans]

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


def _plain(case: Case) -> Case:
    """The case without keywords: the outer-product tasks take ``(W1, W2, X, T)``."""
    return Case(case.name, case.args)


@register
class OuterProductHessianLinear(_OuterProductCheck):
    """The outer-product approximation for K linear outputs with sum-of-squares error
    (Exercise 8.8): ``sum_n sum_k grad a_nk grad a_nk^T``."""

    name = "outer_product_hessian_linear"
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


# ----------------------------------------------- Exercise 8.12: the sequential inverse


def _update_inverse(
    B: np.ndarray, alpha: float, start_inverted: bool, step, rows: slice = slice(None)
) -> np.ndarray:
    """Run a (possibly wrong) rank-one update ``step(H_inv, b)`` over the rows of ``B``."""
    W = B.shape[1]
    H_inv = np.eye(W) / alpha if start_inverted else alpha * np.eye(W)
    for b in B[rows]:
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
    inputs = ("B",)

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
        B, alpha = case.args
        return np.linalg.inv(alpha * np.eye(B.shape[1]) + B.T @ B)

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

        identity = "the rank-one (Sherman-Morrison) identity in Exercise 8.12"
        return [
            Mistake(
                "plus sign",
                "The correction is added: adding b b^T to H makes its inverse smaller, so "
                "the rank-one term is subtracted.",
                identity,
                lambda case: _update_inverse(*case.args, True, plus_sign),
            ),
            Mistake(
                "no denominator",
                "The correction (H^-1 b)(H^-1 b)^T is not divided by 1 + b^T H^-1 b.",
                identity,
                lambda case: _update_inverse(*case.args, True, no_denominator),
            ),
            Mistake(
                "denominator without the 1",
                "The denominator is b^T H^-1 b: it must be 1 + b^T H^-1 b.",
                identity,
                lambda case: _update_inverse(*case.args, True, denominator_without_one),
            ),
            Mistake(
                "started from alpha I",
                "The recursion updates the inverse, so it starts from (alpha I)^-1 = I / alpha, "
                "not from alpha I.",
                "Exercise 8.12",
                lambda case: _update_inverse(*case.args, False, _sherman_morrison),
            ),
            Mistake(
                "last update skipped",
                "The last row of B never entered: one rank-one update per vector b_l, "
                "l = 1, ..., L, the last one included.",
                "Exercise 8.12",
                lambda case: _update_inverse(*case.args, True, _sherman_morrison, slice(None, -1)),
            ),
        ]


# ------------------------------------------------ Hessian-vector products: the R-operator


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
    title = "Hessian-vector product by the R-operator"
    equation = "(8.18)-(8.23) and Section 8.1.6 (H v in O(W))"
    points = 2.0
    outputs = ("H v",)
    inputs = ("W1", "W2", "X", "T", "v")

    def cases(self, rng):
        plans = [(1, 1, 1, 1), (2, 3, 2, 4)] + [
            tuple(sizes(rng, 1, 3, 3)) + (sizes(rng, 2, 5)[0],) for _ in range(4)
        ]
        return [self._case(rng, plan) for plan in plans]

    def visible_cases(self, rng):
        """Three networks with two or three hidden units, outputs and data points: enough
        for every modelled mistake to give its own answer."""
        return [self._case(rng, plan) for plan in [(2, 2, 2, 3), (1, 3, 2, 2), (3, 2, 1, 4)]]

    @staticmethod
    def _case(rng, plan) -> Case:
        case = _network_case(rng, *plan)
        v = normal(rng, _flat(case).size)
        return Case(case.name, (*case.args, v))

    def reference(self, case):
        return _sum_of_squares_hessian(case) @ case.args[4]

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


__all__ = [
    "OUTPUTS",
    "DiagonalHessian",
    "ExactHessian",
    "ExactHessianSkipLayer",
    "HessianFirstLayerBlock",
    "HessianMixedBlock",
    "HessianSecondLayerBlock",
    "HessianVectorProduct",
    "OutputErrorDerivatives",
    "OutputGradients",
    "SequentialInverseHessian",
]
