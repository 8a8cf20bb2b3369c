"""Algorithm 8.1 on a network given as plain data (Section 8.1.2).

``W[j, i] = w_ji`` for a connection from node ``i`` to node ``j`` (nodes in topological
order: inputs, hidden units, linear outputs) and one named activation per hidden unit.
Forward propagation (8.5), (8.6) and backpropagation (8.10)-(8.14) summed over the batch,
with their references by ``autodiff`` on the network written with ``autodiff.numpy``; the
random networks (skip connections, the shape of Figure 8.1); the NumPy models of the typical
mistakes.  ``dag_backprop`` has a case that measures the cost of the method (Section 8.1.4):
a network of about 110,000 connections, where a loop over units (or even over connections and
data points) fits the budget and an evaluation of the error per weight does not.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.dag_backprop import Network, Unit, forward
from autodiff.core import value_of
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.checks.gradients.activations import (
    _ANP_ACTIVATIONS,
    _NP_ACTIVATIONS,
    _activation_names,
    _names,
)
from grader.checks.two_layer import COST_REASON
from grader.framework import Case, Check, Mistake

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


_dag_autodiff_gradient = autodiff.grad(_dag_error)

AUTODIFF_CONNECTIONS = 2_000
"""Up to this many connections the reference is ``autodiff`` on (8.5), (8.6) written unit by
unit; past it (the cost case: its tape would hold hundreds of thousands of scalar-sized
steps) Algorithm 8.1 in NumPy, which the tests hold to the same answers."""


def _dag_gradient(W, X, T, names):
    """dE/dW, zero where there is no connection: see ``AUTODIFF_CONNECTIONS``."""
    if np.count_nonzero(value_of(W)) <= AUTODIFF_CONNECTIONS:
        return _dag_autodiff_gradient(W, X, T, names)
    return _numpy_backprop(np.asarray(W), names, X, T)


DAG_COST_UNITS = (10, 600, 5)
"""Inputs, hidden units and outputs of the cost case of ``dag_backprop`` (with
``DAG_COST_POINTS`` data points): each unit receives from about 60% of the earlier ones,
about 110,000 connections in all."""

DAG_COST_POINTS = 5

DAG_COST_SECONDS = 5.0
"""The time budget of that case: Algorithm 8.1 with a loop over the 615 units takes tens of
milliseconds, a loop over every connection and data point well under a second; an
evaluation of the error costs a loop over the units, about a millisecond, so one or two per
weight take minutes (and perturbing every weight at once in one array needs gigabytes)."""


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


def _dag_cost_case(rng) -> Case:
    D, H, K = DAG_COST_UNITS
    W = _random_dag(rng, D, H, K)
    names = _activation_names(rng, H)
    X, T = normal(rng, DAG_COST_POINTS, D), normal(rng, DAG_COST_POINTS, K)
    label = (
        f"cost: D={D} inputs, H={H} hidden units, K={K} outputs, "
        f"{int(np.count_nonzero(W)):,} connections, N={DAG_COST_POINTS} points: "
        f"backpropagation fits the {DAG_COST_SECONDS:g} s budget, an evaluation of the "
        "error per weight does not"
    )
    return Case(label, (W, X, T), {"activations": " ".join(names)}, seconds=DAG_COST_SECONDS)


class _DagCheck(Check):
    """A check whose student function is ``f(W, activations, X, ...)`` with a list of
    activation names; cases store the names as one string."""

    caller = "dag"
    inputs = ("W", "X", "T")

    def student_function(self, answer):
        def function(W, activations, *rest):
            return answer(Case("", (W, *rest), {"activations": " ".join(activations)}))

        return function


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
    forbids = BY_HAND
    references = ("autodiff.algorithms.dag_backprop.forward",)
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
    forbids = BY_HAND
    references = ("autodiff.algorithms.dag_backprop.backprop",)
    title = "Backpropagation through a feed-forward network (Algorithm 8.1)"
    equation = "(8.10)-(8.14)"
    points = 3.0
    outputs = ("dE/dW",)

    cost_reason = COST_REASON

    def cases(self, rng):
        return [*_dag_cases(rng, 7, with_targets=True), _dag_cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: a method that is too slow shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

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
