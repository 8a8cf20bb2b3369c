"""The activation functions of the package, each written once: the logistic sigmoid, the
soft ReLU and the ReLU.

Every part of the package evaluates them here: the differentiable ``autodiff.numpy``
functions, ``Scalar``'s methods, the evaluation traces of Section 8.2 and the chapter's
algorithms (hidden units (8.6), sigmoid outputs (8.33) and their cross-entropy).

Both smooth ones are written so that they neither overflow nor lose their digits in either
tail.  With ``e = exp(-|a|)``, which is at most 1, the sigmoid is ``1 / (1 + e)`` for
``a >= 0`` and ``e / (1 + e)`` for ``a < 0``, and the soft ReLU (8.46) is
``max(a, 0) + ln(1 + e)``.  Their derivatives are each other's business: ``σ' = σ (1 - σ)``
and ``softplus' = σ``.

A Python number gives a float, computed with ``math`` (a NumPy call costs a hundred times
as much on one number, and ``Scalar`` calls these on one number at a time); anything else
gives a NumPy array, elementwise.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def sigmoid(a: ArrayLike) -> np.ndarray | float:
    """The logistic sigmoid ``σ(a) = 1 / (1 + exp(-a))``, accurate in both tails."""
    if type(a) is float or type(a) is int:
        e = math.exp(-abs(a))
        return 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
    a = np.asarray(a, dtype=float)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(a: ArrayLike) -> np.ndarray | float:
    """The soft ReLU ``ln(1 + exp(a))`` (8.46), which never overflows."""
    if type(a) is float or type(a) is int:
        return max(a, 0.0) + math.log1p(math.exp(-abs(a)))
    a = np.asarray(a, dtype=float)
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


def relu(a: ArrayLike) -> np.ndarray | float:
    """The rectified linear unit ``max(a, 0)``; its derivative at 0 is taken as 0."""
    if type(a) is float or type(a) is int:
        return a if a > 0 else 0.0
    return np.maximum(a, 0.0)
