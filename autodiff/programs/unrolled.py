"""Lowering a program on a few numbers to scalar Python: one statement per element.

A NumPy call costs a few hundred nanoseconds before it touches an element, a Python float
operation or a ``math`` function a few tens.  So on arrays of at most ``MAX_ELEMENTS``
numbers, a program whose operations are all elementwise (arithmetic, the elementary
functions, comparisons, ``where``) or whole-array sums, broadcasts of one number and
reshapes is faster written out element by element: the elements of each array become
variables ``v5_0, v5_1, ...`` and each operation one statement per element.  That is loop
fusion for the sizes where the loop is shorter than a NumPy call: the chain of (8.57) or
(8.69) of every element is run in one Python function, with no array in between.

The numbers are those NumPy computes: the same IEEE operations, sums added in NumPy's order
(from the left below eight numbers, pairwise at eight), ``math`` functions which agree with
NumPy's to the last bit except ``tanh`` (within one unit in the last place).  Where Python
raises and NumPy returns inf or nan with a warning (a division by zero, ``math.log(0)``,
``math.exp(1000)``), the unrolled function calls the NumPy program instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.numpy import primitives as p
from autodiff.programs.source import _literal
from autodiff.programs.staging import Method, Var

MAX_ELEMENTS = 8

_FUNCTIONS = {
    np.exp: "exp",
    np.log: "log",
    np.sin: "sin",
    np.cos: "cos",
    np.tan: "tan",
    np.tanh: "tanh",
    np.sqrt: "sqrt",
    np.log1p: "log1p",
    np.expm1: "expm1",
    np.absolute: "abs",
}
_OPERATORS = {
    np.add: "+",
    np.subtract: "-",
    np.multiply: "*",
    np.true_divide: "/",
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
    np.equal: "==",
    np.not_equal: "!=",
}
_NAMESPACE = {name: getattr(math, name) for name in _FUNCTIONS.values() if name != "abs"}
_NAMESPACE.update(np=np, float64=np.float64, pow=math.pow)
_SCALARS = (np.float64, np.bool_)


def _small(x: Any) -> bool:
    """Whether ``x`` is a value the unrolled program holds as Python numbers."""
    if type(x) is np.ndarray:
        return x.size <= MAX_ELEMENTS and x.dtype in (np.float64, np.bool_)
    return type(x) in _SCALARS or type(x) in (float, bool, int)


def _elements(x: Any, names: dict[int, list[str]], size: int) -> list[str] | None:
    """The elements of the argument ``x`` as ``size`` expressions (one number repeated if
    ``x`` has one), or None if the program cannot hold it element by element."""
    if type(x) is Var:
        elements = names.get(id(x))
    elif _small(x):
        elements = [_literal(float(v) if type(v) is not bool else v) for v in np.ravel(x).tolist()]
    else:
        return None
    if elements is None or len(elements) not in (1, size):
        return None
    return elements * size if len(elements) == 1 else elements


def _sum(terms: list[str]) -> str:
    """A sum in NumPy's order: from the left below eight terms, pairwise at eight."""
    if len(terms) == 8:
        pairs = [f"({terms[i]} + {terms[i + 1]})" for i in range(0, 8, 2)]
        return f"({pairs[0]} + {pairs[1]}) + ({pairs[2]} + {pairs[3]})"
    return " + ".join(terms)


def _statements(var: Var, names: dict[int, list[str]]) -> list[str] | None:
    """The right-hand side of each element of ``var``, or None if it cannot be unrolled."""
    fn, args, value = var.fn, var.args, var.value
    if not _small(value) or (var.kwargs and fn not in (p.sum_.impl,)):
        return None
    size = int(np.size(value))
    if fn in _OPERATORS or fn in _FUNCTIONS or fn in (np.negative, np.power, p.power.impl):
        operands = [_elements(a, names, size) for a in args]
        if any(o is None for o in operands):
            return None
        if fn in _OPERATORS:
            a, b = operands
            return [f"{x} {_OPERATORS[fn]} {y}" for x, y in zip(a, b)]
        if fn is np.negative:
            return [f"-{x}" for x in operands[0]]
        if fn in _FUNCTIONS:
            return [f"{_FUNCTIONS[fn]}({x})" for x in operands[0]]
        a, b = operands
        if _literal(args[1]) in ("2", "2.0"):  # NumPy squares by one product too
            return [f"{x} * {x}" for x in a]
        return [f"pow({x}, {y})" for x, y in zip(a, b)]
    if fn is p.where.impl:
        operands = [_elements(a, names, size) for a in args]
        if any(o is None for o in operands):
            return None
        return [f"{x} if {c} else {y}" for c, x, y in zip(*operands)]
    if fn is p.sum_.impl and var.kwargs.get("axis") is None and len(args) == 1:
        if not var.kwargs.get("keepdims") and type(args[0]) is Var and id(args[0]) in names:
            return [_sum(names[id(args[0])])]
        return None
    if fn in (p.broadcast_to.impl, p.reshape.impl):
        return _elements(args[0], names, size)
    if isinstance(fn, Method) and fn.name == "copy" and len(args) == 1:
        return _elements(args[0], names, size)
    if isinstance(fn, Method) and fn.name == "astype" and args[1:] in ((float,), (np.float64,)):
        operand = _elements(args[0], names, size)
        return None if operand is None else [f"float({x})" for x in operand]
    return None


def _output(x: Any, names: dict[int, list[str]], constant: Callable[[Any], str]) -> str:
    """An output as the NumPy program returns it (an array, or a NumPy number)."""
    if type(x) is not Var:
        return constant(x)
    elements, value = names[id(x)], x.value
    if type(value) is np.ndarray:
        dtype = "float" if value.dtype == np.float64 else "bool"
        array = f"np.array([{', '.join(elements)}], dtype={dtype})"
        return array if value.ndim == 1 else f"{array}.reshape({value.shape!r})"
    return f"float64({elements[0]})" if type(value) is np.float64 else elements[0]


def unrolled_source(
    order: list[Var], inputs: list[Var | None], outputs: list[Any], constant: Callable[[Any], str]
) -> tuple[list[str], list[str]] | None:
    """The body of the unrolled program (statements, then one expression per output), or
    None if some operation cannot be unrolled or some array is too large.  ``constant``
    names an output that is a constant."""
    names: dict[int, list[str]] = {}
    lines: list[str] = []
    for i, var in enumerate(inputs):
        if var is None:
            continue
        if not _small(var.value):
            return None
        size = int(np.size(var.value))
        names[id(var)] = [f"a{i}_{j}" for j in range(size)] if var.value.ndim else [f"a{i}_"]
        flat = f"a{i}.ravel().tolist()" if var.value.ndim > 1 else f"a{i}.tolist()"
        if var.value.ndim == 0:
            lines.append(f"a{i}_ = {flat}")
        else:
            lines.append(f"{', '.join(names[id(var)])}, = {flat}")
    count = 0
    for var in order:
        if var.fn is None:
            continue
        elements = _statements(var, names)
        if elements is None:
            return None
        if np.ndim(var.value):
            names[id(var)] = [f"v{count}_{j}" for j in range(len(elements))]
        else:
            names[id(var)] = [f"v{count}"]
        lines += [f"{n} = {e}" for n, e in zip(names[id(var)], elements)]
        count += 1
    return lines, [_output(x, names, constant) for x in outputs]


def namespace() -> dict[str, Any]:
    """What an unrolled program refers to: ``math``'s functions by their names, ``np``."""
    return dict(_NAMESPACE)
