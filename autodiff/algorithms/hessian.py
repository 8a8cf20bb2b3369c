"""The exact Hessian of the two-layer network and its products with a vector (Section 8.1.6).

For a :class:`~autodiff.algorithms.network.TwoLayerNet` the Hessian (8.37) of the batch error
(8.1) is assembled from closed-form blocks (Exercises 8.6 and 8.7), and ``H v`` is found in
O(W) per data point by Pearlmutter's R-operator, without forming ``H``.

Three output units are supported, each with the error it is paired with (the canonical link of
(8.11)), named by ``output``:

* ``"linear"``: ``y = a``, sum-of-squares error (8.17);
* ``"sigmoid"``: ``y = sigma(a)`` per output, cross-entropy summed over the outputs;
* ``"softmax"``: ``y = softmax(a)``, multi-class cross-entropy (targets must sum to one).

Every block is written with two per-point quantities of the output pre-activations ``a_k``:

* ``delta_k = dE_n/da_k = y_k - t_k`` (8.11), the same expression for all three pairs;
* ``M_kk' = d^2E_n/(da_k da_k') = dy_k/da_k'``, i.e. (8.31), (8.33) or (8.34).

Matrices follow the flat parameter order of ``TwoLayerNet``:
``[W1.ravel(), b1, W2.ravel(), b2, Ws.ravel()]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff.algorithms.network import TwoLayerNet
from autodiff.algorithms.outputs import get_output_pair, output_deltas


def check_data(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``X`` as ``(N, D)`` and ``T`` as ``(N, K)`` float arrays, or raise.

    A single data point may be given as ``x`` of shape ``(D,)`` and ``t`` of shape ``(K,)``.
    """
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a TwoLayerNet, got {type(net).__name__}")
    D, _, K = net.shape
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(
            f"X must have shape (N, {D}) (or ({D},) for one point) for a network with "
            f"{D} inputs, got shape {np.shape(X)}"
        )
    if T is None:
        return X, None
    T = np.asarray(T, dtype=np.float64)
    if T.ndim == 1 and X.shape[0] == 1:
        T = T[None, :]
    if T.shape != (X.shape[0], K):
        raise ValueError(
            f"T must have shape ({X.shape[0]}, {K}): one row of {K} targets per row of X, "
            f"got shape {T.shape}; for a single output pass T with shape (N, 1)"
        )
    return X, T


