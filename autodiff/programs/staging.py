"""Recording a NumPy computation as a straight-line program.

A ``Var`` is one variable of the program being recorded: the operation that made it (a
primitive of ``autodiff.numpy``, or any NumPy function, method or attribute), the variables
and constants it was made from, and its value at the point being traced.  Calling a
function on input ``Var``\\ s runs it once, as NumPy would, and leaves behind the program
it ran: from the outputs back through ``args`` to the inputs, every variable made after its
arguments, so that creation order (``index``) is an order in which the program can run.
That is the evaluation trace of Section 8.2.1, (8.50)-(8.56), recorded from the code itself.
``needed(outputs)`` lists the variables some output depends on, in that order, and
``arguments(var)`` the variables one step reads.

``Var`` sits below every trace level (``STAGING_LEVEL``): inside ``grad``, ``jvp`` or any
nesting of transforms the tracers of those transforms hold ``Var``\\ s as their values, so
the forward sweep, the backward sweep (8.69) and the tangent sweep (8.57) are all recorded,
rule by rule, from the one table of derivative rules (``autodiff.numpy.rules``).  A value
the rules or the function read through ``value_of`` (a mask, a sign) is a ``Var`` too, so
it is recomputed when the program runs instead of being frozen at the traced point.

What a straight-line program cannot hold is a decision taken on a value: ``bool()``,
``float()``, ``int()``, an index or a conversion to a NumPy array of a ``Var`` raises
``ValueDependentError``, naming the line of the function that asked for it; or, inside
``reading_values()``, gives the value at the traced point, so that the program records the
path the call took (the chapter's evaluation trace of a function with branches, Section 8.2).
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autodiff.core import Primitive, Traceable, Tracer
from autodiff.numpy import methods as _methods

STAGING_LEVEL = -2  # below Scalar-like objects (-1), Tensor graphs (0) and every transform
_PACKAGE = str(Path(__file__).resolve().parents[1])
_counter = itertools.count()
_new = object.__new__


_reads: list[str] | None = None  # where values were read, while ``reading_values`` is on


@contextlib.contextmanager
def reading_values(allowed: bool = True) -> Iterator[list[str] | None]:
    """Record one path: within this block, a ``Var`` used as a Python value (in an ``if``,
    ``float()``, ...) gives its value at the traced point instead of raising, and the place
    is noted in the list this yields.  The program then holds the branches taken there.
    ``allowed=False`` makes such a use raise again, within an outer block that allowed it."""
    global _reads
    outer, _reads = _reads, ([] if allowed else None)
    try:
        yield _reads
    finally:
        _reads = outer


class ValueDependentError(TypeError):
    """A recorded value was needed as a concrete Python value (in an ``if``, a ``while``,
    ``float()``, an index, ...): the function's control flow depends on the values of its
    arguments, which a straight-line program cannot record."""


class Method:
    """The operation ``x.name(*args, **kwargs)`` of a recorded NumPy method call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(obj, self.name)(*args, **kwargs)


class Attribute:
    """The operation ``x.name`` of a recorded attribute read (``x.real``, say)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, obj: Any) -> Any:
        return getattr(obj, self.name)


def identity(x: Any) -> Any:
    """The operation of a variable that is another variable (or a constant) renamed."""
    return x


def _values(args: Any) -> Any:
    """``args`` with every ``Var`` (also inside lists and tuples) replaced by its value."""
    if type(args) is Var:
        return args.value
    if type(args) in (tuple, list) and any(type(a) in (Var, tuple, list) for a in args):
        return type(args)(_values(a) for a in args)
    return args


def record(fn: Callable, args: tuple, kwargs: dict | None = None, prim: Primitive | None = None):
    """A new variable ``fn(*args, **kwargs)``, its value computed from the values of the
    variables among ``args`` (``prim``: the primitive whose implementation ``fn`` is)."""
    kwargs = kwargs or {}
    value = fn(*_values(args), **{k: _values(v) for k, v in kwargs.items()})
    var = _new(Var)
    var.value = value
    var.fn = fn
    var.prim = prim
    var.args = args
    var.kwargs = kwargs
    var.index = next(_counter)
    return var


def input_var(value: Any) -> Var:
    """A new input of the program, with the value it has at the traced point."""
    var = _new(Var)
    var.value = value
    var.fn = None
    var.prim = None
    var.args = ()
    var.kwargs = {}
    var.index = next(_counter)
    return var


def _user_frame() -> str:
    """Where, outside this package, the running code asked for a value: ``file:line (code)``."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not frame.filename.startswith(_PACKAGE):
            code = (frame.line or "").strip()
            return f"{frame.filename}:{frame.lineno}" + (f" ({code})" if code else "")
    return "inside autodiff"


