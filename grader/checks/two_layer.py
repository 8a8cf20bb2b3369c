"""Checks for the assignment on the two-layer network (Section 8.1.3, Exercise 8.4).

Conventions shared by every check (those of ``autodiff.algorithms.network.TwoLayerNet``):
rows are data points, ``X`` is ``(N, D)``, ``T`` is ``(N, K)``, ``W1`` is ``(M, D)``, ``b1``
is ``(M,)``, ``W2`` is ``(K, M)``, ``b2`` is ``(K,)`` and the skip-layer weights ``Ws`` are
``(K, D)``.  The error is the sum-of-squares (8.17) summed over the batch (8.1).

The backpropagation tasks end with a case that measures the cost of the method (Section
8.1.4): a network of W = 93,310 weights (96,310 with the skip-layer weights) and N = 300
points, with a time budget of its own (``COST_SECONDS``).  Backpropagation costs about
three evaluations of the error and takes milliseconds; finite differences (central,
forward, or the complex step) evaluate the error once or twice per weight, O(W) evaluations
of O(W) operations each, and need minutes however they are vectorised.  (A perturbation that
recomputes only what one weight moves -- one hidden unit, its error signal summed through
the output weights as backpropagation sums it -- costs what backpropagation costs, and is
graded as what it is: the chain rule with a numerical derivative of the activation.)  The
measurements are in ``tests/grader/test_cost_cases.py``.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.network import TwoLayerNet
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import TWO_LAYER_BY_HAND
from grader.framework import Case, Check, Mistake


def _outputs(W1, b1, W2, b2, X, Ws=None):
    """Forward propagation (8.18)-(8.20) written with ``anp``, so that it can be traced."""
    Z = anp.tanh(X @ anp.transpose(W1) + b1)
    Y = Z @ anp.transpose(W2) + b2
    if Ws is not None:
        Y = Y + X @ anp.transpose(Ws)
    return Y


def _error(W1, b1, W2, b2, X, T):
    """Batch sum-of-squares error (8.17) summed over data points (8.1)."""
    return 0.5 * anp.sum((_outputs(W1, b1, W2, b2, X) - T) ** 2)


def _skip_error(W1, b1, W2, b2, Ws, X, T):
    """The same error with skip-layer weights from the inputs to the outputs (Exercise 8.4)."""
    return 0.5 * anp.sum((_outputs(W1, b1, W2, b2, X, Ws) - T) ** 2)


_gradient = autodiff.grad(_error, argnums=(0, 1, 2, 3))
_value_and_gradient = autodiff.value_and_grad(_error, argnums=(0, 1, 2, 3))
_skip_gradient = autodiff.grad(_skip_error, argnums=(0, 1, 2, 3, 4))


def _network(rng: np.random.Generator, D: int, M: int, K: int) -> tuple[np.ndarray, ...]:
    """``W1, b1, W2, b2`` with entries of unit size (saturated and linear tanh units both)."""
    return normal(rng, M, D), normal(rng, M), normal(rng, K, M), normal(rng, K)


def _network_sizes(rng: np.random.Generator, i: int) -> tuple[int, int, int, int]:
    """``D, M, K, N`` for case ``i``: the smallest network, a square one (D = M = K, where a
    transposed weight matrix still has the right shape), then random sizes."""
    if i == 0:
        return 1, 1, 1, 1
    if i == 1:
        n = sizes(rng, 2, 4)[0]
        return n, n, n, sizes(rng, 2, 6)[0]
    D, M, K = sizes(rng, 1, 5, 3)
    return D, M, K, sizes(rng, 2, 8)[0]


def _label(D: int, M: int, K: int, N: int) -> str:
    return f"D={D} inputs, M={M} hidden, K={K} outputs, N={N} points"


COST_SIZES = (300, 300, 10, 300)
"""``D, M, K, N`` of the cost cases: W = M D + M + K M + K = 93,310 weights (and K D = 3,000
skip-layer weights).  One evaluation of the error is N M (D + K) = 2.8e7 multiply-adds and
N M = 9e4 tanh; backpropagation costs about three of them, finite differences W (forward
differences, complex step) or 2 W (central differences)."""

COST_SECONDS = 5.0
"""The time budget of a cost case.  Backpropagation takes about 10 ms here, up to 0.5 s on
two cores loaded with other processes (NumPy's BLAS threads then wait for each other); a
loop over the data points 0.1-0.2 s.  W evaluations of the error take minutes: over two
even at 2e10 multiply-adds per second, more than two cores reach."""

COST_REASON = (
    "as costly as a few evaluations of the error (backpropagation: O(W) operations per data "
    "point), not one evaluation or two per weight (finite differences: O(W) evaluations of "
    "O(W) operations each)"
)


def _cost_case(rng: np.random.Generator, skip: bool = False) -> Case:
    """The case that measures the cost of the method: weights scaled by 1/sqrt(fan-in), so
    that the tanh units are neither all saturated nor all linear."""
    D, M, K, N = COST_SIZES
    args = (
        normal(rng, M, D, scale=1.0 / np.sqrt(D)),
        normal(rng, M, scale=0.5),
        normal(rng, K, M, scale=1.0 / np.sqrt(M)),
        normal(rng, K, scale=0.5),
    )
    if skip:
        args += (normal(rng, K, D, scale=1.0 / np.sqrt(D)),)
    args += (normal(rng, N, D), normal(rng, N, K))
    W = sum(a.size for a in args[:-2])
    label = (
        f"cost: {_label(D, M, K, N)}, W={W:,} weights: backpropagation fits the "
        f"{COST_SECONDS:g} s budget, W evaluations of the error do not"
    )
    return Case(label, args, seconds=COST_SECONDS)


TANH_TWICE = "tanh applied twice in h'"
TANH_TWICE_TEXT = (
    "The hidden deltas use 1 - tanh(z_j)^2, the slope of tanh at the hidden OUTPUT z_j = "
    "tanh(a_j): tanh was applied a second time. (8.16) writes the slope at a_j in terms of the "
    "value already computed, h'(a_j) = 1 - z_j^2."
)


def _hidden(W1, b1, X):
    return np.tanh(X @ W1.T + b1)


def _gradients_from_deltas(delta_hidden, delta_out, X, Z):
    """(8.23) summed over the batch (8.14): weight gradients from the deltas."""
    return (
        delta_hidden.T @ X,
        delta_hidden.sum(axis=0),
        delta_out.T @ Z,
        delta_out.sum(axis=0),
    )


@register
class TwoLayerForward(Check):
    """Forward propagation (8.18)-(8.20) for a batch: hidden activations and outputs."""

    name = "two_layer_forward"
    forbids = TWO_LAYER_BY_HAND
    references = ("autodiff.algorithms.network.TwoLayerNet.forward",)
    title = "Forward propagation of the two-layer network"
    equation = "(8.18)-(8.20)"
    points = 1.0
    outputs = ("Z", "Y")
    inputs = ("W1", "b1", "W2", "b2", "X")

    def cases(self, rng):
        cases = []
        for i in range(5):
            D, M, K, N = _network_sizes(rng, i)
            args = (*_network(rng, D, M, K), normal(rng, N, D))
            cases.append(Case(_label(D, M, K, N), args))
        return cases

    def reference(self, case):
        W1, b1, W2, b2, X = case.args
        _, Z, Y = TwoLayerNet(W1, b1, W2, b2).forward(X)
        return Z, Y

    def mistakes(self):
        def linear_hidden(case):
            W1, b1, W2, b2, X = case.args
            A = X @ W1.T + b1
            return A, A @ W2.T + b2

        def tanh_outputs(case):
            W1, b1, W2, b2, X = case.args
            Z = _hidden(W1, b1, X)
            return Z, np.tanh(Z @ W2.T + b2)

        def untransposed_weights(case):
            W1, b1, W2, b2, X = case.args
            Z = np.tanh(X @ W1 + b1)
            return Z, Z @ W2 + b2

        return [
            Mistake(
                "hidden units linear",
                "The hidden units are missing their tanh: z_j = tanh(a_j).",
                "(8.19)",
                linear_hidden,
            ),
            Mistake(
                "tanh on the outputs",
                "The outputs went through tanh as well, but they are linear: y_k = a_k.",
                "(8.20)",
                tanh_outputs,
            ),
            Mistake(
                "weights untransposed",
                "The weight matrices are applied untransposed: with data points as rows, "
                "(8.18) sums over the second index of w_ji, which is X @ W1.T.",
                "(8.18) and (8.20)",
                untransposed_weights,
            ),
        ]


@register
class TwoLayerBackprop(Check):
    """Backpropagation (8.21)-(8.23) for a batch: the gradients of ``W1, b1, W2, b2``."""

    name = "two_layer_backprop"
    forbids = TWO_LAYER_BY_HAND
    references = ("autodiff.algorithms.two_layer",)
    title = "Backpropagation in the two-layer network"
    equation = "(8.21)-(8.23)"
    points = 3.0
    outputs = ("dE/dW1", "dE/db1", "dE/dW2", "dE/db2")
    inputs = ("W1", "b1", "W2", "b2", "X", "T")
    cost_reason = COST_REASON

    def cases(self, rng):
        cases = []
        for i in range(6):
            D, M, K, N = _network_sizes(rng, i)
            args = (*_network(rng, D, M, K), normal(rng, N, D), normal(rng, N, K))
            cases.append(Case(_label(D, M, K, N), args))
        return [*cases, _cost_case(rng)]

    def visible_cases(self, rng):
        """Three small cases and the cost case: a method that is too slow shows in the
        self-check, stopped at the case's budget."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        return _gradient(*case.args)

    def mistakes(self):
        def deltas(case, *, derivative=True, transposed=False, sign=1.0, tanh_of_z=False):
            W1, b1, W2, b2, X, T = case.args
            Z = _hidden(W1, b1, X)
            delta_out = sign * (Z @ W2.T + b2 - T)
            back = delta_out @ (W2.T if transposed else W2)
            slope = 1.0 - np.tanh(Z) ** 2 if tanh_of_z else 1.0 - Z**2
            delta_hidden = slope * back if derivative else back
            return _gradients_from_deltas(delta_hidden, delta_out, X, Z)

        def first_point(case):
            W1, b1, W2, b2, X, T = case.args
            return _gradient(W1, b1, W2, b2, X[:1], T[:1])

        def mean(case):
            N = case.args[4].shape[0]
            return tuple(g / N for g in _gradient(*case.args))

        return [
            Mistake(
                "missing activation derivative",
                "The hidden deltas lack the factor h'(a_j) = 1 - z_j^2: the backpropagated "
                "sum must be multiplied by the derivative of tanh.",
                "(8.16) and (8.22)",
                lambda case: deltas(case, derivative=False),
            ),
            Mistake(
                TANH_TWICE,
                TANH_TWICE_TEXT,
                "(8.16) and (8.22)",
                lambda case: deltas(case, tanh_of_z=True),
            ),
            Mistake(
                "transposed second-layer weights",
                "The output deltas were sent back through the transpose of the right matrix: "
                "(8.22) sums over the FIRST index k of w_kj, which with rows as data points is "
                "delta_out @ W2.",
                "(8.22)",
                lambda case: deltas(case, transposed=True),
            ),
            Mistake(
                "error signal t - y",
                "The output error signal has the wrong sign: delta_k = y_k - t_k, not t_k - y_k.",
                "(8.21)",
                lambda case: deltas(case, sign=-1.0),
            ),
            Mistake(
                "first point only",
                "These are the gradients of the first data point alone: the gradient of E is "
                "the sum of the per-point gradients.",
                "(8.14)",
                first_point,
            ),
            Mistake(
                "mean instead of sum",
                "These are the gradients averaged over the data points: E in (8.1) is a sum, "
                "so its gradient is the sum of the per-point gradients (no division by N).",
                "(8.1) and (8.14)",
                mean,
            ),
        ]


@register
class TwoLayerGradientDescent(Check):
    """Batch gradient descent with the backpropagated gradients: the parameters after
    ``steps`` updates ``w <- w - eta grad E`` and the error before each update and at the end."""

    name = "two_layer_gradient_descent"
    forbids = TWO_LAYER_BY_HAND
    references = ("autodiff.algorithms.two_layer",)
    title = "Training the two-layer network by gradient descent"
    equation = "(8.1), (8.14) and (8.21)-(8.23)"
    points = 2.0
    outputs = ("W1", "b1", "W2", "b2", "losses")
    inputs = ("W1", "b1", "W2", "b2", "X", "T")
    rtol = 1e-4
    """Up to 30 updates carry the rounding of the student's gradients into the parameters: a
    backpropagation that answers in single precision (accepted by its own task) moves them
    by about 1e-5 of their size, and every mistake modelled below by far more."""

    def cases(self, rng):
        cases = []
        for i in range(5):
            D, M, K = (1, sizes(rng, 2, 6)[0], 1) if i < 3 else sizes(rng, 1, 3, 3)
            N = sizes(rng, 5, 15)[0]
            steps = 0 if i == 0 else sizes(rng, 10, 30)[0]
            X = rng.uniform(-1.0, 1.0, (N, D))
            T = np.sin(np.pi * X[:, :1]) + normal(rng, N, K, scale=0.1)
            eta = float(rng.uniform(0.1, 0.4)) / N
            args = (*_network(rng, D, M, K), X, T, eta, steps)
            label = f"{_label(D, M, K, N)}, learning rate {eta:.3g}, {steps} steps"
            cases.append(Case(label, args))
        return cases

    def visible_cases(self, rng):
        return self.cases(rng)[1:4]

    def reference(self, case):
        return _descend(case)

    def mistakes(self):
        return [
            Mistake(
                "gradient ascent",
                "The parameters moved along +grad E, uphill: gradient descent subtracts the "
                "learning rate times the gradient.",
                "the update rule in the task: W <- W - learning_rate * dE/dW",
                lambda case: _descend(case, direction=+1.0),
            ),
            Mistake(
                "mean gradient",
                "The updates used the gradient averaged over the data points: E is the sum "
                "of the E_n, so the step is eta times the summed gradient.",
                "(8.1) and (8.14)",
                lambda case: _descend(case, scale=1.0 / case.args[4].shape[0]),
            ),
            Mistake(
                "losses after the steps only",
                "The list of errors misses the error of the initial parameters: it should "
                "hold steps + 1 values, E before the first update and after every update.",
                "the description of `losses` in the task",
                _losses_after_steps_only,
            ),
        ]


def _descend(case: Case, direction: float = -1.0, scale: float = 1.0) -> tuple:
    """Gradient descent with the ``autodiff`` gradient; ``direction`` and ``scale`` model
    an uphill step and a mean gradient."""
    W1, b1, W2, b2, X, T, eta, steps = case.args
    params = (W1, b1, W2, b2)
    losses = []
    for _ in range(steps):
        value, grads = _value_and_gradient(*params, X, T)
        losses.append(float(value))
        params = tuple(p + direction * scale * eta * g for p, g in zip(params, grads))
    losses.append(float(_error(*params, X, T)))
    return (*params, np.array(losses))


def _losses_after_steps_only(case: Case) -> tuple:
    *params, losses = _descend(case)
    return (*params, losses[1:])


@register
class SkipLayerBackprop(Check):
    """Backpropagation with skip-layer weights from the inputs to the outputs (Exercise 8.4):
    the gradients of ``W1, b1, W2, b2, Ws`` for a batch."""

    name = "skip_layer_backprop"
    forbids = TWO_LAYER_BY_HAND
    references = ("autodiff.algorithms.two_layer",)
    title = "Backpropagation with skip-layer weights"
    equation = "Exercise 8.4, (8.10) and (8.21)-(8.23)"
    points = 3.0
    outputs = ("dE/dW1", "dE/db1", "dE/dW2", "dE/db2", "dE/dWs")
    inputs = ("W1", "b1", "W2", "b2", "Ws", "X", "T")
    cost_reason = COST_REASON

    def cases(self, rng):
        cases = []
        for i in range(6):
            D, M, K, N = _network_sizes(rng, i)
            args = (
                *_network(rng, D, M, K),
                normal(rng, K, D),
                normal(rng, N, D),
                normal(rng, N, K),
            )
            cases.append(Case(_label(D, M, K, N), args))
        return [*cases, _cost_case(rng, skip=True)]

    def visible_cases(self, rng):
        """Three small cases and the cost case (as for ``two_layer_backprop``)."""
        cases = self.cases(rng)
        return [*cases[:3], cases[-1]]

    def reference(self, case):
        return _skip_gradient(*case.args)

    def mistakes(self):
        def parts(case, *, skip_in_outputs=True, tanh_of_z=False):
            W1, b1, W2, b2, Ws, X, T = case.args
            Z = _hidden(W1, b1, X)
            Y = Z @ W2.T + b2 + (X @ Ws.T if skip_in_outputs else 0.0)
            delta_out = Y - T
            slope = 1.0 - np.tanh(Z) ** 2 if tanh_of_z else 1.0 - Z**2
            delta_hidden = slope * (delta_out @ W2)
            return X, Z, delta_hidden, delta_out

        def tanh_twice(case):
            X, Z, delta_hidden, delta_out = parts(case, tanh_of_z=True)
            return (*_gradients_from_deltas(delta_hidden, delta_out, X, Z), delta_out.T @ X)

        def no_skip_in_outputs(case):
            X, Z, delta_hidden, delta_out = parts(case, skip_in_outputs=False)
            return (*_gradients_from_deltas(delta_hidden, delta_out, X, Z), delta_out.T @ X)

        def skip_from(which):
            def model(case):
                X, Z, delta_hidden, delta_out = parts(case)
                W2 = case.args[2]
                dWs = {
                    "hidden deltas": lambda: delta_hidden.T @ X,
                    "hidden deltas sent on": lambda: W2 @ (delta_hidden.T @ X),
                    "hidden activations": lambda: delta_out.T @ Z,
                }[which]()
                return (*_gradients_from_deltas(delta_hidden, delta_out, X, Z), dWs)

            return model

        return [
            Mistake(
                "skip contribution missing from the outputs",
                "The outputs lack the skip-layer term: y_k = sum_j w_kj z_j + sum_i w_ki^(s) x_i "
                "(plus bias), and the deltas y_k - t_k must be computed from these outputs.",
                "Exercise 8.4 and (8.20)-(8.21)",
                no_skip_in_outputs,
            ),
            Mistake(
                "skip gradient from hidden deltas",
                "dE/dWs was built from the hidden deltas: a skip weight ends at an OUTPUT unit, "
                "so its derivative is delta_k x_i with the output delta.",
                "(8.10) and (8.21)",
                skip_from("hidden deltas"),
            ),
            Mistake(
                "skip gradient from hidden deltas sent on",
                "dE/dWs was built from the hidden deltas, carried on to the outputs through W2 "
                "(W2 times the first-layer gradient): a skip weight w_ki^(s) ends at output k, so "
                "its derivative is the OUTPUT delta delta_k times the input x_i, with no hidden "
                "unit in between.",
                "(8.10) and (8.21)",
                skip_from("hidden deltas sent on"),
            ),
            Mistake(
                TANH_TWICE,
                TANH_TWICE_TEXT,
                "(8.16) and (8.22)",
                tanh_twice,
            ),
            Mistake(
                "mean instead of sum",
                "These are the gradients averaged over the data points: E in (8.1) is a sum, "
                "so its gradient is the sum of the per-point gradients (no division by N).",
                "(8.1) and (8.14)",
                lambda case: tuple(g / case.args[5].shape[0] for g in _skip_gradient(*case.args)),
            ),
            Mistake(
                "skip gradient from hidden activations",
                "dE/dWs multiplies the output deltas by the hidden activations z_j: a skip "
                "weight starts at an INPUT, so its derivative is delta_k x_i.",
                "(8.10)",
                skip_from("hidden activations"),
            ),
        ]