def check_direction(net: TwoLayerNet, v: np.ndarray) -> np.ndarray:
    """Return ``v`` as a float vector of length ``W``, or raise a ``ValueError``."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (net.num_params,):
        raise ValueError(
            f"v must be a flat vector of shape ({net.num_params},), one entry per weight and "
            f"bias of the {net.shape} network, got shape {v.shape}"
        )
    return v


def output_error_derivatives(
    a_out: np.ndarray, T: np.ndarray, output: str
) -> tuple[np.ndarray, np.ndarray]:
    """``delta_nk = dE_n/da_k`` (8.11) and ``M_nkk' = d^2E_n/(da_k da_k')`` (Exercise 8.6).

    With the canonical pairs ``delta = y - t``, so ``M = dy/da``: the identity for linear
    outputs (8.31), ``diag(y(1 - y))`` for logistic sigmoids (8.33) and
    ``diag(y) - y y^T`` for the softmax (8.34).  Shapes ``(N, K)`` and ``(N, K, K)``.
    """
    pair = get_output_pair(output)
    return output_deltas(pair.function(a_out), T, pair), pair.jacobian(a_out)


class _Group(NamedTuple):
    """One parameter array and the signal ``u`` it multiplies: ``da/dw_(unit, p) = u_p``."""

    hidden: bool  # True for first-layer parameters (W1, b1), False for W2, b2, Ws
    inputs: np.ndarray  # (N, P): x for W1 and Ws, z for W2, ones for the biases
    carries_z: bool  # True for W2, the only output-layer weights fed by hidden units


def _parameter_groups(net: TwoLayerNet, X: np.ndarray, z: np.ndarray) -> list[_Group]:
    """The parameter arrays in flat order, each with the signal at its input end (8.9)."""
    ones = np.ones((X.shape[0], 1))
    groups = [
        _Group(True, X, False),  # W1: w_ji^(1) x_i
        _Group(True, ones, False),  # b1: bias unit with z = 1
        _Group(False, z, True),  # W2: w_kj^(2) z_j
        _Group(False, ones, False),  # b2
    ]
    if net.Ws is not None:
        groups.append(_Group(False, X, False))  # Ws: skip weights w_ki x_i (Exercise 8.7)
    return groups


def exact_hessian(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray, output: str = "linear"
) -> np.ndarray:
    """The exact ``W x W`` Hessian (8.37) of the batch error, block by block (Exercise 8.6).

    With ``h = tanh``, hidden pre-activations ``a_j``, inputs ``x_i``, hidden outputs ``z_j``
    and biases treated as weights from a unit fixed at 1 (8.10), per data point:

    * both weights in layer 2: ``d^2E/(dw_kj dw_k'j') = z_j z_j' M_kk'``;
    * both in layer 1: ``d^2E/(dw_ji dw_j'i') = x_i x_i' G_jj'`` where
      ``G_jj' = d^2E/(da_j da_j') = h'(a_j) h'(a_j') sum_kk' w_kj w_k'j' M_kk'
      + I_jj' h''(a_j) sum_k w_kj delta_k``;
    * one in each: ``d^2E/(dw_ji dw_kj') = x_i h'(a_j) (z_j' sum_k' w_k'j M_kk'
      + I_jj' delta_k)``.

    A skip-layer weight ``w_ki`` (Exercise 8.7) enters ``a_k`` exactly like a second-layer
    weight whose input is ``x_i`` instead of ``z_j``, so it shares the layer-2 formulas; only
    the ``I_jj' delta_k`` term is absent, since a skip weight does not sit on the path from
    hidden unit ``j``.  The per-point Hessians are summed over the batch (8.1).
    """
    X, T = check_data(net, X, T)
    _, z, a_out = net.forward(X)
    delta, M = output_error_derivatives(a_out, T, output)
    h1 = 1.0 - z**2  # h'(a_j) for tanh (8.16)
    h2 = -2.0 * z * h1  # h''(a_j)
    W2 = net.W2
    M_W2 = M @ W2  # (N, K, M): sum_k' M_kk' w_k'j
    backprop_delta = delta @ W2  # (N, M): sum_k w_kj delta_k, as in (8.13)
    hidden_curvature = h1[:, :, None] * h1[:, None, :] * np.einsum("kj,nkl->njl", W2, M_W2)
    hidden_curvature += (h2 * backprop_delta)[:, :, None] * np.eye(W2.shape[1])
    cross_curvature = h1[:, None, :] * M_W2  # (N, K, M): d^2E/(da_k da_j)

    groups = _parameter_groups(net, X, z)
    blocks = [[None] * len(groups) for _ in groups]
    for r, g in enumerate(groups):
        for c, h in enumerate(groups):
            if c < r:
                blocks[r][c] = blocks[c][r].T
            elif g.hidden and h.hidden:
                blocks[r][c] = _pair_block(g.inputs, h.inputs, hidden_curvature)
            elif not g.hidden and not h.hidden:
                blocks[r][c] = _pair_block(g.inputs, h.inputs, M)
            else:
                blocks[r][c] = _hidden_output_block(
                    g.inputs, h.inputs, cross_curvature, h1, delta, h.carries_z
                )
    return np.block(blocks)


def _pair_block(u: np.ndarray, u2: np.ndarray, curvature: np.ndarray) -> np.ndarray:
    """``sum_n u_np u2_nq C_n,ab`` as a matrix with rows ``(a, p)`` and columns ``(b, q)``.

    The second derivative of ``E_n`` with respect to ``w_ap`` and ``w_bq`` when both act
    through pre-activations ``a_a`` and ``a_b`` of the same layer, whose curvature is ``C``.
    """
    A, B = curvature.shape[1:]
    block = np.einsum("np,nq,nab->apbq", u, u2, curvature, optimize=True)
    return block.reshape(A * u.shape[1], B * u2.shape[1])


def _hidden_output_block(
    u: np.ndarray,
    v: np.ndarray,
    cross_curvature: np.ndarray,
    h1: np.ndarray,
    delta: np.ndarray,
    carries_z: bool,
) -> np.ndarray:
    """Rows: a first-layer parameter ``(j, p)``; columns: an output-layer one ``(k, q)``.

    The mixed block of Exercise 8.6: ``u_p v_q d^2E/(da_j da_k)`` plus, for second-layer
    weights ``w_kq`` only, ``u_p h'(a_j) delta_k`` when ``q == j``: changing ``w_kj`` changes
    how strongly ``delta_k`` is sent back to hidden unit ``j`` in (8.13).
    """
    K, Mh = cross_curvature.shape[1:]
    P, Q = u.shape[1], v.shape[1]
    block = np.einsum("np,nq,nkj->jpkq", u, v, cross_curvature, optimize=True)
    if carries_z:
        via_delta = np.einsum("np,nj,nk->jpk", u, h1, delta, optimize=True)
        block = block + via_delta[:, :, :, None] * np.eye(Mh)[:, None, None, :]
    return block.reshape(Mh * P, K * Q)


def hessian_vector_product(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray, v: np.ndarray, output: str = "linear"
) -> np.ndarray:
    """``H v`` in O(W) per data point by Pearlmutter's R-operator ``R{.} = v^T grad(.)``.

    Forward R-pass (differentiate (8.18)-(8.20) along ``v``; ``V`` is ``v`` unflattened):
    ``R{a_j} = sum_i V1_ji x_i + Vb1_j``, ``R{z_j} = h'(a_j) R{a_j}``,
    ``R{a_k} = sum_j (w_kj R{z_j} + V2_kj z_j) + Vb2_k + sum_i Vs_ki x_i``,
    ``R{delta_k} = sum_k' M_kk' R{a_k'}``.

    Backward R-pass (differentiate (8.13)):
    ``R{delta_j} = h''(a_j) R{a_j} sum_k w_kj delta_k + h'(a_j) sum_k (V2_kj delta_k
    + w_kj R{delta_k})``.

    Then the R-operator applied to the gradients (8.10) gives the entries of ``H v``:
    ``R{dE/dw_kj} = R{delta_k} z_j + delta_k R{z_j}`` and ``R{dE/dw_ji} = R{delta_j} x_i``
    (inputs of 1 for biases, ``x_i`` for skip weights), summed over the batch (8.1).
    """
    X, T = check_data(net, X, T)
    V = net.unflatten(check_direction(net, v))
    _, z, a_out = net.forward(X)
    delta, M = output_error_derivatives(a_out, T, output)
    h1 = 1.0 - z**2
    h2 = -2.0 * z * h1

    R_a_hidden = X @ V.W1.T + V.b1
    R_z = h1 * R_a_hidden
    R_a_out = R_z @ net.W2.T + z @ V.W2.T + V.b2
    if net.Ws is not None:
        R_a_out = R_a_out + X @ V.Ws.T
    R_delta_out = np.einsum("nkl,nl->nk", M, R_a_out)
    R_delta_hidden = (
        h2 * R_a_hidden * (delta @ net.W2) + h1 * (delta @ V.W2) + h1 * (R_delta_out @ net.W2)
    )

    pieces = [
        R_delta_hidden.T @ X,
        R_delta_hidden.sum(axis=0),
        R_delta_out.T @ z + delta.T @ R_z,
        R_delta_out.sum(axis=0),
    ]
    if net.Ws is not None:
        pieces.append(R_delta_out.T @ X)
    return np.concatenate([p.ravel() for p in pieces])


def error_function(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray, output: str = "linear"
) -> Callable:
    """The batch error as a function of the flat parameter vector, written with ``anp``.

    Built for the ``autodiff`` transforms: sum-of-squares (8.17) for linear outputs, and for
    sigmoid and softmax outputs the cross-entropy written on the pre-activations
    (``softplus(a) - t a`` and ``-t . log_softmax(a)``) so that it stays finite.
    """
    name = get_output_pair(output).name
    X, T = check_data(net, X, T)
    shapes = [p.shape for p in net.parameters()]

    def error(w):
        params, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            params.append(anp.reshape(w[start : start + size], shape))
            start += size
        W1, b1, W2, b2 = params[:4]
        z = anp.tanh(anp.matmul(X, anp.transpose(W1)) + b1)
        a_out = anp.matmul(z, anp.transpose(W2)) + b2
        if len(params) == 5:
            a_out = a_out + anp.matmul(X, anp.transpose(params[4]))
        if name == "linear":
            return 0.5 * anp.sum((a_out - T) ** 2)
        if name == "sigmoid":
            return anp.sum(anp.softplus(a_out) - T * a_out)
        return -anp.sum(T * anp.log_softmax(a_out, axis=1))

    return error


def autodiff_hessian_vector_product(
    net: TwoLayerNet, X: np.ndarray, T: np.ndarray, v: np.ndarray, output: str = "linear"
) -> np.ndarray:
    """``H v`` by forward-over-reverse automatic differentiation (Section 8.2.2), in O(W).

    The general route: any error written with ``anp`` works the same way; the R-operator of
    :func:`hessian_vector_product` is this computation carried out by hand.
    """
    v = check_direction(net, v)
    return np.asarray(autodiff.hvp(error_function(net, X, T, output), net.flatten(), v))
