"""The differentiable NumPy functions: each is a ``Primitive`` around a NumPy implementation.

Their derivative rules live in one table, ``autodiff.numpy.rules``.  Functions that are not
primitives here are compositions of primitives (``softmax``, ``outer``, ``stack`` ...), so
they are differentiable to any order without rules of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import activations
from autodiff.broadcasting import broadcast_view
from autodiff.core import make_primitive, value_of


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
sigmoid = primitive(activations.sigmoid)
softplus = primitive(activations.softplus)
relu = primitive(activations.relu)


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


broadcast_to = primitive(broadcast_view, name="broadcast_to")


@primitive(name="getitem")
def getitem(x, index):
    """``x[index]`` for basic and advanced NumPy indexing."""
    return x[index]


def is_basic_index(index: Any) -> bool:
    """Whether ``index`` is NumPy basic indexing (integers, slices, None, Ellipsis)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


@primitive
def untake(g, index, shape):
    """Scatter ``g`` into zeros of ``shape`` at ``index``, adding repeated entries: the
    adjoint of ``getitem``."""
    out = np.zeros(shape, dtype=np.result_type(g, np.float64))
    if is_basic_index(index):
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
