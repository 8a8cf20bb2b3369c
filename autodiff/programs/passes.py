"""Rewrites of a recorded program before it is lowered: each gives the same numbers.

The derivative rules are written for every case, so a program recorded through them has
steps that a hand-written program would not: ``1.0 * g`` for the seed of a sweep, an array
of equal constants broadcast against a value of the same shape, a reshape to the shape a
value already has, ``np.sum(g, axis, keepdims=True).reshape(...)`` where the sum alone would
do, the same product computed by two rules.  ``optimize`` removes them, in one pass in
program order:

- *simplify*: a variable that equals one of its arguments is replaced by it (a product with
  one, a double negation, a reshape or broadcast to its own shape); an array of equal
  constants beside an operand of the result's shape becomes one number; a sum with kept
  axes that is then reshaped without them becomes a sum without them;
- *common subexpressions*: an operation with the same arguments as an earlier one is that
  one (every recorded operation is a pure function of its arguments);
- *dead code*: what no output depends on is left out.

Only exact rewrites are made: the program computes the same floating-point numbers, in the
same order, as the recording did.

``reuse_buffers`` then lets an elementwise operation on a large array write its result into
the array of an argument that nothing reads afterwards (``np.tanh(v1, out=v1)``), as a
careful hand-written program would: the memory is already in the cache and need not be
allocated again.  Only arrays the program itself made by a ufunc or a matrix product are
reused; inputs, constants, outputs and anything a view may still read are left alone.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from autodiff.numpy import primitives as p
from autodiff.programs.staging import Attribute, Method, Var, arguments, identity, needed, record


def optimize(order: list[Var], outputs: list[Any]) -> tuple[list[Var], list[Any]]:
    """The variables of the simplified program (inputs included, in an order they can be
    computed in) and its outputs."""
    replaced: dict[int, Any] = {}
    seen: dict[Hashable, Var] = {}
    kept: list[Var] = []
    for original in order:
        if original.fn is None:
            kept.append(original)
            continue
        var = original
        args = _replace(var.args, replaced)
        kwargs = {k: _replace(v, replaced) for k, v in var.kwargs.items()}
        if args is not var.args or any(kwargs[k] is not var.kwargs[k] for k in kwargs):
            var = record(var.fn, args, kwargs, var.prim)
        while type(var) is Var and var.fn is not None:
            simpler = _simplify(var)
            if simpler is var:
                key = _key(var)
                if key not in seen:
                    seen[key] = var
                    kept.append(var)
                var = seen[key]
                break
            var = simpler
        if var is not original:
            replaced[id(original)] = var
    outputs = [_replace(x, replaced) for x in outputs]
    used = {id(v) for v in needed(outputs)}
    return [v for v in kept if id(v) in used], outputs


def _replace(x: Any, replaced: dict[int, Any]) -> Any:
    """``x`` with replaced variables replaced (the same object if none was)."""
    if type(x) is Var:
        return replaced.get(id(x), x)
    if type(x) in (tuple, list):
        items = [_replace(item, replaced) for item in x]
        if any(a is not b for a, b in zip(items, x)):
            return type(x)(items)
    return x


def _value(x: Any) -> Any:
    return x.value if type(x) is Var else x


def _same_kind(a: Any, b: Any) -> bool:
    """Whether two values have the same type, shape and dtype (can stand for each other)."""
    a, b = _value(a), _value(b)
    return (
        type(a) is type(b) and np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    )


def _is(x: Any, number: float) -> bool:
    """Whether ``x`` is a constant equal to ``number`` everywhere."""
    if type(x) is Var or not isinstance(x, (int, float, np.number, np.ndarray)):
        return False
    return bool(np.size(x) and np.all(np.asarray(x) == number))


_ELEMENTWISE = {np.add, np.subtract, np.multiply, np.true_divide}


def _simplify(var: Var) -> Any:
    """A simpler variable (or an argument) computing what ``var`` does, or ``var`` itself."""
    fn, args = var.fn, var.args
    if fn is identity:
        return args[0]
    if fn in _ELEMENTWISE and not var.kwargs:
        args = tuple(_uniform(a, other, var) for a, other in (args, args[::-1]))
        if fn is np.multiply:
            for a, b in (args, args[::-1]):
                if _is(a, 1.0) and _same_kind(b, var):
                    return b
        if args is not var.args and any(a is not b for a, b in zip(args, var.args)):
            return record(fn, args, prim=var.prim)
    if fn is np.negative:
        (x,) = args
        if type(x) is Var and x.fn is np.negative and _same_kind(x.args[0], var):
            return x.args[0]
    if fn in (p.reshape.impl, p.broadcast_to.impl) and _same_kind(args[0], var):
        return args[0]
    if fn is p.reshape.impl:
        x = args[0]
        if type(x) is Var and x.fn is p.sum_.impl and x.kwargs.get("keepdims"):
            unkept = record(p.sum_.impl, (x.args[0],), {"axis": x.kwargs["axis"]}, p.sum_)
            if _same_kind(unkept, var):
                return unkept
    return var


def _uniform(a: Any, other: Any, var: Var) -> Any:
    """A constant array of equal elements as one number of its dtype, where ``other`` has
    the result's shape (so that broadcasting the number gives what the array gave)."""
    if (
        type(a) is np.ndarray
        and a.size
        and np.shape(_value(other)) == np.shape(var.value)
        and np.all(a == a.flat[0])
    ):
        return a.dtype.type(a.flat[0])
    return a


