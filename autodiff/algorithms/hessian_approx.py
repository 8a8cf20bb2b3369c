"""Approximations to the Hessian of the two-layer network and their inverse (Section 8.1.6).

* :func:`diagonal_hessian`: the diagonal approximation, O(W) per data point;
* :func:`outer_product_hessian`: the outer-product (Levenberg-Marquardt) approximation (8.40)
  with several outputs (Exercise 8.8), its cross-entropy forms for logistic-sigmoid outputs
  (8.41) (Exercise 8.10) and for softmax outputs (Exercise 8.11);
* :func:`sequential_inverse_hessian`: the inverse of ``alpha I`` plus that approximation, built
  one rank-one update at a time (Exercise 8.12).

``output`` names the output units and their error as in :mod:`autodiff.algorithms.hessian`;
matrices and vectors follow the flat parameter order of ``TwoLayerNet``.
"""

from __future__ import annotations

import numpy as np

from autodiff.algorithms.hessian import check_data, output_error_derivatives
from autodiff.algorithms.network import TwoLayerNet
from autodiff.algorithms.outputs import get_output_pair


def output_gradients(net: TwoLayerNet, X: np.ndarray) -> np.ndarray:
    """``grad a_nk``: derivatives of each output pre-activation w.r.t. every parameter.

    Shape ``(N, K, W)``.  By (8.9)-(8.10) with the backpropagation (8.30) started from
    ``da_k/da_l = I_kl``: ``da_k/dw_ji = w_kj h'(a_j) x_i`` in the first layer,
    ``da_k/dw_k'j = I_kk' z_j`` in the second, ``da_k/dw_k'i = I_kk' x_i`` for skip weights,
    with an input of 1 for the biases.  For linear outputs these are the ``grad y_n`` of (8.39).
    """
    X, _ = check_data(net, X)
    _, z, _ = net.forward(X)
    N, K = X.shape[0], net.W2.shape[0]
    h1 = 1.0 - z**2
    back = net.W2[None, :, :] * h1[:, None, :]  # (N, K, M): da_k/da_j
    eye = np.broadcast_to(np.eye(K), (N, K, K))
    pieces = [
        back[:, :, :, None] * X[:, None, None, :],  # W1
        back,  # b1
        eye[:, :, :, None] * z[:, None, None, :],  # W2
        eye,  # b2
    ]
    if net.Ws is not None:
        pieces.append(eye[:, :, :, None] * X[:, None, None, :])  # Ws (Exercise 8.7)
    return np.concatenate([p.reshape(N, K, -1) for p in pieces], axis=2)


def outer_product_hessian(net: TwoLayerNet, X: np.ndarray, output: str = "linear") -> np.ndarray:
    """The outer-product (Levenberg-Marquardt) approximation to the Hessian, ``W x W``.

    It keeps the first sum of (8.39) and drops the second, ``sum_n sum_k delta_nk
    grad grad a_nk``, which is small when residuals are small (or average out, Exercise 8.9):

    * ``"linear"`` with sum-of-squares: ``sum_n sum_k grad a_nk grad a_nk^T``, i.e. (8.40)
      summed over the outputs (Exercise 8.8).  (8.40) writes ``grad a_n`` where (8.39) has
      ``grad y_n``: the two agree because the outputs are linear;
    * ``"sigmoid"`` with cross-entropy: ``sum_n sum_k y_nk (1 - y_nk) grad a_nk grad a_nk^T``,
      (8.41) for each output (Exercise 8.10);
    * ``"softmax"`` with cross-entropy: ``sum_n sum_kk' grad a_nk (I_kk' y_nk - y_nk y_nk')
      grad a_nk'^T`` (Exercise 8.11), i.e. ``sum_n sum_k y_nk grad a_nk grad a_nk^T
      - g_n g_n^T`` with ``g_n = sum_k y_nk grad a_nk``.

    In each case it is ``sum_n (grad a_n)^T M_n (grad a_n)`` with ``M`` from
    :func:`~autodiff.algorithms.hessian.output_error_derivatives`; the targets do not enter.
    """
    pair = get_output_pair(output)
    X, _ = check_data(net, X)
    grads = output_gradients(net, X)  # (N, K, W)
    rows = grads.reshape(-1, grads.shape[2])
    if pair.name == "linear":
        return rows.T @ rows
    y = pair.function(net.forward(X)[2])
    if pair.name == "sigmoid":
        return (rows * (y * (1.0 - y)).reshape(-1, 1)).T @ rows
    g = np.einsum("nk,nkw->nw", y, grads)
    return (rows * y.reshape(-1, 1)).T @ rows - g.T @ g


