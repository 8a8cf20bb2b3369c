"""Batches of tangents and cotangents: many directions pushed through one sweep.

A ``Batched`` value holds a whole batch of tangents (or cotangents) along a leading axis of
its array, ``_value[k]`` being the k-th member.  Everywhere else it passes for one member:
``shape_of`` leaves the batch axis out, and the derivative rules, unchanged, apply to it as
they would to one tangent.  When a rule calls a primitive on it, the primitive's *batching
rule* below runs the NumPy function once on the whole batch, with the axes moved over by
one where the function takes axes.

This is how ``jacfwd`` gets many columns of a Jacobian from one forward sweep with as many
unit vectors as a batch of tangents (instead of one sweep per column), ``jacrev`` many rows
from one backward sweep, and ``hessian`` (forward over reverse) many columns of the matrix
from one sweep.

Each batch has its own trace level, like a transform, so batches of different transforms
never mix: a batch meets values of lower levels as constants, which is what they are to it.
Most primitives are elementwise, and for them the batch axis is handled the way NumPy
broadcasting already is: each batched argument gets length-1 axes after its batch axis so
that it lines up with the other arguments.

A batch of B members makes every intermediate value B times as large as one tangent does,
and past a few megabytes the sweep is slowed by moving them through memory rather than by
arithmetic.  So the transforms size their batches from the intermediates: ``measure`` runs
a sweep while noting the size of one member of every batched value made at its level, and
the largest tells how many members fit in a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from autodiff.core import Primitive, Tracer, shape_of
from autodiff.numpy import primitives as p
from autodiff.numpy.primitives import _is_basic_index

_new = object.__new__

# The levels being measured (``measure``): level -> the largest number of numbers one member
# of a batched value of that level has held so far.  Every level belongs to one sweep (levels
# are never reused), so nested transforms and sweeps in other threads have entries of their
# own, and an entry lives only while its sweep runs.
_largest: dict[int, int] = {}


class Batched(Tracer):
    """A batch of tangents or cotangents at trace level ``_level``: ``_value`` has one
    leading axis more than the value it stands for."""

    __slots__ = ("_level",)
    _batch_axes = 1

    def __init__(self, value: Any, level: int) -> None:
        self._value = value
        self._level = level
        if level in _largest:
            _note(value, level)

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Batched:
        rule = prim.batch
        if rule is None:
            raise NotImplementedError(f"{prim.name} cannot be applied to a batch of tangents")
        return rule(prim, self._level, args, kwargs)

    def __repr__(self) -> str:
        return f"Batched(level={self._level}, size={batch_size(self)}, shape={shape_of(self)})"


def batch_size(x: Batched) -> int:
    """The number of members of the batch ``x``."""
    return shape_of(x._value)[0]


def _wrap(value: Any, level: int) -> Batched:
    out = _new(Batched)
    out._value = value
    out._level = level
    if level in _largest:
        _note(value, level)
    return out


def _note(value: Any, level: int) -> None:
    """Record the size of one member of the batched ``value`` for ``measure``."""
    shape = value.shape if type(value) is np.ndarray else shape_of(value)
    member = prod(shape[1:])
    if member > _largest[level]:
        _largest[level] = member


def measure(level: int, sweep: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``sweep()`` and return its result with the largest number of numbers that one
    member of any batched value of trace ``level`` held during it (0 if none was made).

    Only values of ``level`` count: the members of a batch of an enclosing transform are
    measured by that transform, those of a nested one by the nested one (a nested batch
    inside one member shows up in that member's size).  ``level`` must be fresh, as from
    ``autodiff.core.new_level``: its entry is made here and removed when the sweep ends.
    """
    _largest[level] = 0
    try:
        result = sweep()
    finally:
        largest = _largest.pop(level)
    return result, largest


def _member(x: Any, level: int) -> bool:
    return isinstance(x, Batched) and x._level == level


def _rank(x: Any) -> int:
    """``len(shape_of(x))``, fast for arrays, numbers and batches of arrays."""
    t = type(x)
    if t is np.ndarray or t is np.float64:
        return x.ndim
    if t is float or t is int:
        return 0
    if t is Batched and type(x._value) is np.ndarray:
        return x._value.ndim - 1
    return len(shape_of(x))


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return x.reshape(shape) if type(x) is np.ndarray else p.reshape(x, shape)


