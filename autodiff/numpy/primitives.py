"""The differentiable NumPy functions: each is a ``Primitive`` around a NumPy implementation.

Their derivative rules live in one table, ``autodiff.numpy.rules``.  Functions that are not
primitives here are compositions of primitives (``softmax``, ``outer``, ``stack`` ...), so
they are differentiable to any order without rules of their own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.core import make_primitive, shape_of, value_of


def primitive(impl=None, *, broadcasts: bool = False, name: str | None = None):
    """Wrap a NumPy function as a primitive (usable as a decorator)."""
    if impl is None:
        return lambda f: make_primitive(f, name=name, broadcasts=broadcasts)
    return make_primitive(impl, name=name, broadcasts=broadcasts)


# -- elementwise, one argument ------------------------------------------------------------
negative = primitive(np.negative)
exp = primitive(np.exp)
log = primitive(np.log)
log1p = primitive(np.log1p)
expm1 = primitive(np.expm1)
sqrt = primitive(np.sqrt)
square = primitive(np.square)
absolute = primitive(np.absolute, name="abs")
sin = primitive(np.sin)
cos = primitive(np.cos)
tan = primitive(np.tan)
tanh = primitive(np.tanh)


@primitive
def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^{-x}), accurate in both tails (no overflow, no 1 - 1)."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@primitive
def softplus(x):
    """Soft ReLU log(1 + e^x) (the book's (8.46)), without overflow for large x."""
    return np.logaddexp(0.0, x)


@primitive
def relu(x):
    """Rectified linear unit max(x, 0); its derivative at 0 is taken as 0."""
    return np.maximum(x, 0.0)


# -- elementwise, two arguments, with NumPy broadcasting ----------------------------------
add = primitive(np.add, broadcasts=True)
subtract = primitive(np.subtract, broadcasts=True)
multiply = primitive(np.multiply, broadcasts=True)
true_divide = primitive(np.true_divide, broadcasts=True)


@primitive(broadcasts=True)
def power(x, y):
    """``x ** y`` elementwise (NumPy's fast paths for small integer powers included)."""
    if type(x) is np.ndarray and type(y) is int:
        return x**y
    if isinstance(y, (int, float)) or np.ndim(y) == 0:
        return np.asarray(x) ** y
    return np.power(x, y)


maximum = primitive(np.maximum, broadcasts=True)
minimum = primitive(np.minimum, broadcasts=True)
divide = true_divide


@primitive(broadcasts=True)
def where(condition, x, y):
    """Elementwise choice ``x`` where ``condition`` holds, else ``y`` (not differentiable in
    ``condition``)."""
    return np.where(condition, x, y)


# -- reductions -----------------------------------------------------------------------------
@primitive(name="sum")
def sum_(x, axis=None, keepdims=False):
    if axis is None and not keepdims and type(x) is np.ndarray:
        return _add_reduce(x, None)
    return _add_reduce(np.asarray(x), axis=axis, keepdims=keepdims)


_add_reduce = np.add.reduce


@primitive
def mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)


@primitive(name="max")
def max_(x, axis=None, keepdims=False):
    """Maximum along ``axis``; the gradient is shared equally among tied maxima."""
    return np.max(x, axis=axis, keepdims=keepdims)


@primitive(name="min")
def min_(x, axis=None, keepdims=False):
    """Minimum along ``axis``; the gradient is shared equally among tied minima."""
    return np.min(x, axis=axis, keepdims=keepdims)


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) along ``axis``, shifted by the maximum so that it never overflows."""
    x = np.asarray(x, dtype=float)
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


# -- shape -----------------------------------------------------------------------------------
@primitive
def reshape(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


@primitive
def transpose(x, axes=None):
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def broadcast_view(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` repeated to ``shape``, as ``np.broadcast_to`` does, faster on small arrays: up
    to ``SMALL`` elements the result is a new array filled in (``np.broadcast_to`` costs ten
    times as much there, which is most of the cost of the cotangent of a sum over a small
    array); larger ones are a read-only view, as ``np.broadcast_to`` gives."""
    if type(shape) is int:
        shape = (shape,)
    if (type(x) is np.ndarray or type(x) is np.float64) and math.prod(shape) <= SMALL:
        out = np.empty(shape, x.dtype)
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


SMALL = 4096
broadcast_to = primitive(broadcast_view, name="broadcast_to")


@primitive(name="getitem")
def getitem(x, index):
    """``x[index]`` for basic and advanced NumPy indexing."""
    return x[index]


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


@primitive
def untake(g, index, shape):
    """Scatter ``g`` into zeros of ``shape`` at ``index``, adding repeated entries: the
    adjoint of ``getitem``."""
    out = np.zeros(shape, dtype=np.result_type(g, np.float64))
    if _is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


@primitive
def concatenate_args(axis, *arrays):
    """``np.concatenate(arrays, axis)`` with the arrays as separate arguments, so that each can
    be traced."""
    return np.concatenate(arrays, axis=axis)


@primitive
def stack_args(axis, *arrays):
    """``np.stack(arrays, axis)`` with the arrays as separate arguments."""
    return np.stack(arrays, axis=axis)


# -- linear algebra ------------------------------------------------------------------------
@primitive
def matmul(a, b):
    """Matrix product ``a @ b`` with NumPy's rules for 1-D operands and stacks."""
    try:
        return np.matmul(a, b)
    except ValueError:
        raise ValueError(
            f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not align (the last axis of "
            f"the first must equal the second-to-last axis of the second)"
        ) from None


def sign(x):
    """Elementwise sign (piecewise constant: it carries no derivative)."""
    return np.sign(value_of(x))


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes NumPy broadcasting added or stretched to reach ``g``'s shape
    from ``shape``: the adjoint of broadcasting."""
    g_shape = shape_of(g)
    if g_shape == shape:
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1
    )
    if axes:
        g = sum_(g, axis=axes, keepdims=True)
    return reshape(g, shape)


def broadcast_as(t: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a tangent to ``shape`` when broadcasting left it smaller."""
    if shape_of(t) == shape:
        return t
    return broadcast_to(t, shape)
