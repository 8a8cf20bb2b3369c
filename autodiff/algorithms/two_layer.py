"""Backpropagation for the two-layer tanh network of Section 8.1.3 (and Exercise 8.4).

For one data point, forward propagation gives ``a_j = sum_i w_ji^(1) x_i`` (8.18),
``z_j = tanh(a_j)`` (8.19) and linear outputs ``y_k = sum_j w_kj^(2) z_j`` (8.20), biases
being the weights from a unit fixed at +1.  With the sum-of-squares error (8.17):

- output error signals ``delta_k = y_k - t_k`` (8.21);
- hidden error signals ``delta_j = (1 - z_j^2) sum_k w_kj^(2) delta_k`` (8.22), using
  ``tanh' = 1 - tanh^2`` (8.16);
- derivatives ``dE_n/dw_ji^(1) = delta_j x_i`` and ``dE_n/dw_kj^(2) = delta_k z_j`` (8.23).

Skip-layer weights ``w_ki^(s)`` from input ``i`` straight to output ``k`` (Exercise 8.4)
add ``sum_i w_ki^(s) x_i`` to ``y_k``; by (8.10) their derivative is ``delta_k x_i``, and
they leave (8.22) unchanged because hidden units do not feed them.

Over a batch the derivatives are summed over data points (8.14), which the matrix products
below do: with rows as data points, ``dE/dW2 = Delta_out^T Z`` and so on.
"""

from __future__ import annotations

import numpy as np

from autodiff.algorithms.network import TwoLayerNet


def check_batch(net: TwoLayerNet, X: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as ``(N, D)`` and ``T`` as ``(N, K)`` float arrays, checked against ``net.shape``."""
    D, _, K = net.shape
    X = np.atleast_2d(np.asarray(X, dtype=float))
    T = np.atleast_2d(np.asarray(T, dtype=float))
    if X.ndim != 2 or X.shape[1] != D or T.shape != (X.shape[0], K):
        raise ValueError(
            f"for a network with D={D} inputs and K={K} outputs expected X of shape (N, {D}) "
            f"and T of shape (N, {K}); got X {X.shape} and T {T.shape}"
        )
    return X, T


def two_layer_backprop(net: TwoLayerNet, X: np.ndarray, T: np.ndarray) -> TwoLayerNet:
    """Gradient of the batch sum-of-squares error, as a :class:`TwoLayerNet` of derivatives.

    Each field holds the derivative of ``E = sum_n E_n`` with respect to the parameter of
    the same name ((8.21)-(8.23), skip weights from Exercise 8.4, batch sum (8.14)).
    """
    X, T = check_batch(net, X, T)
    _, Z, Y = net.forward(X)
    delta_out = Y - T  # (8.21)
    delta_hidden = (1.0 - Z**2) * (delta_out @ net.W2)  # (8.22)
    return TwoLayerNet(
        W1=delta_hidden.T @ X,  # (8.23), first layer
        b1=delta_hidden.sum(axis=0),
        W2=delta_out.T @ Z,  # (8.23), second layer
        b2=delta_out.sum(axis=0),
        Ws=None if net.Ws is None else delta_out.T @ X,  # Exercise 8.4
    )


def two_layer_flat_gradient(net: TwoLayerNet, X: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The same gradient as a flat vector in the order of :meth:`TwoLayerNet.flatten`."""
    return two_layer_backprop(net, X, T).flatten()
