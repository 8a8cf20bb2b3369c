"""The two-layer network of Section 8.1.3, shared by the chapter's algorithms.

Hidden units compute ``a = W1 x + b1`` (8.18) and ``z = tanh(a)`` (8.19), with
``h = tanh`` (8.15); the outputs are linear, ``y = W2 z + b2`` (8.20), optionally with
skip-layer weights ``Ws x`` added straight from the inputs (Exercise 8.4).  The error for
one data point is the sum-of-squares (8.17); over a batch it is their sum (8.1).

Shapes: ``D`` inputs, ``M`` hidden units, ``K`` outputs, ``N`` data points.
Inputs ``X`` are ``(N, D)`` and targets ``T`` are ``(N, K)``.

The flat parameter vector, used for Hessians and their approximations, is the
concatenation ``[W1.ravel(), b1, W2.ravel(), b2, Ws.ravel()]`` (``Ws`` only when
present), each matrix raveled in C order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TwoLayerNet:
    """Parameters of the two-layer tanh network (8.18)-(8.20)."""

    W1: np.ndarray  # (M, D) first-layer weights w_ji^(1)
    b1: np.ndarray  # (M,) first-layer biases w_j0^(1)
    W2: np.ndarray  # (K, M) second-layer weights w_kj^(2)
    b2: np.ndarray  # (K,) second-layer biases w_k0^(2)
    Ws: np.ndarray | None = None  # (K, D) skip-layer weights (Exercise 8.4)

    @classmethod
    def random(
        cls,
        D: int,
        M: int,
        K: int,
        *,
        skip: bool = False,
        rng: np.random.Generator | int | None = None,
        scale: float = 1.0,
    ) -> TwoLayerNet:
        """Draw weights from N(0, scale^2 / fan_in), biases from N(0, 0.1^2)."""
        rng = np.random.default_rng(rng)
        return cls(
            W1=rng.normal(0.0, scale / np.sqrt(D), (M, D)),
            b1=rng.normal(0.0, 0.1, M),
            W2=rng.normal(0.0, scale / np.sqrt(M), (K, M)),
            b2=rng.normal(0.0, 0.1, K),
            Ws=rng.normal(0.0, scale / np.sqrt(D), (K, D)) if skip else None,
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(D, M, K)``: inputs, hidden units, outputs."""
        M, D = self.W1.shape
        return D, M, self.W2.shape[0]

    def parameters(self) -> tuple[np.ndarray, ...]:
        """The parameter arrays in flat-vector order."""
        params = (self.W1, self.b1, self.W2, self.b2)
        return params if self.Ws is None else (*params, self.Ws)

    @property
    def num_params(self) -> int:
        """``W``, the total number of weights and biases."""
        return sum(p.size for p in self.parameters())

    def flatten(self) -> np.ndarray:
        """The flat parameter vector ``w`` (see the module docstring for its order)."""
        return np.concatenate([p.ravel() for p in self.parameters()])

    def unflatten(self, w: np.ndarray) -> TwoLayerNet:
        """A network of this one's shape whose parameters are read from ``w``."""
        w = np.asarray(w, dtype=float)
        if w.shape != (self.num_params,):
            raise ValueError(
                f"expected a flat parameter vector of shape ({self.num_params},) "
                f"for a {self.shape} network, got shape {w.shape}"
            )
        arrays, start = [], 0
        for p in self.parameters():
            arrays.append(w[start : start + p.size].reshape(p.shape))
            start += p.size
        return TwoLayerNet(*arrays)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward propagation (8.19)-(8.20): pre-activations ``a``, hidden ``z``, outputs ``y``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        a = X @ self.W1.T + self.b1
        z = np.tanh(a)
        y = z @ self.W2.T + self.b2
        if self.Ws is not None:
            y = y + X @ self.Ws.T
        return a, z, y

    def error(self, X: np.ndarray, T: np.ndarray) -> float:
        """Sum-of-squares error (8.17) summed over the batch (8.1)."""
        _, _, y = self.forward(X)
        return 0.5 * float(np.sum((y - np.atleast_2d(T)) ** 2))