def outer_product_factors(net: TwoLayerNet, X: np.ndarray, output: str = "linear") -> np.ndarray:
    """Vectors ``b`` whose outer products sum to :func:`outer_product_hessian`: ``B^T B``.

    One row per data point and output, shape ``(N * K, W)``, ready for
    :func:`sequential_inverse_hessian`.  Rows are ``grad a_nk`` (linear, (8.40)),
    ``sqrt(y_nk (1 - y_nk)) grad a_nk`` (sigmoid, (8.41)) and
    ``sqrt(y_nk) (grad a_nk - g_n)`` with ``g_n = sum_k y_nk grad a_nk`` (softmax): since the
    ``y_nk`` sum to one, ``sum_k y_nk (grad a_nk - g_n)(grad a_nk - g_n)^T`` equals the
    softmax form of Exercise 8.11.
    """
    pair = get_output_pair(output)
    X, _ = check_data(net, X)
    grads = output_gradients(net, X)
    W = grads.shape[2]
    if pair.name == "linear":
        return grads.reshape(-1, W)
    y = pair.function(net.forward(X)[2])
    if pair.name == "sigmoid":
        return (np.sqrt(y * (1.0 - y))[:, :, None] * grads).reshape(-1, W)
    g = np.einsum("nk,nkw->nw", y, grads)
    return (np.sqrt(y)[:, :, None] * (grads - g[:, None, :])).reshape(-1, W)


def sequential_inverse_hessian(B: np.ndarray, alpha: float) -> np.ndarray:
    """``(alpha I + sum_n b_n b_n^T)^-1`` by one rank-one update per row of ``B`` (Exercise 8.12).

    Start from ``H_0^-1 = I / alpha``; adding ``b b^T`` to a symmetric positive-definite ``H``
    changes its inverse by the rank-one (Sherman-Morrison) case of the Woodbury identity:
    ``(H + b b^T)^-1 = H^-1 - (H^-1 b)(H^-1 b)^T / (1 + b^T H^-1 b)``.  The denominator is at
    least 1, so every step is well defined.  Each step costs O(W^2), one pass over the data in
    total, with no O(W^3) inversion.  With ``B`` from :func:`outer_product_factors` the
    result is the inverse of the outer-product approximation (8.40) regularised by ``alpha I``.
    """
    B = np.asarray(B, dtype=np.float64)
    if B.ndim != 2:
        raise ValueError(
            f"B must be a 2-D array (L, W) with one vector b_n per row, got shape {B.shape}; "
            "pass a single vector as B[None, :]"
        )
    if not np.isscalar(alpha) or not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(
            f"alpha must be a finite positive number so that alpha * I is invertible, got {alpha!r}"
        )
    H_inv = np.eye(B.shape[1]) / float(alpha)
    for b in B:
        H_inv_b = H_inv @ b
        H_inv -= np.outer(H_inv_b, H_inv_b) / (1.0 + b @ H_inv_b)
    return H_inv


def diagonal_hessian(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray, output: str = "linear"
) -> np.ndarray:
    """The diagonal approximation to the Hessian, as a vector of length ``W``.

    Second derivatives ``d_j ~ d^2E_n/da_j^2`` are sent backwards like the deltas of (8.13),
    starting from ``d_k = M_kk`` at the outputs:
    ``d_j = h'(a_j)^2 sum_k w_kj^2 d_k + h''(a_j) sum_k w_kj delta_k``.  Since every
    pre-activation is linear in its weights, ``d^2E_n/dw_ji^2 = d_j z_i^2`` (``z_i = 1`` for a
    bias), summed over the batch.  The cost is O(W) per data point.

    What it drops:

    * every off-diagonal entry of ``H``: read as a matrix it is ``diag(h)``, which makes
      storage and inversion O(W); the true Hessian usually has large off-diagonal entries;
    * inside the recursion, the cross terms ``w_kj w_k'j M_kk'`` with ``k != k'``, so ``d_j``
      is only an approximation of ``d^2E_n/da_j^2``.  In this two-layer network those are the
      only terms dropped, and ``M`` is diagonal for linear outputs with sum-of-squares and for
      logistic sigmoids with cross-entropy, so there the vector is the exact diagonal of
      ``H``; for softmax outputs it omits ``-y_k y_k'`` couplings.  In deeper networks it also
      drops the couplings between hidden units of one layer.
    """
    X, T = check_data(net, X, T)
    _, z, a_out = net.forward(X)
    delta, M = output_error_derivatives(a_out, T, output)
    h1 = 1.0 - z**2
    h2 = -2.0 * z * h1
    d_out = np.diagonal(M, axis1=1, axis2=2)  # (N, K)
    d_hidden = h1**2 * (d_out @ net.W2**2) + h2 * (delta @ net.W2)  # (N, M)
    pieces = [d_hidden.T @ X**2, d_hidden.sum(axis=0), d_out.T @ z**2, d_out.sum(axis=0)]
    if net.Ws is not None:
        pieces.append(d_out.T @ X**2)
    return np.concatenate([p.ravel() for p in pieces])