def _shift(axis: Any, ndim: int) -> Any:
    """``axis`` of one member as an axis of the whole batch."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(a + 1 if a >= 0 else a for a in axis)
    return axis + 1 if axis >= 0 else axis


# -- batching rules: rule(prim, level, args, kwargs) -> Batched --------------------------------
def elementwise(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """Elementwise functions, broadcasting ones included: line every batched argument up
    with the others by inserting length-1 axes after its batch axis."""
    if len(args) == 1:
        return _wrap(prim(args[0]._value, **kwargs), level)
    if len(args) == 2:  # no argument with fewer axes than the other: nothing to line up
        x, y = args
        if _member(x, level):
            if _member(y, level):
                if _rank(x) == _rank(y):
                    return _wrap(prim(x._value, y._value, **kwargs), level)
            elif _rank(x) >= _rank(y):
                return _wrap(prim(x._value, y, **kwargs), level)
        elif _rank(y) >= _rank(x):
            return _wrap(prim(x, y._value, **kwargs), level)
    shapes = [shape_of(a) for a in args]
    ndim = max(len(s) for s in shapes)
    raws = list(args)
    for i, a in enumerate(args):
        if _member(a, level):
            raw = a._value
            if len(shapes[i]) < ndim:
                size = shape_of(raw)[0]
                raw = _reshape(raw, (size,) + (1,) * (ndim - len(shapes[i])) + shapes[i])
            raws[i] = raw
    return _wrap(prim(*raws, **kwargs), level)


def reduction(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``f(x, axis=None, keepdims=False)``: reduce over the same axes of every member."""
    x, *rest = args
    axis = rest[0] if rest else kwargs.get("axis")
    keepdims = rest[1] if len(rest) > 1 else kwargs.get("keepdims", False)
    axis = _shift(axis, len(shape_of(x)))
    return _wrap(prim(x._value, axis=axis, keepdims=keepdims), level)


