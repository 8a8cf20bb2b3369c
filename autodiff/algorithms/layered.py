"""Backpropagation in matrix form for a layered network (Exercise 8.2).

Layer ``l = 1..L`` maps the previous layer's values ``z^(l-1)`` (with ``z^(0) = x``) to
``a^(l) = W^(l) z^(l-1) + b^(l)`` and ``z^(l) = h_l(a^(l))``: the layered form of (8.5),
(8.6).  The last layer's output function is a canonical pair from
:mod:`autodiff.algorithms.outputs`, so its error signal is ``delta^(L) = y - t`` (8.11).

Going backwards, (8.13) becomes a product with the *transposed* weight matrix,
``delta^(l) = h_l'(a^(l)) * (W^(l+1))^T delta^(l+1)``, and (8.10) becomes an outer
product, ``dE_n/dW^(l) = delta^(l) (z^(l-1))^T`` with ``dE_n/db^(l) = delta^(l)``.

With a batch stored as rows (``Z`` is ``(N, M)``), the same equations read
``Delta^(l) = h_l'(A^(l)) * (Delta^(l+1) W^(l+1))`` and ``dE/dW^(l) = (Delta^(l))^T Z^(l-1)``,
the matrix product performing the sum over data points (8.14).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autodiff.algorithms.dag_backprop import Activation, get_activation
from autodiff.algorithms.outputs import OutputPair, get_output_pair, output_deltas


@dataclass
class LayeredNet:
    """Weights ``W^(l)`` (``(M_l, M_{l-1})``), biases ``b^(l)`` (``(M_l,)``) and activations.

    ``activations`` holds one hidden activation per hidden layer (``L - 1`` of them, names
    from :data:`autodiff.algorithms.dag_backprop.ACTIVATIONS` or :class:`Activation`
    objects); ``output`` is the canonical output pair of layer ``L``.  Names are resolved
    to their objects on construction.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activations: Sequence[str | Activation]
    output: str | OutputPair = "linear"

    def __post_init__(self) -> None:
        self.weights = [np.asarray(W, dtype=float) for W in self.weights]
        self.biases = [np.asarray(b, dtype=float) for b in self.biases]
        L = len(self.weights)
        if L == 0 or len(self.biases) != L or len(self.activations) != L - 1:
            raise ValueError(
                f"a network of L layers needs L weight matrices, L bias vectors and L - 1 "
                f"hidden activations; got {L}, {len(self.biases)} and {len(self.activations)}"
            )
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True), start=1):
            if W.ndim != 2 or b.shape != (W.shape[0],):
                raise ValueError(
                    f"layer {l}: expected W of shape (M, M_prev) and b of shape (M,), "
                    f"got W {W.shape} and b {b.shape}"
                )
            if l > 1 and W.shape[1] != self.weights[l - 2].shape[0]:
                raise ValueError(
                    f"layer {l}: W has {W.shape[1]} columns but layer {l - 1} has "
                    f"{self.weights[l - 2].shape[0]} units"
                )
        self.activations = [get_activation(h) for h in self.activations]
        self.output = get_output_pair(self.output)

    @classmethod
    def random(
        cls,
        sizes: Sequence[int],
        activations: Sequence[str | Activation],
        output: str | OutputPair = "linear",
        *,
        rng: np.random.Generator | int | None = None,
        scale: float = 1.0,
    ) -> LayeredNet:
        """A network with layer sizes ``[D, M_1, ..., K]`` and random parameters.

        Weights are drawn from ``N(0, scale^2 / fan_in)`` and biases from ``N(0, 0.1^2)``.
        """
        rng = np.random.default_rng(rng)
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        return cls(
            weights=[
                rng.normal(0.0, scale / np.sqrt(m_in), (m_out, m_in)) for m_in, m_out in pairs
            ],
            biases=[rng.normal(0.0, 0.1, m_out) for _, m_out in pairs],
            activations=list(activations),
            output=output,
        )

    @property
    def sizes(self) -> list[int]:
        """``[D, M_1, ..., M_{L-1}, K]``."""
        return [self.weights[0].shape[1], *(W.shape[0] for W in self.weights)]

    def check_inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` as an ``(N, D)`` float array."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"expected inputs of shape (N, {self.sizes[0]}), got {X.shape}")
        return X

    def forward(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``[A^(1), ..., A^(L)]`` and values ``[Z^(0) = X, ..., Z^(L) = Y]``."""
        Z = [self.check_inputs(X)]
        A = []
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            A.append(Z[-1] @ W.T + b)
            is_last = l == len(self.weights) - 1
            h = self.output.function if is_last else self.activations[l].function
            Z.append(h(A[-1]))
        return A, Z

    def error(self, X: np.ndarray, T: np.ndarray) -> float:
        """The batch error (8.1) of the output pair."""
        A, _ = self.forward(X)
        return self.output.error(A[-1], np.atleast_2d(np.asarray(T, dtype=float)))


def layered_backprop(
    net: LayeredNet, X: np.ndarray, T: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients ``([dE/dW^(1), ..., dE/dW^(L)], [dE/db^(1), ..., dE/db^(L)])`` of the batch error.

    ``X`` is ``(N, D)`` and ``T`` is ``(N, K)``; see the module docstring for the equations.
    """
    A, Z = net.forward(X)
    T = np.atleast_2d(np.asarray(T, dtype=float))
    if T.shape != Z[-1].shape:
        raise ValueError(f"expected targets of shape {Z[-1].shape}, got {T.shape}")
    weight_grads, bias_grads = [], []
    delta = output_deltas(Z[-1], T, net.output)
    for l in reversed(range(len(net.weights))):
        weight_grads.append(delta.T @ Z[l])
        bias_grads.append(delta.sum(axis=0))
        if l > 0:
            h = net.activations[l - 1]
            delta = h.derivative(A[l - 1], Z[l]) * (delta @ net.weights[l])
    return weight_grads[::-1], bias_grads[::-1]
