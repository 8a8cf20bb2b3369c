"""Backpropagation in matrix form for a layered network (Exercise 8.2): ``a^(l) = W^(l)
z^(l-1) + b^(l)``, the deltas carried back by the transposed weight matrices (8.13), the
weight gradients as outer products (8.10) summed over the batch (8.14); with a case that
measures the cost of the method (Section 8.1.4), W = 82,410 weights.
"""

from __future__ import annotations

import numpy as np

import autodiff
import autodiff.numpy as anp
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
from grader.framework import AnswerShapeError, Case, Check, Mistake

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
    forbids = BY_HAND
    references = ("autodiff.algorithms.layered.layered_backprop",)
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
