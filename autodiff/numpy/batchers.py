"""The batchers of the ``autodiff.numpy`` primitives: how each one applies to a batch of
tangents or cotangents (``autodiff.batching``), in one table, ``BATCHERS``.

A batcher runs the primitive's NumPy function once on the whole batch, its members stacked
along a leading axis, with the axes moved over by one where the function takes axes.  Most
primitives are elementwise, and for them the batch axis is handled the way NumPy
broadcasting already is: each batched argument gets length-1 axes after its batch axis so
that it lines up with the other arguments.  Batchers are named after their primitive with
``_batcher`` appended, as JAX names its batching rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.batching import Batched, Batcher, batched, is_batched
from autodiff.core import Primitive, shape_of
from autodiff.numpy import primitives as p


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


# -- the batchers: batcher(prim, level, args, kwargs) -> Batched ------------------------------
def elementwise_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """Elementwise functions, broadcasting ones included: line every batched argument up
    with the others by inserting length-1 axes after its batch axis."""
    if len(args) == 1:
        return batched(prim(args[0]._value, **kwargs), level)
    if len(args) == 2:  # no argument with fewer axes than the other: nothing to line up
        x, y = args
        if is_batched(x, level):
            if is_batched(y, level):
                if _rank(x) == _rank(y):
                    return batched(prim(x._value, y._value, **kwargs), level)
            elif _rank(x) >= _rank(y):
                return batched(prim(x._value, y, **kwargs), level)
        elif _rank(y) >= _rank(x):
            return batched(prim(x, y._value, **kwargs), level)
    shapes = [shape_of(a) for a in args]
    ndim = max(len(s) for s in shapes)
    raws = list(args)
    for i, a in enumerate(args):
        if is_batched(a, level):
            raw = a._value
            if len(shapes[i]) < ndim:
                size = shape_of(raw)[0]
                raw = _reshape(raw, (size,) + (1,) * (ndim - len(shapes[i])) + shapes[i])
            raws[i] = raw
    return batched(prim(*raws, **kwargs), level)


def reduction_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``f(x, axis=None, keepdims=False)``: reduce over the same axes of every member."""
    x, *rest = args
    axis = rest[0] if rest else kwargs.get("axis")
    keepdims = rest[1] if len(rest) > 1 else kwargs.get("keepdims", False)
    axis = _shift(axis, len(shape_of(x)))
    return batched(prim(x._value, axis=axis, keepdims=keepdims), level)


def reshape_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x, shape = args if len(args) == 2 else (args[0], kwargs["shape"])
    raw = x._value
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return batched(p.reshape(raw, (shape_of(raw)[0], *shape)), level)


def transpose_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x = args[0]
    axes = args[1] if len(args) > 1 else kwargs.get("axes")
    ndim = len(shape_of(x))
    if axes is None:
        axes = tuple(range(ndim, 0, -1))
    else:
        axes = tuple(a % ndim + 1 for a in axes)
    return batched(p.transpose(x._value, (0, *axes)), level)


def broadcast_to_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    x, shape = args if len(args) == 2 else (args[0], kwargs["shape"])
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    raw, own = x._value, shape_of(x)
    size = shape_of(raw)[0]
    if len(own) < len(shape):
        raw = _reshape(raw, (size,) + (1,) * (len(shape) - len(own)) + own)
    return batched(p.broadcast_to(raw, (size, *shape)), level)


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


def getitem_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """Basic indices apply behind a full slice of the batch axis; advanced ones (which may
    move the axes they index to the front) to the batch moved to the last axis."""
    x, index = args
    index = index if isinstance(index, tuple) else (index,)
    raw = x._value
    if p.is_basic_index(index):
        return batched(p.getitem(raw, (slice(None), *index)), level)
    out = p.getitem(_batch_last(raw), _index_with_batch_last(index))
    return batched(_batch_first(out), level)


