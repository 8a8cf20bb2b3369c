"""``compile``: record a function once per input structure, then replay its NumPy program.

``compile(f)`` returns a function with ``f``'s arguments and results.  Its first call with
arguments of given shapes and dtypes (and container structure: the cache key of
``jax.jit``) runs ``f`` on ``Var``\\ s (``autodiff.programs.staging``), which record every
NumPy operation ``f`` makes, and, inside ``grad``, ``value_and_grad`` or any other
transform, every step of the backward sweep (8.69) and of the tangent sweep (8.57), rule by
rule, from the one table of derivative rules.  The recorded program is written out as a
straight-line NumPy function (``autodiff.programs.lowering``) and later calls run that
function: no tape, no nodes, no dispatch, only the NumPy calls.  So
``compile(value_and_grad(loss))`` is the value-and-gradient program of ``loss``, computed
as hand-written NumPy would compute it.

The second call with a structure records ``f`` again, at its own arguments, and compares
the two programs: a function whose program changes with the values (a random draw, a value
read through Python) is caught there, as a function that takes a decision on a value
(``if x > 0``) is caught on the first call.  Either way the function *falls back*: it warns
once (``CompileWarning``, naming the line) and runs ``f`` itself for that structure.

Under a transform (arguments that are tracers, or a function that closes over an enclosing
transform's tracers) a compiled function runs ``f`` itself, so that the transform sees
``f``'s primitives: ``grad(compile(f))`` is ``grad(f)``.  Compile the outermost function
instead: ``compile(grad(f))``.
"""

from __future__ import annotations

import functools
import keyword
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from autodiff.core import Traceable
from autodiff.programs.lowering import Lowered, lower
from autodiff.programs.staging import ValueDependentError, Var, input_var, needed, reading_values
from autodiff.pytree import flatten, unflatten

_ndarray = np.ndarray
_NUMBERS = (bool, int, float, complex, np.generic)


class CompileWarning(UserWarning):
    """A compiled function runs eagerly for some input structure, and why."""


class _Eager(Exception):
    """Recording gave no program: the function is to run as it is (``reason``, if any, is
    worth a warning)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason


class _Entry:
    """What the cache holds for one input structure: the lowered program, whether a second
    recording has confirmed it, or ``None`` for a structure that runs eagerly."""

    __slots__ = ("program", "confirmed")

    def __init__(self, program: Lowered | None, confirmed: bool) -> None:
        self.program = program
        self.confirmed = confirmed


class _Traced(Exception):
    """An argument is a tracer: the compiled function is called under a transform."""


def _signature(x: Any, leaves: list) -> Hashable:
    """The cache key of the argument ``x``: its containers, the shape and dtype of each
    array, the type of each number, any other (hashable) value itself.  Appends the leaves
    to ``leaves`` as the program takes them (in ``autodiff.pytree`` order; numbers made
    arrays, as they were when recorded).  Arrays in a container, the common case, are
    handled in the container's loop."""
    t = type(x)
    if t is tuple or t is list or isinstance(x, (tuple, list, dict)):
        key: list = [t]
        if isinstance(x, dict):
            key.append(tuple(sorted(x)))
            x = [x[k] for k in key[1]]
        for item in x:
            if type(item) is _ndarray:
                leaves.append(item)
                key.append(item.shape)
                key.append(item.dtype)
            else:
                key.append(_signature(item, leaves))
        return tuple(key)
    if t is _ndarray:
        leaves.append(x)
        return (x.shape, x.dtype)
    if isinstance(x, Traceable):
        raise _Traced
    if isinstance(x, _NUMBERS):
        leaves.append(np.asarray(x))
        return (t,)
    try:
        hash(x)
    except TypeError:
        raise TypeError(
            f"compile: an argument of type {t.__name__} is neither an array, a number nor "
            f"hashable; pass it through static_argnums or close over it"
        ) from None
    leaves.append(x)
    return ("static", t, x)


