"""Primitives, tracers and trace levels: the dispatch every transform is built on.

A *primitive* is a NumPy function with known derivative rules (``autodiff.numpy.rules``).
Calling it on plain arrays runs NumPy directly.  Calling it on a *tracer* (a value being
differentiated) hands the call to the tracer's *trace*, which computes the result and records
what reverse mode or forward mode needs.

Every transform (``grad``, ``jvp``, ...) opens a new trace with a level one higher than any
open trace.  When a primitive receives tracers of several levels it dispatches to the
highest; the lower-level tracers ride along as ordinary values, so their own traces record
the inner computation.  This keeps nested transforms from confusing each other's
perturbations (the classic test: d/dx [x * d/dy (x + y)] = 1), and because every derivative
rule is itself written with primitives, rules applied to tracers are recorded too: that is
how higher derivatives arise by composition.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

_levels = itertools.count(1)


class Traceable:
    """Base class of objects that primitives hand their calls to.

    ``_level`` orders them: transform traces are 1, 2, ... in the order they are opened;
    the imperative ``Tensor`` graph is level 0; scalar-like objects are below it.
    """

    __slots__ = ()
    _level: int

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        raise NotImplementedError


class Primitive(Protocol):
    """A differentiable function: a NumPy implementation plus rules registered for it.

    ``vjps[i](g, ans, *args, **kwargs)`` is the vector-Jacobian product for argument ``i``
    and ``jvps[i](t, ans, *args, **kwargs)`` the Jacobian-vector product, both written with
    primitives so that they can be differentiated again.  ``broadcasts`` marks NumPy
    broadcasting binary ops: their cotangents are summed back to each argument's shape and
    their tangents broadcast to the output's shape by the traces, not by every rule.
    ``batch`` is the primitive's batcher, how it applies to values that carry a leading
    batch axis (``autodiff.batching``; the table is ``autodiff.numpy.batchers``): that is
    how one sweep pushes many tangents or cotangents.
    """

    name: str
    impl: Callable
    vjps: dict[int, Callable]
    jvps: dict[int, Callable]
    broadcasts: bool
    batch: Callable | None

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def make_primitive(impl: Callable, name: str | None = None, broadcasts: bool = False) -> Primitive:
    """Wrap ``impl`` as a primitive.

    On plain arguments it calls ``impl`` directly; otherwise it hands the call to the
    highest-level tracer among the arguments.  (A closure, not a class with ``__call__``:
    it is called for every operation and every rule, and a plain function call costs a
    third as much.  Calls with one or two positional arguments, nearly all of them, find
    that tracer without a loop.)
    """

    def primitive(*args: Any, **kwargs: Any) -> Any:
        n = len(args)
        if n == 1:
            x = args[0]
            if isinstance(x, Traceable):
                return x._dispatch(primitive, args, kwargs)
            return impl(x, **kwargs) if kwargs else impl(x)
        if n == 2:
            x, y = args
            if isinstance(x, Traceable):
                if isinstance(y, Traceable) and y._level > x._level:
                    return y._dispatch(primitive, args, kwargs)
                return x._dispatch(primitive, args, kwargs)
            if isinstance(y, Traceable):
                return y._dispatch(primitive, args, kwargs)
            return impl(x, y, **kwargs) if kwargs else impl(x, y)
        top = None
        for arg in args:
            if isinstance(arg, Traceable) and (top is None or arg._level > top._level):
                top = arg
        if top is None:
            return impl(*args, **kwargs) if kwargs else impl(*args)
        return top._dispatch(primitive, args, kwargs)

    primitive.name = name or impl.__name__
    primitive.__name__ = primitive.__qualname__ = primitive.name
    primitive.__doc__ = impl.__doc__
    primitive.__wrapped__ = impl
    primitive.impl = impl
    primitive.vjps = {}
    primitive.jvps = {}
    primitive.broadcasts = broadcasts
    primitive.batch = None
    return primitive


def new_level() -> int:
    """A level above every trace opened so far."""
    return next(_levels)


class ScalarLike(Traceable):
    """Scalar objects with their own elementary functions as methods (``Scalar`` and the
    evaluation-trace variables of ``autodiff.algorithms.traces``).

    A primitive given such an object calls its method of the same name, so ``anp.exp(s)``
    is ``s.exp()``; binary arithmetic goes through the operators.
    """

    __slots__ = ()
    _level = -1

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Any:
        operator = _SCALAR_OPERATORS.get(prim.name)
        if operator is not None:
            return operator(*args)
        method = getattr(args[0], prim.name, None)
        if method is None or kwargs or len(args) != 1:
            raise TypeError(
                f"{type(self).__name__} does not support autodiff.numpy.{prim.name}; "
                f"use the elementary functions it defines as methods"
            )
        return method()


def _power(x: Any, y: Any) -> Any:
    return x**y


_SCALAR_OPERATORS: dict[str, Callable] = {
    "add": lambda x, y: x + y,
    "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "true_divide": lambda x, y: x / y,
    "divide": lambda x, y: x / y,
    "power": _power,
    "negative": lambda x: -x,
}


def value_of(x: Any) -> Any:
    """Strip every tracer level from ``x`` and return the plain NumPy value."""
    while isinstance(x, Tracer):
        x = x._value
    return x


def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of an array, a number or a traced value (arrays take the fast path).

    A value that carries a batch of tangents or cotangents (``autodiff.batching``) has the
    shape of one member of the batch: its leading batch axis is not counted.
    """
    if type(x) is np.ndarray:
        return x.shape
    drop = 0
    while isinstance(x, Tracer):
        drop += x._batch_axes
        x = x._value
    return np.shape(x)[drop:] if drop else np.shape(x)


def ndim_of(x: Any) -> int:
    """The number of dimensions of an array, a number or a traced value."""
    return x.ndim if type(x) is np.ndarray else len(shape_of(x))


class Tracer(Traceable):
    """A value under differentiation at some trace level.

    ``_value`` is the primal value (itself a tracer of a lower level when transforms are
    nested).  Operators, shape attributes and NumPy interoperation are shared by every kind
    of tracer; each trace defines how primitives are processed.
    """

    __slots__ = ("_value",)
    __array_priority__ = 100.0
    _batch_axes = 0  # leading axes of ``_value`` that are not part of the traced value

    # Shape information comes from the primal value.
    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self)

    @property
    def ndim(self) -> int:
        return len(shape_of(self))

    @property
    def size(self) -> int:
        return int(np.prod(shape_of(self), dtype=int))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(value_of(self))

    def __len__(self) -> int:
        shape = shape_of(self)
        if not shape:
            raise TypeError("len() of a 0-d traced value")
        return shape[0]

    def __bool__(self) -> bool:
        return bool(value_of(self))

    def __float__(self) -> float:
        return float(value_of(self))

    def __int__(self) -> int:
        return int(value_of(self))

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            "in-place assignment to a traced array is not differentiable; build the array "
            "with autodiff.numpy.where, stack or concatenate instead"
        )

    def __hash__(self) -> int:
        return id(self)