def untake_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """The adjoint of ``getitem``, batched the same way."""
    g, index, shape = args
    index = index if isinstance(index, tuple) else (index,)
    raw = g._value
    size = shape_of(raw)[0]
    if p.is_basic_index(index):
        return batched(p.untake(raw, (slice(None), *index), (size, *shape)), level)
    out = p.untake(_batch_last(raw), _index_with_batch_last(index), (*shape, size))
    return batched(_batch_first(out), level)


def join_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``concatenate_args`` and ``stack_args``: members of the batch are joined along the
    same axis, and arrays that are not batched are repeated for every member."""
    axis, *arrays = args
    size = next(shape_of(a._value)[0] for a in arrays if is_batched(a, level))
    raws = [
        a._value if is_batched(a, level) else p.broadcast_to(a, (size, *shape_of(a)))
        for a in arrays
    ]
    return batched(prim(axis + 1 if axis >= 0 else axis, *raws), level)


def matmul_batcher(prim: Primitive, level: int, args: tuple, kwargs: dict) -> Batched:
    """``a @ b`` for every member.  A batch times a matrix (or a matrix times a batch) is
    one matrix product with the batch folded into the rows (or columns), which is what
    ``jacfwd`` and ``hessian`` of a layer ``A @ w`` need."""
    a, b = args
    batched_a, batched_b = is_batched(a, level), is_batched(b, level)
    sa, sb = shape_of(a), shape_of(b)
    if batched_a and not batched_b and len(sb) in (1, 2) and sa:
        raw = a._value
        size = shape_of(raw)[0]
        out = p.matmul(_reshape(raw, (-1, sa[-1])), b)
        return batched(_reshape(out, (size, *sa[:-1], *sb[1:])), level)
    if batched_b and not batched_a and len(sa) == 2 and sb:
        raw = b._value
        size = shape_of(raw)[0]
        if len(sb) == 1:  # (B, k) @ a.T
            return batched(p.matmul(raw, p.transpose(a)), level)
        if len(sb) == 2 and sb[1] == 1:  # a column, as reverse mode makes of a vector
            out = p.matmul(_reshape(raw, (size, sb[0])), p.transpose(a))
            return batched(_reshape(out, (size, sa[0], 1)), level)
        # (B, ..., k, n): k to the front, everything else into the columns
        ndim = len(sb) + 1
        k_axis = ndim - 2
        rest = (0, *range(1, k_axis), ndim - 1)
        columns = _reshape(p.transpose(raw, (k_axis, *rest)), (sb[-2], -1))
        out = _reshape(p.matmul(a, columns), (sa[0], size, *sb[:-2], sb[-1]))
        return batched(p.transpose(out, (1, *range(2, ndim - 1), 0, ndim - 1)), level)
    return batched(_stacked_matmul(a, b, batched_a, batched_b, sa, sb), level)


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


# -- the table: the batcher of each primitive ---------------------------------------------------
ELEMENTWISE = (
    p.negative, p.exp, p.log, p.log1p, p.expm1, p.sqrt, p.square, p.absolute, p.sin, p.cos,
    p.tan, p.tanh, p.sigmoid, p.softplus, p.relu, p.add, p.subtract, p.multiply,
    p.true_divide, p.power, p.maximum, p.minimum, p.where,
)  # fmt: skip
REDUCTIONS = (p.sum_, p.mean, p.max_, p.min_, p.logsumexp)

BATCHERS: dict[Primitive, Batcher] = {
    **dict.fromkeys(ELEMENTWISE, elementwise_batcher),
    **dict.fromkeys(REDUCTIONS, reduction_batcher),
    p.reshape: reshape_batcher,
    p.transpose: transpose_batcher,
    p.broadcast_to: broadcast_to_batcher,
    p.getitem: getitem_batcher,
    p.untake: untake_batcher,
    p.concatenate_args: join_batcher,
    p.stack_args: join_batcher,
    p.matmul: matmul_batcher,
}

for _prim, _batcher in BATCHERS.items():
    _prim.batch = _batcher
