"""Output units and their matching errors: the canonical-link pairs of Section 8.1.1.

Each pair couples an output function ``y = f(a)`` of the output pre-activations ``a``
with the error whose derivative with respect to ``a`` is simply ``y - t``:

=========  ======================  ============================================
name       output function         error for one data point, from ``a``
=========  ======================  ============================================
linear     ``y = a``               ``E = 1/2 sum_k (a_k - t_k)^2`` (8.3)
sigmoid    ``y = sigma(a)``        ``E = sum_k [softplus(a_k) - t_k a_k]``
softmax    ``y = softmax(a)``      ``E = sum_k t_k [logsumexp(a) - a_k]``
=========  ======================  ============================================

The two cross-entropies are written in terms of ``a`` rather than ``y`` so that no
logarithm of a rounded-to-zero probability is ever taken: ``-t ln y - (1 - t) ln(1 - y)``
with ``y = sigma(a)`` equals ``softplus(a) - t a``, and ``-sum_k t_k ln y_k`` with
``y = softmax(a)`` equals ``sum_k t_k logsumexp(a) - t . a``.

Because the derivative of every pair's error is ``y - t``, the output error signal of
(8.11) is the same expression for all three, and so is the single-layer gradient (8.4):
error signal times input.  For softmax this needs targets whose entries sum to one per data
point (a 1-of-K coding or a probability vector); :func:`output_deltas` checks it.

Arrays are batched: ``a``, ``y`` and ``t`` are ``(N, K)`` (or ``(K,)`` for one data point)
and errors are summed over the batch (8.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autodiff.activations import sigmoid, softplus


def identity(a: np.ndarray) -> np.ndarray:
    """The linear output function ``y = a`` of regression outputs."""
    return np.asarray(a, dtype=float)


def logsumexp(a: np.ndarray) -> np.ndarray:
    """``ln sum_k exp(a_k)`` over the last axis, shifted by the maximum for stability."""
    a = np.asarray(a, dtype=float)
    a_max = np.max(a, axis=-1, keepdims=True)
    return np.squeeze(a_max, axis=-1) + np.log(np.sum(np.exp(a - a_max), axis=-1))


def softmax(a: np.ndarray) -> np.ndarray:
    """``exp(a_k) / sum_l exp(a_l)`` over the last axis, shifted by the maximum for stability."""
    a = np.asarray(a, dtype=float)
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def sum_of_squares(a: np.ndarray, t: np.ndarray) -> float:
    """Sum-of-squares error (8.3) of linear outputs ``y = a``, summed over the batch (8.1)."""
    a, t = _same_shape(a, t)
    return 0.5 * float(np.sum((a - t) ** 2))


def binary_cross_entropy(a: np.ndarray, t: np.ndarray) -> float:
    """Cross-entropy of independent sigmoid outputs ``y = sigma(a)``, summed over the batch.

    Uses ``-t ln sigma(a) - (1 - t) ln(1 - sigma(a)) = softplus(a) - t a``.
    """
    a, t = _same_shape(a, t)
    return float(np.sum(softplus(a) - t * a))


def multiclass_cross_entropy(a: np.ndarray, t: np.ndarray) -> float:
    """Cross-entropy of softmax outputs ``y = softmax(a)``, summed over the batch.

    Uses ``-sum_k t_k ln y_k = sum_k t_k logsumexp(a) - sum_k t_k a_k``.
    """
    a, t = _same_shape(a, t)
    return float(np.sum(np.sum(t, axis=-1) * logsumexp(a) - np.sum(t * a, axis=-1)))


def _identity_jacobian(a: np.ndarray) -> np.ndarray:
    """``dy_k/da_l = delta_kl`` for linear outputs (8.31), (8.32)."""
    return np.broadcast_to(np.eye(a.shape[-1]), (*a.shape, a.shape[-1])).copy()


def _sigmoid_jacobian(a: np.ndarray) -> np.ndarray:
    """``dy_k/da_l = delta_kl sigma'(a_l)`` with ``sigma' = sigma (1 - sigma)`` (8.33)."""
    y = sigmoid(a)
    return (y * (1.0 - y))[..., None] * np.eye(a.shape[-1])


def _softmax_jacobian(a: np.ndarray) -> np.ndarray:
    """``dy_k/da_l = delta_kl y_k - y_k y_l`` for softmax outputs (8.34)."""
    y = softmax(a)
    return y[..., :, None] * np.eye(a.shape[-1]) - y[..., :, None] * y[..., None, :]


@dataclass(frozen=True)
class OutputPair:
    """An output function with its canonical (matching) error.

    ``function(a)`` maps output pre-activations to outputs, ``error(a, t)`` is the batch
    error computed from the pre-activations, and ``jacobian(a)`` is ``dy_k/da_l`` with shape
    ``(..., K, K)``, the starting point (8.31), (8.33) or (8.34) of Jacobian backpropagation.
    """

    name: str
    function: Callable[[np.ndarray], np.ndarray]
    error: Callable[[np.ndarray, np.ndarray], float]
    jacobian: Callable[[np.ndarray], np.ndarray]


LINEAR = OutputPair("linear", identity, sum_of_squares, _identity_jacobian)
SIGMOID = OutputPair("sigmoid", sigmoid, binary_cross_entropy, _sigmoid_jacobian)
SOFTMAX = OutputPair("softmax", softmax, multiclass_cross_entropy, _softmax_jacobian)

OUTPUT_PAIRS: dict[str, OutputPair] = {p.name: p for p in (LINEAR, SIGMOID, SOFTMAX)}


def get_output_pair(output: str | OutputPair) -> OutputPair:
    """The pair named ``output`` (``linear``, ``sigmoid`` or ``softmax``), or ``output`` itself."""
    if isinstance(output, OutputPair):
        return output
    if output not in OUTPUT_PAIRS:
        raise ValueError(
            f"unknown output {output!r}: choose one of {sorted(OUTPUT_PAIRS)} "
            "(each is paired with its canonical error)"
        )
    return OUTPUT_PAIRS[output]


def output_deltas(y: np.ndarray, t: np.ndarray, output: str | OutputPair = "linear") -> np.ndarray:
    """Output error signals ``delta_k = dE_n/da_k = y_k - t_k`` (8.11) for a canonical pair.

    For softmax outputs this holds only when each target row sums to one, which is checked.
    """
    pair = get_output_pair(output)
    y, t = _same_shape(y, t)
    if pair is SOFTMAX and not np.allclose(np.sum(t, axis=-1), 1.0):
        raise ValueError(
            "softmax targets must sum to one for each data point (1-of-K coding); "
            "otherwise the error signal is not y - t"
        )
    return y - t


def single_layer_gradient(
    W: np.ndarray, X: np.ndarray, T: np.ndarray, output: str | OutputPair = "linear"
) -> np.ndarray:
    """Gradient of the batch error of a single-layer model ``y = f(W x)`` (8.2), shape ``(K, D)``.

    Each entry is the error signal at the output end of the weight times the input at its
    other end, ``(y_nj - t_nj) x_ni`` (8.4), summed over the data points (8.14).  With
    ``output="linear"`` this is the sum-of-squares model of Section 8.1.1; the sigmoid and
    softmax pairs give the same form.  Append a column of ones to ``X`` for biases.
    """
    W = np.asarray(W, dtype=float)
    X = np.atleast_2d(np.asarray(X, dtype=float))
    T = np.atleast_2d(np.asarray(T, dtype=float))
    if W.ndim != 2 or X.shape[1] != W.shape[1] or T.shape != (X.shape[0], W.shape[0]):
        raise ValueError(
            f"expected W (K, D), X (N, D) and T (N, K); got W {W.shape}, X {X.shape}, T {T.shape}"
        )
    pair = get_output_pair(output)
    deltas = output_deltas(pair.function(X @ W.T), T, pair)
    return deltas.T @ X


def _same_shape(a: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs (or their pre-activations) and targets as float arrays of the same shape."""
    a = np.asarray(a, dtype=float)
    t = np.asarray(t, dtype=float)
    if a.shape != t.shape:
        raise ValueError(
            f"outputs and targets must have the same shape, got {a.shape} and {t.shape}"
        )
    return a, t
