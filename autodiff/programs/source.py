"""Python source for recorded programs: each variable's operation written as NumPy code.

``Source`` writes a variable as the expression that computes it from its arguments: NumPy's
operators where a primitive is one (``v1 * v2``, ``v3 @ v4``, ``-v6``, ``v2[0]``), its
functions otherwise (``np.exp(v3)``), and the implementation of a primitive of our own by
name (``sigmoid(v5)``), bound in the namespace the program runs in.  A variable that has
been given a name is written as that name; one that has not is written out in place, with
the parentheses the order of evaluation needs (``v5_bar * v5 + v6_bar``, (8.74)).
Constants that Python can write exactly (numbers, shapes, indices) appear as literals, and
every other constant (an array) is bound in the namespace under a name of its own.

Two spellings differ by purpose: a *readable* program writes ``np.sum(v)`` and
``np.broadcast_to(v, shape)``; a *fast* one calls ``np.add.reduce`` and the package's own
small-array broadcast, which cost a third as much per call on small arrays.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.broadcasting import broadcast_view
from autodiff.numpy import primitives as p
from autodiff.programs.staging import Attribute, Method, Var, identity

# Operator precedence, loosest first: an operand looser than its place needs is parenthesized.
LOWEST, COMPARE, ADD, MUL, UNARY, POWER, ATOM = range(7)


def _bound(var: Var) -> dict[str, Any]:
    """The arguments of ``var``'s operation by parameter name, defaults included."""
    signature = _SIGNATURES.get(var.fn)
    if signature is None:
        signature = _SIGNATURES[var.fn] = inspect.signature(var.fn)
    bound = signature.bind(*var.args, **var.kwargs)
    bound.apply_defaults()
    return bound.arguments


_SIGNATURES: dict[Callable, inspect.Signature] = {}


class Source:
    """Writes variables, constants and containers of them as Python expressions; the
    constants it cannot write as literals go in ``namespace``."""

    def __init__(self, fast: bool = False) -> None:
        self.fast = fast
        self.names: dict[int, str] = {}
        self.namespace: dict[str, Any] = {"np": np}
        self._constants: dict[int, str] = {}
        self._keep: list[Any] = []  # what is named, alive while its id is a key
        self._unnamed = 0

    # -- names ------------------------------------------------------------------------------
    def name(self, var: Var, name: str) -> str:
        """Write ``var`` as ``name`` from now on."""
        self.names[id(var)] = name
        self._keep.append(var)
        return name

    def constant(self, value: Any, stem: str | None = None) -> str:
        """The name of ``value`` in the namespace, bound on first use: ``stem`` if that is
        free, else a numbered name (``c0``, ``c1``, ... without a stem)."""
        key = id(value)
        if key not in self._constants:
            name = stem
            if stem is None:
                self._unnamed += 1
                name = f"c{self._unnamed}"
            while name in self.namespace:
                name = f"{stem or 'c'}{len(self.namespace)}"
            self.namespace[name] = value
            self._constants[key] = name
            self._keep.append(value)
        return self._constants[key]

    # -- expressions --------------------------------------------------------------------------
    def expression(self, x: Any) -> str:
        """``x`` (a variable, a constant or a list or tuple of them) as Python source."""
        return self._write(x)[0]

    def operand(self, x: Any, tightest: int) -> str:
        """``x`` as an operand of an operator that binds as tightly as ``tightest``."""
        text, precedence = self._write(x)
        return text if precedence >= tightest else f"({text})"

    def _write(self, x: Any) -> tuple[str, int]:
        if type(x) is Var:
            name = self.names.get(id(x))
            if name is not None:
                return name, ATOM
            if x.fn is None:
                raise ValueError(f"input {x!r} has no name")
            spelling = ("out" not in x.kwargs and _SPELLINGS.get(x.fn)) or _spelling_of(x.fn)
            return spelling(self, x)
        if type(x) in (tuple, list):
            items = ", ".join(self.expression(item) for item in x)
            if type(x) is list:
                return f"[{items}]", ATOM
            return (f"({items},)" if len(x) == 1 else f"({items})"), ATOM
        literal = _literal(x, strict=self.fast)
        if literal is not None:
            return literal, (UNARY if literal.startswith("-") else ATOM)
        return self.constant(x), ATOM

    def call(self, function: str, args: tuple, kwargs: dict | None = None) -> tuple[str, int]:
        parts = [self.expression(a) for a in args]
        parts += [f"{k}={self.expression(v)}" for k, v in (kwargs or {}).items()]
        return f"{function}({', '.join(parts)})", ATOM

    def index(self, index: Any) -> str:
        """A subscript as written between brackets: ``:, 0``, ``::-1``, ``...``."""
        parts = index if type(index) is tuple else (index,)
        written = [self._index_part(part) for part in parts]
        if type(index) is tuple and len(index) == 1:
            return written[0] + ","
        return ", ".join(written) if written else "()"

    def _index_part(self, part: Any) -> str:
        if type(part) is slice:
            bounds = [self.expression(b) if b is not None else "" for b in (part.start, part.stop)]
            text = ":".join(bounds)
            return text + (f":{self.expression(part.step)}" if part.step is not None else "")
        if part is Ellipsis:
            return "..."
        return self.expression(part)

    def tree(self, treedef: Any, leaves: list[str]) -> str:
        """The container ``treedef`` (of ``autodiff.pytree``) of the leaves written as
        ``leaves``, as source."""
        it = iter(leaves)

        def write(node: Any) -> str:
            if node is None:
                return next(it)
            kind, keys, children = node
            items = [write(child) for child in children]
            if kind is dict:
                return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, items)) + "}"
            if kind is list:
                return f"[{', '.join(items)}]"
            if kind is tuple:
                return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
            return f"{self.constant(kind, kind.__name__)}([{', '.join(items)}])"

        return write(treedef)