def _key(var: Var) -> Hashable:
    """What makes two operations the same: the function and the arguments."""
    fn = var.fn
    fn_key = (type(fn), fn.name) if isinstance(fn, (Method, Attribute)) else fn
    return (
        fn_key,
        tuple(_arg_key(a) for a in var.args),
        tuple((k, _arg_key(v)) for k, v in var.kwargs.items()),
    )


def _arg_key(x: Any) -> Hashable:
    if type(x) is Var or isinstance(x, np.ndarray):
        return ("id", id(x))
    if type(x) in (tuple, list):
        return (type(x), tuple(_arg_key(item) for item in x))
    if type(x) is slice:
        return (slice, _arg_key(x.start), _arg_key(x.stop), _arg_key(x.step))
    if isinstance(x, (float, np.floating)):
        return (type(x), repr(x))  # 0.0 and -0.0 are different constants
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return (type(x), x)


# Arrays of at least this many elements are worth reusing (below it NumPy's allocator is
# cheaper than the keyword argument that passes the buffer).
REUSE_ELEMENTS = 2**12
_FRESH = (np.matmul, p.matmul.impl)


def _fresh(var: Var) -> bool:
    """Whether ``var``'s operation always makes a new array (of its own)."""
    return (
        type(var.value) is np.ndarray
        and "out" not in var.kwargs
        and (isinstance(var.fn, np.ufunc) or var.fn in _FRESH)
    )


def reuse_buffers(order: list[Var], outputs: list[Any]) -> None:
    """Let elementwise ufuncs on large arrays in ``order`` write into the array of an
    argument that is not read afterwards (see the module docstring): their ``out``."""
    last: dict[int, float] = {id(x): float("inf") for x in outputs if type(x) is Var}
    for k in range(len(order) - 1, -1, -1):  # the last read of each variable or its views
        var = order[k]
        reach = k if _fresh(var) else max(k, last.get(id(var), k))
        for arg in arguments(var):
            last[id(arg)] = max(last.get(id(arg), -1), reach)
    buffer: dict[int, int] = {}  # variable -> the fresh array it holds (by its maker's id)
    until: dict[int, float] = {}  # fresh array -> the last read of it
    for k, var in enumerate(order):
        target = _reusable(var, k, buffer, until) if isinstance(var.fn, np.ufunc) else None
        if target is not None:
            var.kwargs = {**var.kwargs, "out": target}
            held = buffer[id(var)] = buffer[id(target)]
            until[held] = max(until[held], last.get(id(var), k))
        elif _fresh(var):
            buffer[id(var)] = id(var)
            until[id(var)] = last.get(id(var), k)


def _reusable(var: Var, k: int, buffer: dict[int, int], until: dict[int, float]) -> Var | None:
    """An argument of the elementwise ``var`` (at position ``k``) whose array ``var`` may
    write its result into, or None."""
    value = var.value
    if var.kwargs or type(value) is not np.ndarray or value.size < REUSE_ELEMENTS:
        return None
    for arg in var.args:
        if (
            type(arg) is Var
            and id(arg) in buffer
            and until[buffer[id(arg)]] == k
            and arg.value.shape == value.shape
            and arg.value.dtype == value.dtype
        ):
            return arg
    return None
