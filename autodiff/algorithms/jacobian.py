"""The network Jacobian ``J_ki = dy_k/dx_i`` (8.26), by backward and by forward propagation.

Backward (Section 8.1.5): start at the outputs with ``dy_k/da_l``, which depends only on
the output function: ``delta_kl`` for linear outputs (8.31), ``delta_kl sigma'(a_l)`` for
sigmoid outputs (8.33) and ``delta_kl y_k - y_k y_l`` for softmax outputs (8.34).  Then
``dy_k/da_j = h'(a_j) sum_l w_lj dy_k/da_l`` (8.30) carries it back through the hidden
units, and ``J_ki = sum_j w_ji dy_k/da_j`` (8.29) reaches the inputs.  All ``K`` rows of
``J`` travel back together, as a ``(K, M)`` matrix per layer.

Forward (Exercise 8.5): start at the inputs with ``da_j/dx_i = w_ji`` and carry
``da_l/dx_i = sum_j w_lj h'(a_j) da_j/dx_i`` forwards to the output pre-activations, then
multiply by ``dy_k/da_l``.  All ``D`` columns travel together.  Both give the same matrix;
the backward route handles one output per row and so is cheaper when ``K < D``, the forward
route when ``D < K``.

Every function accepts one input ``x`` of shape ``(D,)``, giving ``J`` of shape ``(K, D)``,
or a batch ``X`` of shape ``(N, D)``, giving one Jacobian per data point, ``(N, K, D)``.

The Jacobian's uses: estimating how small input errors reach the outputs (8.28) with
:func:`propagate_input_errors`, and the chain rule across modules (8.27) with
:func:`chain_jacobians`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autodiff.algorithms.layered import LayeredNet
from autodiff.algorithms.network import TwoLayerNet
from autodiff.algorithms.outputs import OutputPair, get_output_pair


def two_layer_outputs(
    net: TwoLayerNet, X: np.ndarray, output: str | OutputPair = "linear"
) -> np.ndarray:
    """Outputs ``y = f(a)`` of the two-layer network with output function ``output``.

    :class:`TwoLayerNet` computes linear outputs (8.20); here they are taken as the output
    pre-activations ``a_k`` and passed through the chosen output function.
    """
    X, single = _inputs(X, net.shape[0])
    y = get_output_pair(output).function(net.forward(X)[2])
    return y[0] if single else y


def two_layer_jacobian(
    net: TwoLayerNet, X: np.ndarray, output: str | OutputPair = "linear"
) -> np.ndarray:
    """``J = dy/dx`` of the two-layer tanh network by backpropagation (8.29)-(8.34).

    Skip-layer weights (Exercise 8.4) connect inputs to outputs directly, so in (8.29) the
    input's receivers include the output units: ``J += (dy/da_out) Ws``.
    """
    X, single = _inputs(X, net.shape[0])
    _, Z, A_out = net.forward(X)
    dy_da_out = get_output_pair(output).jacobian(A_out)  # (8.31), (8.33), (8.34)
    dy_da_hidden = (dy_da_out @ net.W2) * (1.0 - Z**2)[:, None, :]  # (8.30) with (8.16)
    J = dy_da_hidden @ net.W1  # (8.29)
    if net.Ws is not None:
        J = J + dy_da_out @ net.Ws
    return J[0] if single else J


def two_layer_jacobian_forward(
    net: TwoLayerNet, X: np.ndarray, output: str | OutputPair = "linear"
) -> np.ndarray:
    """``J = dy/dx`` of the two-layer tanh network by forward propagation (Exercise 8.5)."""
    X, single = _inputs(X, net.shape[0])
    _, Z, A_out = net.forward(X)
    dz_dx = (1.0 - Z**2)[:, :, None] * net.W1  # h'(a_j) da_j/dx_i, with da_j/dx_i = w_ji
    da_out_dx = net.W2 @ dz_dx
    if net.Ws is not None:
        da_out_dx = da_out_dx + net.Ws
    J = get_output_pair(output).jacobian(A_out) @ da_out_dx
    return J[0] if single else J


def layered_jacobian(net: LayeredNet, X: np.ndarray) -> np.ndarray:
    """``J = dy/dx`` of a layered network by backpropagation (8.29)-(8.34), in matrix form.

    The ``(K, M_l)`` matrix ``dy/da^(l)`` goes back one layer as
    ``(dy/da^(l+1) W^(l+1)) * h_l'(a^(l))``: (8.30) with a transposed weight product.
    """
    X, single = _inputs(X, net.sizes[0])
    A, Z = net.forward(X)
    dy_da = net.output.jacobian(A[-1])  # (8.31), (8.33), (8.34)
    for l in reversed(range(1, len(net.weights))):
        h_prime = net.activations[l - 1].derivative(A[l - 1], Z[l])
        dy_da = (dy_da @ net.weights[l]) * h_prime[:, None, :]  # (8.30)
    J = dy_da @ net.weights[0]  # (8.29)
    return J[0] if single else J


def layered_jacobian_forward(net: LayeredNet, X: np.ndarray) -> np.ndarray:
    """``J = dy/dx`` of a layered network by forward propagation (Exercise 8.5).

    The ``(M_l, D)`` matrix ``da^(l)/dx`` starts as ``W^(1)`` and goes forward one layer as
    ``W^(l+1) (h_l'(a^(l)) * da^(l)/dx)``.
    """
    X, single = _inputs(X, net.sizes[0])
    A, Z = net.forward(X)
    da_dx = np.broadcast_to(net.weights[0], (X.shape[0], *net.weights[0].shape))
    for l in range(1, len(net.weights)):
        h_prime = net.activations[l - 1].derivative(A[l - 1], Z[l])
        da_dx = net.weights[l] @ (h_prime[:, :, None] * da_dx)
    J = net.output.jacobian(A[-1]) @ da_dx
    return J[0] if single else J


def propagate_input_errors(J: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """First-order output errors ``Delta y_k ~ sum_i J_ki Delta x_i`` (8.28).

    ``J`` is ``(K, D)`` or ``(N, K, D)`` and ``dx`` is ``(D,)`` or ``(N, D)`` to match.
    Valid only while the perturbations are small, and only at the input where ``J`` was
    evaluated.
    """
    J = np.asarray(J, dtype=float)
    dx = np.asarray(dx, dtype=float)
    if J.ndim != dx.ndim + 1 or J.shape[:-2] != dx.shape[:-1] or J.shape[-1] != dx.shape[-1]:
        raise ValueError(
            f"expected J of shape (K, D) with dx of shape (D,), or (N, K, D) with (N, D); "
            f"got J {J.shape} and dx {dx.shape}"
        )
    return np.einsum("...kd,...d->...k", J, dx)


def chain_jacobians(jacobians: Sequence[np.ndarray]) -> np.ndarray:
    """Jacobian of a chain of modules from theirs: ``J_m ... J_2 J_1`` (the chain rule (8.27)).

    ``jacobians`` lists the modules in the order data flows through them, each a matrix of
    shape ``(outputs, inputs)``; a scalar-valued last module, like an error ``E``, is a
    ``(1, inputs)`` row.  In (8.27) the list is ``[dz/dw, dy/dz, dE/dy]``.
    """
    matrices = [np.asarray(J, dtype=float) for J in jacobians]
    if not matrices:
        raise ValueError("chain_jacobians needs at least one Jacobian")
    for m, J in enumerate(matrices, start=1):
        if J.ndim != 2:
            raise ValueError(
                f"module {m}'s Jacobian must be a matrix (outputs, inputs), got shape {J.shape}"
            )
    result = matrices[0]
    for m, J in enumerate(matrices[1:], start=2):
        if J.shape[1] != result.shape[0]:
            raise ValueError(
                f"module {m}'s Jacobian {J.shape} takes {J.shape[1]} inputs but module {m - 1} "
                f"produces {result.shape[0]} outputs"
            )
        result = J @ result
    return result


def _inputs(X: np.ndarray, D: int) -> tuple[np.ndarray, bool]:
    """``X`` as an ``(N, D)`` float array, and whether a single ``(D,)`` input was given."""
    X = np.asarray(X, dtype=float)
    if X.ndim not in (1, 2) or X.shape[-1] != D:
        raise ValueError(f"expected an input of shape ({D},) or a batch (N, {D}), got {X.shape}")
    return np.atleast_2d(X), X.ndim == 1