def _literal(x: Any, strict: bool = False) -> str | None:
    """``x`` as an exact Python literal, or None if it has none.  NumPy numbers (and 0-d
    float arrays) are written as Python numbers unless ``strict``: they are the same number,
    but NumPy keeps their dtype in arithmetic where it adapts a Python number's to the
    array's (a float32 array times ``np.float64(2.0)`` is float64, times ``2.0`` float32)."""
    if x is None or x is Ellipsis or type(x) in (bool, str):
        return repr(x) if x is not Ellipsis else "..."
    if type(x) is int:
        return repr(x)
    if type(x) is float or (type(x) is np.float64 and not strict):
        x = float(x)
        if math.isnan(x):
            return "np.nan"
        if math.isinf(x):
            return "np.inf" if x > 0 else "-np.inf"
        return repr(x)
    if strict:
        pass
    elif type(x) is np.ndarray and x.ndim == 0 and x.dtype == np.float64:
        return _literal(float(x))
    elif type(x) in (np.int64, np.bool_):
        return repr(x.item())
    if type(x) in (tuple, list, slice):
        parts = (x.start, x.stop, x.step) if type(x) is slice else x
        written = [_literal(part, strict) for part in parts]
        if any(w is None for w in written):
            return None
        if type(x) is slice:
            return f"slice({', '.join(written)})"
        if type(x) is list:
            return f"[{', '.join(written)}]"
        return f"({written[0]},)" if len(x) == 1 else f"({', '.join(written)})"
    if x is float or x is int or x is bool:
        return x.__name__
    return None


# -- how each operation is written ------------------------------------------------------------
def _infix(symbol: str, precedence: int) -> Callable:
    def spell(src: Source, var: Var) -> tuple[str, int]:
        a, b = var.args
        return f"{src.operand(a, precedence)} {symbol} {src.operand(b, precedence + 1)}", precedence

    return spell


def _power(src: Source, var: Var) -> tuple[str, int]:
    a, b = var.args
    return f"{src.operand(a, POWER + 1)} ** {src.operand(b, UNARY)}", POWER


def _negative(src: Source, var: Var) -> tuple[str, int]:
    return f"-{src.operand(var.args[0], UNARY)}", UNARY


def _compare(symbol: str) -> Callable:
    def spell(src: Source, var: Var) -> tuple[str, int]:
        a, b = var.args
        return f"{src.operand(a, COMPARE + 1)} {symbol} {src.operand(b, COMPARE + 1)}", COMPARE

    return spell


def _getitem(src: Source, var: Var) -> tuple[str, int]:
    x, index = var.args
    return f"{src.operand(x, ATOM)}[{src.index(index)}]", ATOM


def _reshape(src: Source, var: Var) -> tuple[str, int]:
    x, shape = var.args
    return f"{src.operand(x, ATOM)}.reshape({src.expression(shape)})", ATOM


def _transpose(src: Source, var: Var) -> tuple[str, int]:
    args = _bound(var)
    if args["axes"] is None:
        return f"{src.operand(args['x'], ATOM)}.T", ATOM
    return f"{src.operand(args['x'], ATOM)}.transpose({src.expression(args['axes'])})", ATOM


