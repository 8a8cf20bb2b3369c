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
    """

    name: str
    impl: Callable
    vjps: dict[int, Callable]
    jvps: dict[int, Callable]
    broadcasts: bool

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


def make_primitive(impl: Callable, name: str | None = None, broadcasts: bool = False) -> Primitive:
    """Wrap ``impl`` as a primitive.

    On plain arguments it calls ``impl`` directly; otherwise it hands the call to the
    highest-level tracer among the arguments.  (A closure, not a class with ``__call__``:
    it is called for every operation and every rule, and a plain function call costs a
    third as much.)
    """

    def primitive(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1:  # the common case, without the search
            if isinstance(args[0], Traceable):
                return args[0]._dispatch(primitive, args, kwargs)
            return impl(*args, **kwargs) if kwargs else impl(args[0])
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
    """The shape of an array, a number or a traced value (arrays take the fast path)."""
    return x.shape if type(x) is np.ndarray else np.shape(value_of(x))


def ndim_of(x: Any) -> int:
    """The number of dimensions of an array, a number or a traced value."""
    return x.ndim if type(x) is np.ndarray else np.ndim(value_of(x))


class Tracer(Traceable):
    """A value under differentiation at some trace level.

    ``_value`` is the primal value (itself a tracer of a lower level when transforms are
    nested).  Operators, shape attributes and NumPy interoperation are shared by every kind
    of tracer; each trace defines how primitives are processed.
    """

    __slots__ = ("_value",)
    __array_priority__ = 100.0

    # Shape information comes from the primal value.
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(value_of(self))

    @property
    def ndim(self) -> int:
        return np.ndim(value_of(self))

    @property
    def size(self) -> int:
        return int(np.size(value_of(self)))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(value_of(self))

    def __len__(self) -> int:
        return len(value_of(self))

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