class Var(Traceable):
    """A variable of a program being recorded, with its value at the traced point.

    Primitives applied to it record their implementation; NumPy functions, ufuncs, methods
    and attributes record themselves; ``shape``, ``ndim``, ``size`` and ``dtype`` are read
    from the value, since the program is recorded for inputs of fixed shapes and dtypes.
    """

    __slots__ = ("value", "fn", "prim", "args", "kwargs", "index")
    _level = STAGING_LEVEL
    __array_priority__ = 200.0

    def _dispatch(self, prim: Primitive, args: tuple, kwargs: dict) -> Var:
        return record(prim.impl, args, kwargs, prim)

    # -- what is known without the values ------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.value)

    @property
    def ndim(self) -> int:
        return np.ndim(self.value)

    @property
    def size(self) -> int:
        return int(np.size(self.value))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.value)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d traced value")
        return shape[0]

    def __iter__(self) -> Iterator[Var]:
        return (self[i] for i in range(len(self)))

    # -- what needs the values: a decision the program cannot record ------------------------
    def _concrete(self, what: str, convert: Callable) -> Any:
        where = _user_frame()
        if _reads is not None:  # recording one path: the value at the traced point
            _reads.append(where)
            return convert(self.value)
        raise ValueDependentError(
            f"a traced value was used {what} at {where}: the computation's control flow "
            f"depends on the values of its arguments, which a straight-line program cannot "
            f"record; choose between values with anp.where, or make the argument static"
        )

    def __bool__(self) -> bool:
        return self._concrete("as a Python bool (if, while, and, or, not)", bool)

    def __float__(self) -> float:
        return self._concrete("as a Python float", float)

    def __int__(self) -> int:
        return self._concrete("as a Python int", int)

    def __index__(self) -> int:
        return self._concrete("as an index or a size", operator.index)

    def __complex__(self) -> complex:
        return self._concrete("as a Python complex", complex)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        what = "as a NumPy array (np.asarray, np.array or a function without rules)"
        return self._concrete(what, lambda v: np.asarray(v, dtype=dtype))

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("in-place assignment to a traced array cannot be recorded")

    # -- NumPy: primitives where there is one, any other function recorded as it is --------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        target = _methods.UFUNCS.get(ufunc)
        if method == "__call__" and not kwargs and hasattr(target, "impl"):
            return target(*inputs)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return record(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        static = _STATIC.get(func)
        if static is not None:
            return static(*_values(args), **kwargs)
        target = _methods.FUNCTIONS.get(func)
        if target is not None:  # a differentiable counterpart in autodiff.numpy
            return target(*args, **kwargs)
        return record(func, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(self.value, name)
        if callable(attribute):
            return lambda *args, **kwargs: record(Method(name), (self, *args), kwargs)
        return record(Attribute(name), (self,))

    def __repr__(self) -> str:
        return f"Var({self.index}, shape={self.shape}, dtype={self.dtype})"


_STATIC = {
    np.shape: np.shape,
    np.ndim: np.ndim,
    np.size: np.size,
    np.result_type: np.result_type,
}

# Operators, methods and the NumPy protocol as tracers have them, then the staging ones.
_own = {name: Var.__dict__[name] for name in ("__array_ufunc__", "__array_function__")}
_methods.install(Var)
for _name, _method in _own.items():
    setattr(Var, _name, _method)
Var.__hash__ = Tracer.__hash__


def arguments(var: Var) -> Iterator[Var]:
    """The variables among ``var``'s arguments (also inside lists, tuples and slices)."""
    stack = [*var.args, *var.kwargs.values()]
    while stack:
        x = stack.pop()
        if type(x) is Var:
            yield x
        elif type(x) in (tuple, list):
            stack.extend(x)
        elif type(x) is slice:
            stack.extend((x.start, x.stop, x.step))


def needed(outputs: list[Any]) -> list[Var]:
    """Every variable the ``outputs`` depend on, in the order they were recorded (each after
    its arguments)."""
    seen: dict[int, Var] = {}
    stack = [x for x in outputs if type(x) is Var]
    while stack:
        var = stack.pop()
        if id(var) not in seen:
            seen[id(var)] = var
            stack.extend(arguments(var))
    return sorted(seen.values(), key=lambda v: v.index)