class Compiled:
    """``f`` compiled: see the module docstring.  ``programs()`` lists the source of each
    program in the cache."""

    def __init__(self, f: Callable, static_argnums: Sequence[int] = ()) -> None:
        self.f = f
        self.static_argnums = tuple(sorted(static_argnums))
        self._cache: dict[Hashable, _Entry] = {}
        name = getattr(f, "__name__", "f")
        self._name = name if name.isidentifier() and not keyword.iskeyword(name) else "f"
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves: list = []
        try:
            if self.static_argnums:
                static = tuple(args[i] for i in self.static_argnums)
                dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
                key = (_signature(dynamic, leaves), _signature(kwargs, leaves), static)
            elif kwargs:
                key = (_signature(args, leaves), _signature(kwargs, leaves))
            else:
                key = _signature(args, leaves)
        except _Traced:  # under a transform: f itself
            return self.f(*args, **kwargs)
        entry = self._cache.get(key)
        if entry is not None and entry.confirmed:
            if entry.program is None:
                return self.f(*args, **kwargs)
            return entry.program.fn(*leaves)
        return self._record(key, entry, args, kwargs)

    def _record(self, key: Hashable, entry: _Entry | None, args: tuple, kwargs: dict) -> Any:
        """Record ``f`` at ``args``: the first time, keep the program; the second, compare it
        with the kept one.  Returns ``f``'s value, from the recording."""
        try:
            program, values = self._program(args, kwargs)
        except _Eager as eager:
            value = self.f(*args, **kwargs)  # raises f's own errors, if it has any
            if eager.reason is not None:
                self._fall_back(key, eager.reason)
            return value
        if entry is None:
            self._cache[key] = _Entry(program, confirmed=False)
        elif program.same_as(entry.program):
            entry.confirmed = True
        else:
            self._fall_back(
                key,
                "its program differs from one call to the next with arguments of the same "
                "shapes and dtypes (it reads values through Python, draws random numbers or "
                "changes state between calls)",
            )
        return values

    def _program(self, args: tuple, kwargs: dict) -> tuple[Lowered, Any]:
        """The lowered program of ``f`` recorded at ``args``, and ``f``'s value there."""
        dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        leaves, treedef = flatten((dynamic, kwargs) if kwargs else dynamic)
        inputs = [
            input_var(np.asarray(x)) if isinstance(x, (_ndarray, *_NUMBERS)) else None
            for x in leaves
        ]
        staged = unflatten(treedef, [x if v is None else v for x, v in zip(leaves, inputs)])
        if kwargs:
            staged, kwargs = staged
        if self.static_argnums:
            it = iter(staged)
            staged = tuple(a if i in self.static_argnums else next(it) for i, a in enumerate(args))
        try:
            with reading_values(allowed=False):
                out = self.f(*staged, **kwargs)
        except ValueDependentError as error:
            raise _Eager(f"{error} (static_argnums)") from error
        except Exception as error:  # a NumPy feature a recording does not support, say
            raise _Eager(f"recording it failed: {type(error).__name__}: {error}") from error
        out_leaves, out_def = flatten(out)
        own = {id(v) for v in inputs if v is not None}
        if any(isinstance(x, Traceable) and type(x) is not Var for x in out_leaves) or any(
            v.fn is None and id(v) not in own for v in needed(out_leaves)
        ):
            raise _Eager()  # it closes over values of an enclosing transform or recording
        program = lower(inputs, out_leaves, out_def, self._name)
        values = unflatten(out_def, [x.value if type(x) is Var else x for x in out_leaves])
        return program, values

    def _fall_back(self, key: Hashable, reason: str) -> None:
        self._cache[key] = _Entry(None, confirmed=True)
        warnings.warn(
            f"autodiff.compile: {self._name} runs eagerly (uncompiled) for arguments of "
            f"this structure: {reason}",
            CompileWarning,
            stacklevel=4,
        )

    def programs(self) -> list[str]:
        """The source of every program compiled so far, one per input structure."""
        return [e.program.source for e in self._cache.values() if e.program is not None]


def compile(f: Callable, static_argnums: int | Sequence[int] = ()) -> Compiled:  # noqa: A001
    """``f`` compiled to a straight-line NumPy program per input structure (shapes, dtypes,
    containers, and the values of the arguments ``static_argnums``), recorded on the first
    call and replayed on later ones, without a tape.

    ``compile(value_and_grad(loss))(params, X, T)`` gives what ``value_and_grad(loss)``
    gives; so does any transform, or none: ``compile(hessian(f))``, ``compile(predict)``.
    A function whose control flow depends on the values of its arguments falls back to
    running as it is, with a ``CompileWarning`` that names the line.
    """
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    return Compiled(f, nums)
