"""Broadcasting and its adjoint, for the forward and the backward sweep alike.

A primitive marked ``broadcasts`` (``x + b``, ``x * y``, ``where`` ...) follows NumPy's
broadcasting: an argument of fewer or length-1 axes is repeated to the output's shape.  Its
derivative rules are written as if no argument were repeated, and the sweeps fix the shapes
once, here: forward mode repeats a smaller tangent to the output's shape
(``broadcast_like``), and reverse mode sums a cotangent over the repeated axes back to the
argument's shape (``unbroadcast_like``), since an argument used at many places of the output
receives the sum of their adjoints, (8.69).

Plain arrays take NumPy directly (``broadcast_view``, ``sum_to``).  A traced value (a
derivative being differentiated again, a batch of tangents, a recorded program) goes through
NumPy's own ``np.broadcast_to``, ``np.sum`` and ``np.reshape``, which hand the call to the
differentiable functions of ``autodiff.numpy`` (the ``__array_function__`` protocol of
traced values, ``autodiff.numpy.methods``): so this module needs nothing above
``autodiff.core``, and what it does to a traced value is recorded like any other step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff.core import Traceable, shape_of

SMALL = 4096
"""Up to this many elements ``broadcast_view`` fills a new array rather than making a view."""

_ndarray = np.ndarray
_float64 = np.float64
_add_reduce = np.add.reduce


def broadcast_view(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` repeated to ``shape``, as ``np.broadcast_to`` does, faster on small arrays: up
    to ``SMALL`` elements the result is a new array filled in (``np.broadcast_to`` costs ten
    times as much there, which is most of the cost of the cotangent of a sum over a small
    array); larger ones are a read-only view, as ``np.broadcast_to`` gives."""
    if type(shape) is int:
        shape = (shape,)
    if (type(x) is _ndarray or type(x) is _float64) and math.prod(shape) <= SMALL:
        out = np.empty(shape, x.dtype)
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The array ``g`` summed over the axes broadcasting added or stretched to reach its shape
    from ``shape``."""
    g_shape = g.shape
    lead = len(g_shape) - len(shape)
    if lead == 1 and g_shape[1:] == shape:  # a bias added to every row, say
        return _add_reduce(g, axis=0)
    if lead < 0:
        return np.reshape(g, shape)
    if lead:
        g = _add_reduce(g, axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = _add_reduce(g, axis=stretched, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` summed over the axes broadcasting added or stretched to reach ``g``'s shape from
    ``shape``: the adjoint of broadcasting (differentiable on traced values)."""
    g_shape = shape_of(g)
    if g_shape == shape:
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1
    )
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def unbroadcast_like(c: Any, arg: Any) -> Any:
    """The cotangent ``c`` of a broadcasting primitive summed back to the shape of its
    argument ``arg`` (straight in NumPy for arrays and NumPy scalars)."""
    tc, ta = type(c), type(arg)
    if (tc is _ndarray or tc is _float64) and (ta is _ndarray or ta is _float64):
        return c if c.shape == arg.shape else sum_to(c, arg.shape)
    return unbroadcast(c, shape_of(arg))


def broadcast_like(t: Any, ans: Any) -> Any:
    """The tangent ``t`` of an argument of a broadcasting primitive repeated to the shape of
    its output ``ans`` (differentiable on traced values)."""
    if type(t) is _ndarray and type(ans) is _ndarray:
        return t if t.shape == ans.shape else broadcast_view(t, ans.shape)
    shape = shape_of(ans)
    if shape_of(t) == shape:
        return t
    return np.broadcast_to(t, shape) if isinstance(t, Traceable) else broadcast_view(t, shape)