def _reduction(function: str, fast: str | None = None) -> Callable:
    """``np.sum(x, axis=...)`` and the like, only the arguments that differ from defaults;
    ``fast``: the ufunc's own reduce, which skips NumPy's Python-level dispatch."""

    def spell(src: Source, var: Var) -> tuple[str, int]:
        args = _bound(var)
        x, axis, keepdims = args["x"], args["axis"], args["keepdims"]
        if src.fast and fast is not None and type(_value(x)) is np.ndarray:
            reduce = src.constant(_REDUCE[fast], f"{fast}_reduce")
            extra = ", keepdims=True" if keepdims else ""
            return f"{reduce}({src.expression(x)}, {src.expression(axis)}{extra})", ATOM
        kwargs = {}
        if axis is not None:
            kwargs["axis"] = axis
        if keepdims:
            kwargs["keepdims"] = True
        return src.call(function, (x,), kwargs)

    return spell


_REDUCE = {"add": np.add.reduce, "maximum": np.maximum.reduce, "minimum": np.minimum.reduce}


def _value(x: Any) -> Any:
    return x.value if type(x) is Var else x


def _broadcast(src: Source, var: Var) -> tuple[str, int]:
    x, shape = var.args
    if src.fast:
        return src.call(src.constant(broadcast_view, "broadcast_view"), (x, shape))
    return src.call("np.broadcast_to", (x, shape))


def _joined(function: str) -> Callable:
    def spell(src: Source, var: Var) -> tuple[str, int]:
        axis, *arrays = var.args
        return src.call(function, (list(arrays),), {"axis": axis})

    return spell


def _named(prim_name: str) -> Callable:
    """A primitive of our own, called by its name (its implementation bound to that name)."""

    def spell(src: Source, var: Var) -> tuple[str, int]:
        return src.call(src.constant(var.fn, prim_name), var.args, var.kwargs)

    return spell


def _method(src: Source, var: Var) -> tuple[str, int]:
    obj, *args = var.args
    text, _ = src.call(var.fn.name, tuple(args), var.kwargs)
    return f"{src.operand(obj, ATOM)}.{text}", ATOM


def _attribute(src: Source, var: Var) -> tuple[str, int]:
    return f"{src.operand(var.args[0], ATOM)}.{var.fn.name}", ATOM


def _identity(src: Source, var: Var) -> tuple[str, int]:
    return src._write(var.args[0])


def _spelling_of(fn: Callable) -> Callable:
    """How an operation without an entry in the table is written: a NumPy function or ufunc
    (or a ufunc's method) by its NumPy name, anything else bound in the namespace."""
    if isinstance(fn, Method):
        return _method
    if isinstance(fn, Attribute):
        return _attribute
    name = getattr(fn, "__name__", None)
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc) and getattr(np, owner.__name__, None) is owner:
        function = f"np.{owner.__name__}.{name}"
    elif name is not None and getattr(np, name, None) is fn:
        function = f"np.{name}"
    else:
        return lambda src, var: src.call(src.constant(fn, name or "f"), var.args, var.kwargs)
    return lambda src, var: src.call(function, var.args, var.kwargs)


_SPELLINGS: dict[Callable, Callable] = {
    np.add: _infix("+", ADD),
    np.subtract: _infix("-", ADD),
    np.multiply: _infix("*", MUL),
    np.true_divide: _infix("/", MUL),
    np.matmul: _infix("@", MUL),
    p.matmul.impl: _infix("@", MUL),
    np.power: _power,
    p.power.impl: _power,
    np.negative: _negative,
    np.less: _compare("<"),
    np.less_equal: _compare("<="),
    np.greater: _compare(">"),
    np.greater_equal: _compare(">="),
    np.equal: _compare("=="),
    np.not_equal: _compare("!="),
    p.getitem.impl: _getitem,
    p.reshape.impl: _reshape,
    p.transpose.impl: _transpose,
    p.sum_.impl: _reduction("np.sum", "add"),
    p.mean.impl: _reduction("np.mean"),
    p.max_.impl: _reduction("np.max", "maximum"),
    p.min_.impl: _reduction("np.min", "minimum"),
    p.broadcast_to.impl: _broadcast,
    p.where.impl: lambda src, var: src.call("np.where", var.args),
    p.concatenate_args.impl: _joined("np.concatenate"),
    p.stack_args.impl: _joined("np.stack"),
    identity: _identity,
}
for _prim in (p.sigmoid, p.softplus, p.relu, p.logsumexp, p.untake):
    _SPELLINGS[_prim.impl] = _named(_prim.name)
