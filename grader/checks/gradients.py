"""Checks for the assignment on evaluating gradients (Sections 8.1-8.1.2, Exercises 8.1-8.2).

Conventions shared by the checks: rows are data points (``X`` is ``(N, D)``, ``T`` is
``(N, K)``), errors are summed over the batch (8.1), and weights keep the index order of the
equations (``W[j, i] = w_ji``).

The network of Algorithm 8.1 is plain data: ``P`` nodes in topological order, first the
``D`` inputs (the columns of ``X``), then the ``H`` hidden units, then the ``K`` linear
outputs.  ``W`` is ``(P, P)`` with ``W[j, i] = w_ji`` for a connection from node ``i`` to
node ``j`` (so ``i < j``) and zero where there is none; ``activations`` names the hidden
units' activation functions, one per unit.  A case stores the names as one space-separated
string (cases hold arrays and strings only); the student's function receives a list.

The layered backpropagation ends with a case that measures the cost of the method (Section
8.1.4), as the two-layer network's does: W = 82,410 weights, where backpropagation takes
milliseconds and W evaluations of the error minutes.  Algorithm 8.1 on a network given
unit by unit has none: there an honest implementation may loop over units and connections
in Python, and no time budget lets such a loop pass while failing finite differences
written with NumPy (see ``tests/grader/test_cost_cases.py``).
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.dag_backprop import Network, Unit, forward
from autodiff.core import value_of
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.two_layer import COST_REASON
from grader.framework import AnswerShapeError, Case, Check, Mistake

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu")
"""The activations the random cases draw from (``identity`` is allowed but not drawn: a
linear unit cannot reveal a missing derivative)."""

_ANP_ACTIVATIONS = {
    "tanh": anp.tanh,
    "sigmoid": anp.sigmoid,
    "relu": anp.relu,
    "softplus": anp.softplus,
    "identity": lambda a: a,
}

_NP_ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (
        lambda a: 1.0 / (1.0 + np.exp(-a)),
        lambda a: np.exp(-a) / (1.0 + np.exp(-a)) ** 2,
    ),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "softplus": (lambda a: np.logaddexp(0.0, a), lambda a: 1.0 / (1.0 + np.exp(-a))),
    "identity": (lambda a: a, np.ones_like),
}


# --- the single-layer model (8.2)-(8.4) --------------------------------------------------


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
    inputs = ("W", "X", "T")

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
    title = "Gradient of a single-layer model with a canonical link"
    equation = "(8.4) and (8.11)"
    points = 2.0
    outputs = ("dE/dW",)
    inputs = ("W", "X", "T")

    def cases(self, rng):
        plan = [
            ("linear", False),
            ("sigmoid", False),
            ("softmax", False),
            ("sigmoid", True),
            ("softmax", True),
            ("softmax", False),
        ]
        cases = []
        for i, (output, soft) in enumerate(plan):
            K, D, N = sizes(rng, 2, 4, 3)
            if i == 1:
                K, N = 1, 1  # one sigmoid output, one data point
            scale = 2.0 if i == 5 else 1.0  # larger logits: a confident softmax
            W, X = normal(rng, K, D, scale=scale), normal(rng, N, D)
            T = _canonical_targets(rng, N, K, output, soft)
            targets = "soft targets" if soft else "0/1 targets"
            if output == "linear":
                targets = "real targets"
            label = f"{output} outputs, K={K}, D={D}, N={N}, {targets}"
            cases.append(Case(label, (W, X, T), {"output": output}))
        return cases

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
        ]


# --- Algorithm 8.1 on a network given as plain data ---------------------------------------


def _structure(W: np.ndarray, D: int, H: int) -> tuple[int, int, int]:
    """``(P, D, H)`` after checking that ``W`` describes a feed-forward network."""
    P = W.shape[0]
    if W.shape != (P, P) or np.any(np.triu(W) != 0) or np.any(W[:D] != 0):
        raise ValueError("W must be (P, P), strictly lower triangular, with empty input rows")
    return P, D, H


def _dag_values(W, X, names):
    """Forward propagation (8.5), (8.6) written with ``anp``: the node values ``z`` (a list
    of ``(N,)`` columns) and the pre-activations ``a`` (inputs carry ``x`` in both)."""
    P, D, H = _structure(np.asarray(value_of(W)), X.shape[1], len(names))
    structure = np.asarray(value_of(W)) != 0
    z = [X[:, i] for i in range(D)]
    a = list(z)
    for j in range(D, P):
        a_j = sum(z[i] * W[j, i] for i in np.flatnonzero(structure[j]))
        a.append(a_j)
        z.append(_ANP_ACTIVATIONS[names[j - D]](a_j) if j < D + H else a_j)
    return a, z


def _dag_error(W, X, T, names):
    """Sum-of-squares error (8.3) of the linear output units, summed over the batch (8.1)."""
    _, z = _dag_values(W, X, names)
    Y = anp.stack(z[X.shape[1] + len(names) :], axis=1)
    return 0.5 * anp.sum((Y - T) ** 2)


_dag_gradient = autodiff.grad(_dag_error)


def dag_as_network(W: np.ndarray, names: list[str], D: int) -> tuple[Network, np.ndarray]:
    """The plain-data network as an ``autodiff.algorithms.dag_backprop.Network`` with linear
    outputs, and its weight vector."""
    P, H = W.shape[0], len(names)
    node = [f"x{i}" for i in range(D)] + [f"u{j}" for j in range(D, P)]

    def unit(j: int, activation: str | None) -> Unit:
        return Unit(node[j], tuple(node[i] for i in np.flatnonzero(W[j])), activation)

    hidden = [unit(j, names[j - D]) for j in range(D, D + H)]
    outputs = [unit(j, None) for j in range(D + H, P)]
    network = Network(node[:D], hidden, outputs, output="linear")
    index = {name: j for j, name in enumerate(node)}
    w = np.array([W[index[j], index[i]] for j, i in network.connections])
    return network, w


def dag_forward_reference(W: np.ndarray, names: list[str], X: np.ndarray):
    """``(A, Z)``, each ``(N, P)``, by ``autodiff.algorithms.dag_backprop.forward``; the
    input columns of both hold ``X``."""
    network, w = dag_as_network(W, names, X.shape[1])
    fp = forward(network, w, X)
    columns = [network.nodes.index(f"x{i}") for i in range(X.shape[1])]
    columns += [network.nodes.index(f"u{j}") for j in range(X.shape[1], W.shape[0])]
    A, Z = fp.a[:, columns], fp.z[:, columns]
    A[:, : X.shape[1]] = X
    return A, Z


def _random_dag(rng, D, H, K, density=0.6):
    """A random feed-forward network: each unit receives from a non-empty random set of
    earlier inputs and hidden units (never from outputs), and every hidden unit sends to at
    least one later unit; weights ``N(0, 1 / fan-in)``."""
    P = D + H + K
    W = np.zeros((P, P))
    for j in range(D, P):
        senders = np.arange(min(j, D + H))
        chosen = senders[rng.random(senders.size) < density]
        if chosen.size == 0:
            chosen = rng.choice(senders, 1)
        W[j, chosen] = rng.normal(0.0, 1.0 / np.sqrt(chosen.size), chosen.size)
    for j in range(D, D + H):
        if not np.any(W[j + 1 :, j]):
            k = int(rng.integers(j + 1, P))
            W[k, j] = rng.normal()
    return W


def _figure_dag(rng):
    """The shape of Figure 8.1, plus skip connections: unit 3 (after inputs 0-2, with
    x_0 = 1 as a bias) feeds hidden unit 4 and both outputs; input 1 skips to output 5."""
    D, H, K = 3, 2, 2
    W = np.zeros((D + H + K, D + H + K))
    for j, senders in {3: (0, 1, 2), 4: (0, 2, 3), 5: (0, 1, 3, 4), 6: (0, 3, 4)}.items():
        W[j, list(senders)] = rng.normal(0.0, 1.0, len(senders))
    return W, D, H, K


def _dag_plan(rng, i):
    """``(W, D, H, K, N, bias, names)`` for case ``i`` (``names`` None: drawn at random).

    Case 0 is built so that every modelled mistake of Algorithm 8.1 gives its own answer:
    two smooth hidden units in a chain, the first sending to the second and to both
    outputs, the second to one output, and a skip connection from the input to an output.
    Case 1 has the shape of Figure 8.1 with skip connections; then random networks."""
    if i == 0:
        W = np.zeros((5, 5))
        for j, k in [(1, 0), (2, 1), (3, 0), (3, 1), (4, 1), (4, 2)]:
            W[j, k] = rng.normal()
        return W, 1, 2, 2, 2, False, ["tanh", "sigmoid"]
    if i == 1:
        W, D, H, K = _figure_dag(rng)
        return W, D, H, K, int(sizes(rng, 3, 6)[0]), True, None
    D, H, K = sizes(rng, 2, 3)[0], sizes(rng, 2, 5)[0], sizes(rng, 1, 3)[0]
    return _random_dag(rng, D, H, K), D, H, K, int(sizes(rng, 2, 7)[0]), i % 2 == 0, None


def _activation_names(rng: np.random.Generator, H: int) -> list[str]:
    """``H`` activation names, neighbours different: shuffled rounds of
    :data:`HIDDEN_ACTIVATIONS`."""
    names: list[str] = []
    while len(names) < H:
        names += [str(n) for n in rng.permutation(HIDDEN_ACTIVATIONS)]
    return names[:H]


def _dag_cases(rng, count, with_targets):
    cases = []
    for i in range(count):
        W, D, H, K, N, bias, names = _dag_plan(rng, i)
        names = names or _activation_names(rng, H)
        X = normal(rng, N, D)
        if bias:
            X[:, 0] = 1.0
        args = (W, X, normal(rng, N, K)) if with_targets else (W, X)
        label = (
            f"D={D} inputs{' (x_0 = 1, a bias)' if bias else ''}, hidden units "
            f"[{', '.join(names)}], K={K} outputs, {int(np.count_nonzero(W))} "
            f"connections, N={N} points"
        )
        cases.append(Case(label, args, {"activations": " ".join(names)}))
    return cases


class _DagCheck(Check):
    """A check whose student function is ``f(W, activations, X, ...)`` with a list of
    activation names; cases store the names as one string."""

    caller = "dag"
    inputs = ("W", "X", "T")

    def student_function(self, answer):
        def function(W, activations, *rest):
            return answer(Case("", (W, *rest), {"activations": " ".join(activations)}))

        return function


def _names(case: Case) -> list[str]:
    return case.kwargs["activations"].split()


def _numpy_forward(W, names, X, *, send_a=False, one_activation=False, shift=0):
    """Forward propagation in NumPy with switches that model mistakes: sending the
    pre-activations ``a_i`` on instead of ``z_i``, one activation for every unit, and the
    activation list read ``shift`` places off (unit ``D + m`` uses ``names[m - shift]``)."""
    P, D, H = W.shape[0], X.shape[1], len(names)
    A = np.zeros((X.shape[0], P))
    Z = np.zeros_like(A)
    A[:, :D] = Z[:, :D] = X
    for j in range(D, P):
        A[:, j] = (A if send_a else Z)[:, :j] @ W[j, :j]
        if j < D + H:
            name = names[0] if one_activation else names[j - D - shift]
            Z[:, j] = _NP_ACTIVATIONS[name][0](A[:, j])
        else:
            Z[:, j] = A[:, j]  # linear outputs
    return A, Z


@register
class DagForward(_DagCheck):
    """Forward propagation (8.5), (8.6) through a feed-forward network of arbitrary topology
    with a different activation function per hidden unit; linear outputs."""

    name = "dag_forward"
    title = "Forward propagation through a feed-forward network"
    equation = "(8.5) and (8.6)"
    points = 1.0
    outputs = ("A", "Z")

    def cases(self, rng):
        return _dag_cases(rng, 6, with_targets=False)

    def reference(self, case):
        W, X = case.args
        return dag_forward_reference(W, _names(case), X)

    def mistakes(self):
        def zero_input_columns(case):
            W, X = case.args
            A, Z = dag_forward_reference(W, _names(case), X)
            A[:, : X.shape[1]] = 0.0
            return A, Z

        return [
            Mistake(
                "pre-activations sent on",
                "Each unit summed the pre-activations a_i of its senders: (8.5) sums their "
                "activations z_i = h(a_i).",
                "(8.5) and (8.6)",
                lambda case: _numpy_forward(case.args[0], _names(case), case.args[1], send_a=True),
            ),
            Mistake(
                "one activation for all units",
                "Every hidden unit used the first activation of the list: unit D + m uses "
                "activations[m], its own h.",
                "(8.6) and the end of Section 8.1.2",
                lambda case: _numpy_forward(
                    case.args[0], _names(case), case.args[1], one_activation=True
                ),
            ),
            Mistake(
                "activation of the neighbouring unit",
                "Each hidden unit used the activation function of the unit before it "
                "(activations[m - 1] for unit D + m): unit D + m has its own, activations[m].",
                "(8.6) and the end of Section 8.1.2",
                lambda case: _numpy_forward(case.args[0], _names(case), case.args[1], shift=1),
            ),
            Mistake(
                "input columns of A empty",
                "The input columns of A are zero: by the convention of this task, the first D "
                "columns of A and of Z both hold the inputs x.",
                "the description of the task",
                zero_input_columns,
            ),
        ]


def _numpy_backprop(
    W,
    names,
    X,
    T,
    *,
    derivative=True,
    last_child_only=False,
    hidden_deltas=True,
    send_a=False,
    slope_of_z=False,
    forward_order=False,
    skip_first=False,
):
    """Algorithm 8.1 in NumPy, summed over the batch (8.14), with switches that model
    mistakes: no ``h'(a_j)``, only the last child ``k`` in (8.13), hidden deltas left at zero
    (a sum over the wrong index of ``w``), ``a_i`` in place of ``z_i`` in (8.10), the slope
    evaluated at ``z_j`` instead of ``a_j``, the hidden units visited in forward instead of
    reverse order, and the first hidden unit left out of the loop."""
    D, H = X.shape[1], len(names)
    A, Z = _numpy_forward(W, names, X)
    delta = np.zeros_like(A)
    delta[:, D + H :] = Z[:, D + H :] - T
    units = range(D + 1 if skip_first else D, D + H)
    for j in units if forward_order else reversed(units):
        if not hidden_deltas:
            break
        children = np.flatnonzero(W[:, j])
        if last_child_only:
            children = children[-1:]
        back = delta[:, children] @ W[children, j]
        slope = _NP_ACTIVATIONS[names[j - D]][1]((Z if slope_of_z else A)[:, j])
        delta[:, j] = slope * back if derivative else back
    return (delta.T @ (A if send_a else Z)) * (W != 0)


@register
class DagBackprop(_DagCheck):
    """Algorithm 8.1 on a feed-forward network of arbitrary topology (skip connections, a
    different activation per hidden unit, linear outputs, sum-of-squares error), summed over
    the batch (8.14): dE/dW, zero where there is no connection."""

    name = "dag_backprop"
    title = "Backpropagation through a feed-forward network (Algorithm 8.1)"
    equation = "(8.10)-(8.14)"
    points = 3.0
    outputs = ("dE/dW",)

    def cases(self, rng):
        return _dag_cases(rng, 7, with_targets=True)

    def reference(self, case):
        W, X, T = case.args
        return _dag_gradient(W, X, T, _names(case))

    def mistakes(self):
        def model(**switches):
            return lambda case: _numpy_backprop(
                case.args[0], _names(case), *case.args[1:], **switches
            )

        def last_point(case):
            W, X, T = case.args
            return _dag_gradient(W, X[-1:], T[-1:], _names(case))

        return [
            Mistake(
                "missing activation derivative",
                "The hidden deltas lack the factor h'(a_j) of their own unit: (8.13) "
                "multiplies the backpropagated sum by the slope of unit j's activation.",
                "(8.13)",
                model(derivative=False),
            ),
            Mistake(
                "one child only",
                "A hidden delta came from one unit k only (the last one it sends to), as if "
                "the contributions overwrote each other: (8.13) SUMS w_kj delta_k over every "
                "unit k that unit j sends to, skip connections included.",
                "(8.12) and (8.13)",
                model(last_child_only=True),
            ),
            Mistake(
                "hidden deltas zero",
                "All hidden deltas are zero, so only the weights into the outputs have a "
                "gradient. A sum along row j of W (the units that send to j, whose deltas are "
                "still zero) does this: (8.13) sums w_kj delta_k over the units k that j "
                "sends to, the first index of w_kj.",
                "(8.13) and Algorithm 8.1",
                model(hidden_deltas=False),
            ),
            Mistake(
                "deltas in forward order",
                "The hidden units were visited in increasing order, so a unit's delta was "
                "formed before the deltas of the hidden units it sends to existed: Algorithm "
                "8.1 visits them in reverse order.",
                "(8.13) and Algorithm 8.1",
                model(forward_order=True),
            ),
            Mistake(
                "first hidden unit skipped",
                "The first hidden unit's delta stayed zero (the loop over hidden units starts "
                "one unit late): every hidden unit j = D, ..., D + H - 1 gets its delta.",
                "(8.13) and Algorithm 8.1",
                model(skip_first=True),
            ),
            Mistake(
                "slope at z",
                "The slope h' was evaluated at the activation z_j = h(a_j): (8.13) takes it at "
                "the pre-activation, h'(a_j).",
                "(8.13)",
                model(slope_of_z=True),
            ),
            Mistake(
                "pre-activation in (8.10)",
                "The derivative of w_ji used the pre-activation a_i of the sending unit: "
                "(8.10) multiplies delta_j by its activation z_i = h(a_i).",
                "(8.9) and (8.10)",
                model(send_a=True),
            ),
            Mistake(
                "last point only",
                "This is the gradient of the last data point alone (overwritten in a loop?): "
                "the gradient of E sums the per-point gradients over the batch.",
                "(8.14)",
                last_point,
            ),
            Mistake(
                "mean instead of sum",
                "This is the gradient averaged over the data points: E is a sum, and (8.14) "
                "adds the per-point gradients (no division by N).",
                "(8.1) and (8.14)",
                lambda case: _dag_gradient(*case.args, _names(case)) / case.args[1].shape[0],
            ),
        ]


# --- the layered matrix form (Exercise 8.2) -----------------------------------------------

MAX_LAYERS = 4
"""The deepest network in the cases of ``layered_backprop``: an answer is split into this
many (weight, bias) gradient pairs, missing layers as empty arrays, so that a missing or an
extra layer never goes uncompared."""


def _layered_error(params, X, T, names):
    """Sum-of-squares error (8.3) of a layered network with linear outputs, summed over the
    batch (8.1): ``a^(l) = W^(l) z^(l-1) + b^(l)``, ``z^(l) = h_l(a^(l))``."""
    weights, biases = params
    Z = X
    for l, (W, b) in enumerate(zip(weights, biases)):
        A = Z @ anp.transpose(W) + b
        Z = _ANP_ACTIVATIONS[names[l]](A) if l < len(names) else A
    return 0.5 * anp.sum((Z - T) ** 2)


_layered_gradient = autodiff.grad(_layered_error)


LAYERED_COST_SIZES = (200, 200, 200, 10)
"""The layer sizes of the cost case of ``layered_backprop`` (with ``LAYERED_COST_POINTS``
data points): W = 82,410 weights; one evaluation of the error is N (sum of m_in m_out) =
2.5e7 multiply-adds, backpropagation about three of them, finite differences W or 2 W."""

LAYERED_COST_POINTS = 300

LAYERED_COST_SECONDS = 5.0
"""The time budget of that case: backpropagation takes about 10 ms, up to 0.5 s on two
cores loaded with other processes, a loop over the data points about 0.1 s; W evaluations
of the error take minutes (over one and a half even at 2e10 multiply-adds per second)."""


def _layered_case(rng, layer_sizes, N, label_prefix="", seconds=None) -> Case:
    """A layered network of the given sizes, weights ``N(0, 1 / fan-in)``, and ``N`` points;
    hidden activations drawn with neighbours different."""
    L = len(layer_sizes) - 1
    names = _activation_names(rng, L - 1)
    flat = []
    for m_in, m_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        flat += [normal(rng, m_out, m_in, scale=1.0 / np.sqrt(m_in)), normal(rng, m_out)]
    X, T = normal(rng, N, layer_sizes[0]), normal(rng, N, layer_sizes[-1])
    label = (
        f"{label_prefix}L={L} layer{'s' if L > 1 else ''} of sizes {list(layer_sizes)}, "
        f"hidden activations [{', '.join(names)}], N={N} points"
    )
    if seconds is not None:
        W = sum(p.size for p in flat)
        label += (
            f", W={W:,} weights: backpropagation fits the {seconds:g} s budget, W "
            f"evaluations of the error do not"
        )
    return Case(label, (X, T, *flat), {"activations": " ".join(names)}, seconds=seconds)


def _layers(case: Case) -> tuple[np.ndarray, np.ndarray, list, list]:
    X, T, *flat = case.args
    return X, T, list(flat[0::2]), list(flat[1::2])


def _numpy_layered(case, *, transposed=False, derivative=True, shift=0):
    """The layered backward pass in NumPy with switches modelling an untransposed weight
    matrix in the backward step, a missing ``h'(a)``, and the slope of layer ``l - 1 +
    shift`` used for layer ``l - 1`` (an activation of the wrong layer)."""
    X, T, weights, biases = _layers(case)
    names = _names(case)
    A, Z = [], [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        A.append(Z[-1] @ W.T + b)
        Z.append(_NP_ACTIVATIONS[names[l]][0](A[-1]) if l < len(names) else A[-1])
    delta = Z[-1] - T
    dW, db = [], []
    for l in reversed(range(len(weights))):
        dW.insert(0, delta.T @ Z[l])
        db.insert(0, delta.sum(axis=0))
        if l > 0:
            back = delta @ (weights[l].T if transposed else weights[l])
            slope = _NP_ACTIVATIONS[names[(l - 1 + shift) % len(names)]][1](A[l - 1])
            delta = slope * back if derivative else back
    return dW, db


@register
class LayeredBackprop(Check):
    """Backpropagation in matrix form for a layered network (Exercise 8.2): transposed
    weight matrices carry the deltas back, outer products give the weight gradients, summed
    over the batch (8.14)."""

    name = "layered_backprop"
    title = "Backpropagation in matrix form for a layered network"
    equation = "Exercise 8.2, (8.10)-(8.14)"
    points = 3.0
    inputs = ("X", "T", "W^(1)", "b^(1)", "W^(2)", "b^(2)", "W^(3)", "b^(3)", "W^(4)", "b^(4)")
    outputs = tuple(f"dE/d{p}^({l})" for l in range(1, MAX_LAYERS + 1) for p in ("W", "b"))
    cost_reason = COST_REASON

    def cases(self, rng):
        cases = []
        for i, L in enumerate((1, 2, 3, 2, 4, 3)):
            if i in (1, 5):  # every layer square: a missing transpose keeps the shapes
                layer_sizes = [int(sizes(rng, 2, 4)[0])] * (L + 1)
            else:
                layer_sizes = sizes(rng, 1, 5, L + 1)
            N = 1 if i == 3 else int(sizes(rng, 2, 6)[0])
            cases.append(_layered_case(rng, layer_sizes, N))
        cost = _layered_case(
            rng, LAYERED_COST_SIZES, LAYERED_COST_POINTS, "cost: ", LAYERED_COST_SECONDS
        )
        return [*cases, cost]

    def visible_cases(self, rng):
        """Four small cases (depths 1 to 3, a square network, a single data point) and the
        cost case: a method that is too slow shows in the self-check, stopped at the
        case's budget."""
        cases = self.cases(rng)
        return [*cases[:4], cases[-1]]

    def reference(self, case):
        X, T, weights, biases = _layers(case)
        return _layered_gradient((weights, biases), X, T, _names(case))

    caller = "layered"

    def student_function(self, answer):
        def function(weights, biases, activations, X, T):
            flat = [p for pair in zip(weights, biases) for p in pair]
            return answer(Case("", (X, T, *flat), {"activations": " ".join(activations)}))

        return function

    def as_parts(self, answer):
        """``(weight_grads, bias_grads)`` as ``[dW1, db1, ..., dWL, dbL]`` padded with
        empty arrays to ``MAX_LAYERS`` layers."""
        if (
            not isinstance(answer, list)
            or len(answer) != 2
            or not all(isinstance(part, list) for part in answer)
            or len(answer[0]) != len(answer[1])
        ):
            raise AnswerShapeError(
                "expected a pair (weight_grads, bias_grads) of two lists with one array per "
                "layer each"
            )
        weight_grads, bias_grads = answer
        if len(weight_grads) > MAX_LAYERS:
            raise AnswerShapeError(
                f"expected one gradient per layer, got {len(weight_grads)} "
                f"(no test network has more than {MAX_LAYERS} layers)"
            )
        missing = [np.zeros(0)] * (2 * (MAX_LAYERS - len(weight_grads)))
        return [g for pair in zip(weight_grads, bias_grads) for g in pair] + missing

    def mistakes(self):
        def last_point(case):
            X, T, weights, biases = _layers(case)
            return _layered_gradient((weights, biases), X[-1:], T[-1:], _names(case))

        return [
            Mistake(
                "weight matrix not transposed",
                "The deltas went back through W^(l+1) the way the forward pass uses it: "
                "(8.13) sums over the FIRST index of w_kj, so the backward step multiplies "
                "by the transpose of the matrix that the forward step multiplies by.",
                "Exercise 8.2 and (8.13)",
                lambda case: _numpy_layered(case, transposed=True),
            ),
            Mistake(
                "slope of the wrong layer",
                "The backward step into layer l used the slope h' of layer l + 1's "
                "activation: each layer's deltas take the derivative of that layer's own "
                "function, h_l'(a^(l)).",
                "(8.13) and Exercise 8.2",
                lambda case: _numpy_layered(case, shift=1),
            ),
            Mistake(
                "missing activation derivative",
                "The backward step lacks the factor h'(a^(l)): multiply the backpropagated "
                "deltas elementwise by the slope of the layer's activation function.",
                "(8.13)",
                lambda case: _numpy_layered(case, derivative=False),
            ),
            Mistake(
                "last point only",
                "These are the gradients of the last data point alone: the gradient of E "
                "sums the per-point outer products over the batch, as (8.14) asks.",
                "(8.14)",
                last_point,
            ),
            Mistake(
                "mean instead of sum",
                "These are the gradients averaged over the data points: E is a sum, and "
                "(8.14) adds the per-point gradients (no division by N).",
                "(8.1) and (8.14)",
                lambda case: _scaled(
                    _layered_gradient(
                        (_layers(case)[2], _layers(case)[3]), *case.args[:2], _names(case)
                    ),
                    1.0 / case.args[0].shape[0],
                ),
            ),
        ]


def _scaled(gradients, factor):
    """``(weight_grads, bias_grads)`` times ``factor``."""
    weight_grads, bias_grads = gradients
    return [g * factor for g in weight_grads], [g * factor for g in bias_grads]
