"""Differentiable functions built by composing primitives (no rules of their own)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.core import Traceable, ndim_of, shape_of, value_of
from autodiff.numpy import primitives as p


def _any_traced(items) -> bool:
    return any(isinstance(item, Traceable) for item in items)


def concatenate(arrays, axis: int = 0):
    """Join arrays along an existing axis."""
    return p.concatenate_args(axis, *arrays)


def stack(arrays, axis: int = 0):
    """Join arrays along a new axis."""
    return p.stack_args(axis, *arrays)


def array(obj: Any, dtype=None):
    """Like ``np.array``, also for (nested) lists that hold traced values."""
    if isinstance(obj, (list, tuple)) and _contains_traced(obj):
        return stack([array(item) for item in obj])
    if isinstance(obj, Traceable):
        return obj
    return np.array(obj, dtype=dtype)


def _contains_traced(obj) -> bool:
    if isinstance(obj, Traceable):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_traced(item) for item in obj)
    return False


def asarray(obj: Any, dtype=None):
    """Like ``np.asarray``; traced values pass through unchanged."""
    if isinstance(obj, Traceable):
        return obj
    if isinstance(obj, (list, tuple)) and _contains_traced(obj):
        return array(obj)
    return np.asarray(obj, dtype=dtype)


def dot(a, b):
    """Inner product of vectors, matrix-vector or matrix-matrix product (as ``np.dot`` on
    arrays of at most two dimensions; use ``matmul`` for stacks of matrices)."""
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return p.multiply(a, b)
    if ndim_of(a) > 2 or ndim_of(b) > 2:
        raise ValueError(
            f"dot takes arrays of at most 2 dimensions, got shapes {shape_of(a)} and "
            f"{shape_of(b)}; use matmul for stacks of matrices"
        )
    return p.matmul(a, b)


def outer(a, b):
    """Outer product of two vectors (flattened first, as ``np.outer``)."""
    return p.multiply(p.reshape(a, (-1, 1)), p.reshape(b, (1, -1)))


def inner(a, b):
    """Sums of products over the last axes, for every pair of leading indices (as
    ``np.inner``: shape ``a.shape[:-1] + b.shape[:-1]``)."""
    a_shape, b_shape = shape_of(a), shape_of(b)
    if not a_shape or not b_shape:
        return p.multiply(a, b)
    if a_shape[-1] != b_shape[-1]:
        raise ValueError(f"inner: last axes differ, shapes {a_shape} and {b_shape}")
    k = a_shape[-1]
    product = p.matmul(p.reshape(a, (-1, k)), p.transpose(p.reshape(b, (-1, k))))
    return p.reshape(product, a_shape[:-1] + b_shape[:-1])


def log_softmax(x, axis: int = -1):
    """log softmax(x) = x - logsumexp(x), stable for any input size."""
    return p.subtract(x, p.logsumexp(x, axis=axis, keepdims=True))


def softmax(x, axis: int = -1):
    """Softmax exp(x_k) / sum_j exp(x_j) along ``axis``, computed without overflow."""
    return p.exp(log_softmax(x, axis=axis))


def expand_dims(x, axis: int):
    """Insert a length-1 axis at ``axis``."""
    return p.reshape(x, np.expand_dims(np.empty(shape_of(x), dtype=bool), axis).shape)


def squeeze(x, axis=None):
    """Remove length-1 axes."""
    return p.reshape(x, np.squeeze(np.empty(shape_of(x), dtype=bool), axis).shape)


def swapaxes(x, axis1: int, axis2: int):
    """Interchange two axes."""
    axes = list(range(ndim_of(x)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return p.transpose(x, tuple(axes))


def ravel(x):
    """Flatten to one dimension."""
    return p.reshape(x, (-1,))


def trace(x):
    """Sum of the main diagonal of a matrix."""
    n = min(shape_of(x))
    return p.sum_(p.getitem(x, (np.arange(n), np.arange(n))))


def var(x, axis=None, keepdims: bool = False):
    """Variance (population: divides by the number of elements)."""
    centred = p.subtract(x, p.mean(x, axis=axis, keepdims=True))
    return p.mean(p.multiply(centred, centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims: bool = False):
    """Standard deviation (population)."""
    return p.sqrt(var(x, axis=axis, keepdims=keepdims))


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape (constant: no derivative flows through it)."""
    return np.zeros(shape_of(x), dtype=dtype or float)


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape (constant)."""
    return np.ones(shape_of(x), dtype=dtype or float)


def shape(x) -> tuple[int, ...]:
    return shape_of(x)


def ndim(x) -> int:
    return ndim_of(x)


def size(x) -> int:
    return int(np.size(value_of(x)))


def _compare(ufunc):
    def compare(x, y):
        return ufunc(value_of(x), value_of(y))

    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"``np.{ufunc.__name__}`` on the values (comparisons carry no derivative)."
    return compare


greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
