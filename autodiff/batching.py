"""Batches of tangents and cotangents: many directions pushed through one sweep.

A ``Batched`` value holds a whole batch of tangents (or cotangents) along a leading axis of
its array, ``_value[k]`` being the k-th member.  Everywhere else it passes for one member:
``shape_of`` leaves the batch axis out, and the derivative rules, unchanged, apply to it as
they would to one tangent.  When a rule calls a primitive on it, the primitive's *batcher*
runs the NumPy function once on the whole batch (the table of batchers of the
``autodiff.numpy`` primitives is ``autodiff.numpy.batchers``).

This is how ``jacfwd`` gets many columns of a Jacobian from one forward sweep with as many
unit vectors as a batch of tangents (instead of one sweep per column), ``jacrev`` many rows
from one backward sweep, and ``hessian`` (forward over reverse) many columns of the matrix
from one sweep.

Each batch has its own trace level, like a transform, so batches of different transforms
never mix: a batch meets values of lower levels as constants, which is what they are to it.

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
        batcher = prim.batch
        if batcher is None:
            raise NotImplementedError(f"{prim.name} cannot be applied to a batch of tangents")
        return batcher(prim, self._level, args, kwargs)

    def __repr__(self) -> str:
        return f"Batched(level={self._level}, size={batch_size(self)}, shape={shape_of(self)})"


def batch_size(x: Batched) -> int:
    """The number of members of the batch ``x``."""
    return shape_of(x._value)[0]


Batcher = Callable[[Primitive, int, tuple, dict], Batched]
"""How a primitive applies to a batch: ``batcher(prim, level, args, kwargs)``, where some of
``args`` are batches of trace ``level``, gives the batch of the results."""


def batched(value: Any, level: int) -> Batched:
    """``Batched(value, level)``, made without a constructor call (a batcher makes one per
    primitive it applies)."""
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


def is_batched(x: Any, level: int) -> bool:
    """Whether ``x`` is a batch of trace ``level``."""
    return isinstance(x, Batched) and x._level == level