def reshape(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x, shape = args if len(args) == 2 else (args[0], kwargs["shape"])
    raw = x._value
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _wrap(p.reshape(raw, (shape_of(raw)[0], *shape)), level)


def transpose(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x = args[0]
    axes = args[1] if len(args) > 1 else kwargs.get("axes")
    ndim = len(shape_of(x))
    if axes is None:
        axes = tuple(range(ndim, 0, -1))
    else:
        axes = tuple(a % ndim + 1 for a in axes)
    return _wrap(p.transpose(x._value, (0, *axes)), level)


def broadcast_to(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x, shape = args if len(args) == 2 else (args[0], kwargs["shape"])
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    raw, own = x._value, shape_of(x)
    size = shape_of(raw)[0]
    if len(own) < len(shape):
        raw = _reshape(raw, (size,) + (1,) * (len(shape) - len(own)) + own)
    return _wrap(p.broadcast_to(raw, (size, *shape)), level)


def _batch_last(raw: Any) -> Any:
    ndim = len(shape_of(raw))
    return p.transpose(raw, (*range(1, ndim), 0))


def _batch_first(raw: Any) -> Any:
    ndim = len(shape_of(raw))
    return p.transpose(raw, (ndim - 1, *range(ndim - 1)))


def _index_with_batch_last(index: tuple) -> tuple:
    """``index`` extended to an array whose last axis is the batch."""
    if any(part is Ellipsis for part in index):
        return (*index, slice(None))
    return (*index, Ellipsis, slice(None))


def getitem(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """Basic indices apply behind a full slice of the batch axis; advanced ones (which may
    move the axes they index to the front) to the batch moved to the last axis."""
    x, index = args
    index = index if isinstance(index, tuple) else (index,)
    raw = x._value
    if _is_basic_index(index):
        return _wrap(p.getitem(raw, (slice(None), *index)), level)
    out = p.getitem(_batch_last(raw), _index_with_batch_last(index))
    return _wrap(_batch_first(out), level)


def untake(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """The adjoint of ``getitem``, batched the same way."""
    g, index, shape = args
    index = index if isinstance(index, tuple) else (index,)
    raw = g._value
    size = shape_of(raw)[0]
    if _is_basic_index(index):
        return _wrap(p.untake(raw, (slice(None), *index), (size, *shape)), level)
    out = p.untake(_batch_last(raw), _index_with_batch_last(index), (*shape, size))
    return _wrap(_batch_first(out), level)


def _join(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``concatenate_args`` and ``stack_args``: members of the batch are joined along the
    same axis, and arrays that are not batched are repeated for every member."""
    axis, *arrays = args
    size = next(shape_of(a._value)[0] for a in arrays if _member(a, level))
    raws = [
        a._value if _member(a, level) else p.broadcast_to(a, (size, *shape_of(a))) for a in arrays
    ]
    return _wrap(prim(axis + 1 if axis >= 0 else axis, *raws), level)


def matmul(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``a @ b`` for every member.  A batch times a matrix (or a matrix times a batch) is
    one matrix product with the batch folded into the rows (or columns), which is what
    ``jacfwd`` and ``hessian`` of a layer ``A @ w`` need."""
    a, b = args
    batched_a, batched_b = _member(a, level), _member(b, level)
    sa, sb = shape_of(a), shape_of(b)
    if batched_a and not batched_b and len(sb) in (1, 2) and sa:
        raw = a._value
        size = shape_of(raw)[0]
        out = p.matmul(_reshape(raw, (-1, sa[-1])), b)
        return _wrap(_reshape(out, (size, *sa[:-1], *sb[1:])), level)
    if batched_b and not batched_a and len(sa) == 2 and sb:
        raw = b._value
        size = shape_of(raw)[0]
        if len(sb) == 1:  # (B, k) @ a.T
            return _wrap(p.matmul(raw, p.transpose(a)), level)
        if len(sb) == 2 and sb[1] == 1:  # a column, as reverse mode makes of a vector
            out = p.matmul(_reshape(raw, (size, sb[0])), p.transpose(a))
            return _wrap(_reshape(out, (size, sa[0], 1)), level)
        # (B, ..., k, n): k to the front, everything else into the columns
        ndim = len(sb) + 1
        k_axis = ndim - 2
        rest = (0, *range(1, k_axis), ndim - 1)
        columns = _reshape(p.transpose(raw, (k_axis, *rest)), (sb[-2], -1))
        out = _reshape(p.matmul(a, columns), (sa[0], size, *sb[:-2], sb[-1]))
        return _wrap(p.transpose(out, (1, *range(2, ndim - 1), 0, ndim - 1)), level)
    return _wrap(_stacked_matmul(a, b, batched_a, batched_b, sa, sb), level)


def _stacked_matmul(a, b, batched_a, batched_b, sa, sb):
    """The general case: vectors promoted to matrices as NumPy does, batch dimensions lined
    up, one stacked product, and the promoted axes removed again."""
    raw_a = a._value if batched_a else a
    raw_b = b._value if batched_b else b
    size = shape_of(raw_a if batched_a else raw_b)[0]
    vec_a, vec_b = len(sa) == 1, len(sb) == 1
    ma = (1, *sa) if vec_a else sa
    mb = (*sb, 1) if vec_b else sb
    ndim = max(len(ma), len(mb))
    if batched_a:
        raw_a = _reshape(raw_a, (size,) + (1,) * (ndim - len(ma)) + ma)
    elif vec_a:
        raw_a = _reshape(raw_a, ma)
    if batched_b:
        raw_b = _reshape(raw_b, (size,) + (1,) * (ndim - len(mb)) + mb)
    elif vec_b:
        raw_b = _reshape(raw_b, mb)
    out = p.matmul(raw_a, raw_b)
    batch = np.broadcast_shapes(ma[:-2], mb[:-2])
    shape = (*batch, *(() if vec_a else (ma[-2],)), *(() if vec_b else (mb[-1],)))
    return _reshape(out, (size, *shape))


# -- the table: how each primitive meets a batch ------------------------------------------------
for _prim in (
    p.negative, p.exp, p.log, p.log1p, p.expm1, p.sqrt, p.square, p.absolute, p.sin, p.cos,
    p.tan, p.tanh, p.sigmoid, p.softplus, p.relu, p.add, p.subtract, p.multiply,
    p.true_divide, p.power, p.maximum, p.minimum, p.where,
):  # fmt: skip
    _prim.batch = elementwise
for _prim in (p.sum_, p.mean, p.max_, p.min_, p.logsumexp):
    _prim.batch = reduction
p.reshape.batch = reshape
p.transpose.batch = transpose
p.broadcast_to.batch = broadcast_to
p.getitem.batch = getitem
p.untake.batch = untake
p.concatenate_args.batch = _join
p.stack_args.batch = _join
p.matmul.batch = matmul
