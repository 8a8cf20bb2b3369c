"""The hidden units' activation functions that the gradient checks share: each written with
``autodiff.numpy`` for the references and as a NumPy pair ``(h, h')`` for the mistake
models of (8.13); the names the random networks draw (neighbours different) and the names a
case stores (one space-separated string).
"""

from __future__ import annotations

import numpy as np

import autodiff.numpy as anp
from grader.framework import Case

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu")
"""The activations the random cases draw from (``identity`` is allowed but not drawn: a
linear unit cannot reveal a missing derivative)."""

_ANP_ACTIVATIONS = {
    "tanh": anp.tanh,
    "sigmoid": anp.sigmoid,
    "relu": anp.relu,
    "softplus": anp.softplus,
    "identity": lambda a: a,
}

_NP_ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (
        lambda a: 1.0 / (1.0 + np.exp(-a)),
        lambda a: np.exp(-a) / (1.0 + np.exp(-a)) ** 2,
    ),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
    "softplus": (lambda a: np.logaddexp(0.0, a), lambda a: 1.0 / (1.0 + np.exp(-a))),
    "identity": (lambda a: a, np.ones_like),
}


def _activation_names(rng: np.random.Generator, H: int) -> list[str]:
    """``H`` activation names, neighbours different: shuffled rounds of
    :data:`HIDDEN_ACTIVATIONS`."""
    names: list[str] = []
    while len(names) < H:
        names += [str(n) for n in rng.permutation(HIDDEN_ACTIVATIONS)]
    return names[:H]


def _names(case: Case) -> list[str]:
    return case.kwargs["activations"].split()
