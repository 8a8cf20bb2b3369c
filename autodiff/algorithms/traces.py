"""Evaluation traces and their primal, tangent and adjoint tables (Sections 8.2.1 and 8.2.2).

A function of scalars is *recorded* by calling it on traced variables: every elementary
operation it performs appends one primal variable ``v_i = op(parents)`` to the trace, the
inputs first, as in (8.50)-(8.56).  From the recorded trace, evaluated at a point, three
tables follow:

- the primal table (8.50)-(8.56): each ``v_i`` with its defining operation and value;
- the tangent table of forward mode (8.57)-(8.64): ``v̇_i = Σ_{j ∈ pa(i)} v̇_j ∂v_i/∂v_j`` for
  a chosen input direction ``ẋ`` (``e_j`` gives column ``j`` of the Jacobian (8.66), any ``r``
  gives ``J r`` in one pass (8.67), Exercise 8.18);
- the adjoint table of reverse mode (8.68)-(8.76): ``v̄_i = Σ_{j ∈ ch(i)} v̄_j ∂v_j/∂v_i`` (8.69),
  in reverse order, for one output (or a weighted combination of outputs).

Each row carries its equation symbolically and its value, and every table renders as plain
text (``str``), LaTeX (``to_latex``) and HTML (``_repr_html_``, for notebooks).

**Numbering.**  A trace records operations in the order Python executes them, and it does
not notice repeated subexpressions.  Written on one line, (8.49) computes ``x1 * x2`` twice
and adds before it subtracts, which gives eight variables instead of seven.  To obtain the
numbering of (8.50)-(8.56), write one statement per primal equation::

    def f(x1, x2):
        v3 = x1 * x2
        v4 = sin(x2)
        v5 = exp(v3)
        v6 = v3 - v4
        return v5 + v6        # v7 = f

This is :func:`book_example`; :func:`book_example_two_outputs` adds ``f2 = v5 v6``
(Figure 8.5, (8.65)).

**Symbols.**  A tangent row writes each partial derivative in terms of the parents (the
value ``v_i`` is being computed alongside, e.g. ``v̇5 = v̇3 exp(v3)`` as in (8.62)); an
adjoint row may name a stored primal value instead (``v̄3 = v̄5 v5 + v̄6`` as in (8.74)).
When a child uses the same parent twice (``v3 = v1 v1``), each use contributes its own term.

**Two slips of the printed text** are corrected here: the children of ``v2`` are ``v3`` and
``v4``, so (8.75) reads ``v̄2 = v̄3 v1 + v̄4 cos(v2)``; and the tangent pass for (8.49) ends at
``v̇7`` (``f = v7``), not at ``v̇5``.

Traced variables are ``autodiff.core.ScalarLike``, so the ``autodiff.numpy`` functions accept
them (``anp.exp(v)`` calls ``v.exp()``): a function written with ``anp`` can be recorded as it
is.  Comparisons (``<``, ``<=``, ``>``, ``>=``) compare primal values, so a branch in ``f``
records the path taken at the recorded point.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from autodiff.core import ScalarLike

__all__ = [
    "EvaluationTrace",
    "Factor",
    "Operation",
    "TraceStep",
    "TraceTable",
    "TracedVariable",
    "book_example",
    "book_example_two_outputs",
    "cos",
    "exp",
    "log",
    "record_trace",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
]


# -- notations: how a symbol is written in plain text, LaTeX and HTML ----------------------
class Notation:
    """Plain-text notation; the LaTeX and HTML notations override a few of its methods."""

    times = " "
    _functions: dict[str, str] = {}

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}{index}"

    def dot(self, base: str) -> str:
        return base + "\u0307"

    def bar(self, base: str) -> str:
        return base + "\u0304"

    def function(self, name: str, argument: str) -> str:
        return f"{self._functions.get(name, name)}({argument})"

    def power(self, base: str, exponent: str) -> str:
        if not _is_token(exponent):
            exponent = f"({exponent})"
        return f"{_wrap_compound(base)}^{exponent}"

    def fraction(self, numerator: str, denominator: str) -> str:
        return f"{numerator}/{_wrap_compound(denominator)}"

    def derivative(self, of: str, wrt: str) -> str:
        return f"∂{of}/∂{wrt}"


class _LatexNotation(Notation):
    times = r" \, "
    _functions = {
        "exp": r"\exp",
        "log": r"\ln",
        "sin": r"\sin",
        "cos": r"\cos",
        "tanh": r"\tanh",
        "sigmoid": r"\sigma",
    }

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}_{{{index}}}"

    def dot(self, base: str) -> str:
        return rf"\dot{{{base}}}"

    def bar(self, base: str) -> str:
        return rf"\bar{{{base}}}"

    def function(self, name: str, argument: str) -> str:
        if name == "sqrt":
            return rf"\sqrt{{{argument}}}"
        return f"{self._functions[name]}({argument})"

    def power(self, base: str, exponent: str) -> str:
        return f"{_wrap_compound(base)}^{{{exponent}}}"

    def fraction(self, numerator: str, denominator: str) -> str:
        return rf"\frac{{{numerator}}}{{{denominator}}}"

    def derivative(self, of: str, wrt: str) -> str:
        return rf"\frac{{\partial {of}}}{{\partial {wrt}}}"


class _HtmlNotation(Notation):
    _functions = {"sigmoid": "σ", "sqrt": "√"}

    def indexed(self, base: str, index: int | None) -> str:
        return base if index is None else f"{base}<sub>{index}</sub>"

    def power(self, base: str, exponent: str) -> str:
        return f"{_wrap_compound(base)}<sup>{exponent}</sup>"


TEXT = Notation()
LATEX = _LatexNotation()
HTML = _HtmlNotation()
NotationName = Literal["text", "latex", "html"]
NOTATIONS: dict[str, Notation] = {"text": TEXT, "latex": LATEX, "html": HTML}


def _is_token(text: str) -> bool:
    return text.replace(".", "").replace("_", "").isalnum()


def _wrap_compound(text: str) -> str:
    return f"({text})" if " " in text or text.startswith("-") else text


def _number(value: float) -> str:
    """A constant as written in an equation (up to 12 significant digits)."""
    return f"{value:.12g}"


def _shown(value: float) -> str:
    """A value as shown in a table's value column."""
    return f"{value:.6g}"


# -- operations: evaluation, derivatives and symbols of each elementary operation ----------
@dataclass(frozen=True)
class Factor:
    """A partial derivative ``∂v_i/∂v_j`` written as ``coefficient · numerator / denominator``.

    ``compound`` marks a numerator that needs parentheses when multiplied (``1 - v5^2``).
    """

    numerator: str | None = None
    denominator: str | None = None
    coefficient: float = 1.0
    compound: bool = False

    def times(self, notation: Notation, symbol: str) -> tuple[bool, str]:
        """``symbol · ∂v_i/∂v_j`` as (negative, magnitude text), for a term of (8.57)/(8.69)."""
        magnitude = abs(self.coefficient)
        text = symbol if magnitude == 1.0 else f"{_number(magnitude)}{notation.times}{symbol}"
        if self.numerator is not None:
            numerator = f"({self.numerator})" if self.compound else self.numerator
            text = f"{text}{notation.times}{numerator}"
        if self.denominator is not None:
            text = notation.fraction(text, self.denominator)
        return self.coefficient < 0, text


@dataclass(frozen=True)
class Operation:
    """One elementary operation ``v_i = op(parents)`` of a trace.

    ``evaluate(*parent_values)`` gives the value; ``derivatives(value, *parent_values)`` the
    partial derivative with respect to each argument; ``expression(notation, parents)`` writes
    the right-hand side of the primal equation; ``partials(notation, own, parents)`` writes
    the partial derivatives, where ``own`` is how the value ``v_i`` itself is referred to.
    """

    name: str
    evaluate: Callable[..., float]
    derivatives: Callable[..., tuple[float, ...]]
    expression: Callable[[Notation, Sequence[str]], str]
    partials: Callable[[Notation, str, Sequence[str]], tuple[Factor, ...]]


def _unary(
    name: str,
    evaluate: Callable[[float], float],
    derivative: Callable[[float, float], float],
    partial: Callable[[Notation, str, str], Factor],
) -> Operation:
    return Operation(
        name=name,
        evaluate=evaluate,
        derivatives=lambda y, a: (derivative(y, a),),
        expression=lambda n, s: n.function(name, s[0]),
        partials=lambda n, own, s: (partial(n, own, s[0]),),
    )


def _logistic(a: float) -> float:
    """Logistic sigmoid without overflow in either tail."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


ELEMENTARY_FUNCTIONS: dict[str, Operation] = {
    "exp": _unary("exp", math.exp, lambda y, a: y, lambda n, own, a: Factor(own)),
    "log": _unary("log", math.log, lambda y, a: 1.0 / a, lambda n, own, a: Factor(None, a)),
    "sin": _unary(
        "sin", math.sin, lambda y, a: math.cos(a), lambda n, own, a: Factor(n.function("cos", a))
    ),
    "cos": _unary(
        "cos",
        math.cos,
        lambda y, a: -math.sin(a),
        lambda n, own, a: Factor(n.function("sin", a), coefficient=-1.0),
    ),
    "tanh": _unary(
        "tanh",
        math.tanh,
        lambda y, a: 1.0 - y * y,
        lambda n, own, a: Factor(f"1 - {n.power(own, '2')}", compound=True),
    ),
    "sigmoid": _unary(
        "sigmoid",
        _logistic,
        lambda y, a: y * (1.0 - y),
        lambda n, own, a: Factor(f"{own}{n.times}(1 - {own})"),
    ),
    "sqrt": _unary(
        "sqrt", math.sqrt, lambda y, a: 0.5 / y, lambda n, own, a: Factor(None, f"2{n.times}{own}")
    ),
}


def _positive_base_power(a: float, b: float) -> float:
    if a <= 0:
        raise ValueError(f"the base must be positive (got {a}), since ∂(a^b)/∂b = ln(a) a^b")
    return a**b


ADD = Operation(
    "add",
    lambda a, b: a + b,
    lambda y, a, b: (1.0, 1.0),
    lambda n, s: f"{s[0]} + {s[1]}",
    lambda n, own, s: (Factor(), Factor()),
)
SUBTRACT = Operation(
    "subtract",
    lambda a, b: a - b,
    lambda y, a, b: (1.0, -1.0),
    lambda n, s: f"{s[0]} - {s[1]}",
    lambda n, own, s: (Factor(), Factor(coefficient=-1.0)),
)
MULTIPLY = Operation(
    "multiply",
    lambda a, b: a * b,
    lambda y, a, b: (b, a),
    lambda n, s: f"{s[0]}{n.times}{s[1]}",
    lambda n, own, s: (Factor(s[1]), Factor(s[0])),
)
DIVIDE = Operation(
    "divide",
    lambda a, b: a / b,
    lambda y, a, b: (1.0 / b, -a / (b * b)),
    lambda n, s: n.fraction(s[0], s[1]),
    lambda n, own, s: (Factor(None, s[1]), Factor(s[0], n.power(s[1], "2"), -1.0)),
)
POWER = Operation(
    "power",
    _positive_base_power,
    lambda y, a, b: (b * a ** (b - 1.0), math.log(a) * y),
    lambda n, s: n.power(s[0], s[1]),
    lambda n, own, s: (
        Factor(f"{s[1]}{n.times}{n.power(s[0], f'{s[1]} - 1')}"),
        Factor(f"{n.function('log', s[0])}{n.times}{own}"),
    ),
)
NEGATE = Operation(
    "negative",
    lambda a: -a,
    lambda y, a: (-1.0,),
    lambda n, s: f"-{s[0]}",
    lambda n, own, s: (Factor(coefficient=-1.0),),
)


def _add_constant(c: float) -> Operation:
    sign = "-" if c < 0 else "+"
    return Operation(
        "add",
        lambda a: a + c,
        lambda y, a: (1.0,),
        lambda n, s: f"{s[0]} {sign} {_number(abs(c))}",
        lambda n, own, s: (Factor(),),
    )


def _subtract_from_constant(c: float) -> Operation:
    return Operation(
        "subtract",
        lambda a: c - a,
        lambda y, a: (-1.0,),
        lambda n, s: f"{_number(c)} - {s[0]}",
        lambda n, own, s: (Factor(coefficient=-1.0),),
    )


def _scale(c: float) -> Operation:
    return Operation(
        "multiply",
        lambda a: c * a,
        lambda y, a: (c,),
        lambda n, s: f"{_number(c)}{n.times}{s[0]}",
        lambda n, own, s: (Factor(coefficient=c),),
    )


def _divide_by_constant(c: float) -> Operation:
    return Operation(
        "divide",
        lambda a: a / c,
        lambda y, a: (1.0 / c,),
        lambda n, s: n.fraction(s[0], _number(c)),
        lambda n, own, s: (Factor(None, _number(abs(c)), math.copysign(1.0, c)),),
    )


def _divide_constant(c: float) -> Operation:
    return Operation(
        "divide",
        lambda a: c / a,
        lambda y, a: (-c / (a * a),),
        lambda n, s: n.fraction(_number(c), s[0]),
        lambda n, own, s: (Factor(None, n.power(s[0], "2"), -c),),
    )


def _power_constant(c: float) -> Operation:
    """``a^c``: derivative ``c a^(c-1)``."""

    def partial(n: Notation, own: str, s: Sequence[str]) -> tuple[Factor, ...]:
        if c == 1.0:
            return (Factor(),)
        lowered = s[0] if c == 2.0 else n.power(s[0], _number(c - 1.0))
        return (Factor(lowered, coefficient=c),)

    return Operation(
        "power",
        lambda a: a**c,
        lambda y, a: (c * a ** (c - 1.0),),
        lambda n, s: n.power(s[0], _number(c)),
        partial,
    )


def _constant_power(c: float) -> Operation:
    """``c^a`` for ``c > 0``: derivative ``ln(c) c^a``."""
    return Operation(
        "power",
        lambda a: c**a,
        lambda y, a: (math.log(c) * y,),
        lambda n, s: n.power(_number(c), s[0]),
        lambda n, own, s: (Factor(f"{n.function('log', _number(c))}{n.times}{own}"),),
    )


def _apply(operation: Operation, function: Callable[..., float], *arguments: float) -> float:
    """Call ``function`` (an evaluation or derivative of ``operation``) with a clear error."""
    try:
        result = function(*arguments)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        shown = ", ".join(_number(a) for a in arguments)
        raise ValueError(
            f"{operation.name} cannot be evaluated or differentiated at ({shown}): {error}"
        ) from None
    if isinstance(result, complex):
        raise ValueError(f"{operation.name} at ({_number(arguments[0])}, ...) is not real")
    return result


# -- recording -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceStep:
    """Primal variable ``v_index``: an input (``operation is None``) or ``operation(parents)``.

    ``parents`` lists the parent indices per argument, so ``v1 * v1`` has ``(1, 1)``.
    """

    index: int
    operation: Operation | None
    parents: tuple[int, ...]
    value: float


class _Tape:
    """The steps recorded so far by one call of :func:`record_trace`."""

    def __init__(self) -> None:
        self.steps: list[TraceStep] = []
        self.recording = True

    def push(self, operation: Operation | None, parents: tuple[int, ...], value: float) -> int:
        if not self.recording:
            raise ValueError(
                "this variable belongs to a finished recording; operations on it are no "
                "longer traced, so call record_trace again"
            )
        self.steps.append(TraceStep(len(self.steps) + 1, operation, parents, float(value)))
        return len(self.steps)


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real)


_PIECEWISE = "it is piecewise constant, so its derivative is zero or undefined"


def _unsupported(what: str, advice: str) -> Callable[..., None]:
    def method(self: TracedVariable, *args: object) -> None:
        raise TypeError(f"{what} is not an elementary operation of an evaluation trace; {advice}")

    return method


class TracedVariable(ScalarLike):
    """A primal variable ``v_i`` being recorded: arithmetic and elementary functions on it
    append new variables to the trace.

    Real numbers act as constants and are written into the equations (``v3 + 2``,
    ``3/v1``); a constant factor or summand is written first or last whatever its side
    (``2 * v`` and ``v * 2`` both read ``2 v1``).
    """

    __slots__ = ("_tape", "index")
    __array_ufunc__ = None  # NumPy defers to the operators below; np.exp(v) raises

    def __init__(self, tape: _Tape, index: int) -> None:
        self._tape = tape
        self.index = index

    @property
    def value(self) -> float:
        """The primal value of ``v_index``."""
        return self._tape.steps[self.index - 1].value

    def __repr__(self) -> str:
        step = self._tape.steps[self.index - 1]
        names = [TEXT.indexed("v", p) for p in step.parents]
        definition = (
            TEXT.indexed("x", self.index)
            if step.operation is None
            else step.operation.expression(TEXT, names)
        )
        return f"TracedVariable(v{self.index} = {definition}, value={_number(step.value)})"

    def _record(self, operation: Operation, *arguments: TracedVariable) -> TracedVariable:
        for argument in arguments:
            if argument._tape is not self._tape:
                raise ValueError(
                    "an operation combines variables of two different recordings; build the "
                    "whole function inside one record_trace call"
                )
        values = [self._tape.steps[a.index - 1].value for a in arguments]
        value = _apply(operation, operation.evaluate, *values)
        index = self._tape.push(operation, tuple(a.index for a in arguments), value)
        return TracedVariable(self._tape, index)

    def _combine(
        self,
        other: object,
        symbol: str,
        traced: Operation | None,
        constant: Callable[[float], Operation],
    ) -> TracedVariable:
        if isinstance(other, TracedVariable) and traced is not None:
            return self._record(traced, self, other)
        if _is_real(other):
            return self._record(constant(float(other)), self)
        raise TypeError(
            f"unsupported operand for {symbol}: a traced variable and {type(other).__name__}; "
            "an evaluation trace holds scalars, combined with traced variables or real numbers"
        )

    def __add__(self, other: object) -> TracedVariable:
        return self._combine(other, "+", ADD, _add_constant)

    __radd__ = __add__

    def __sub__(self, other: object) -> TracedVariable:
        return self._combine(other, "-", SUBTRACT, lambda c: _add_constant(-c))

    def __rsub__(self, other: object) -> TracedVariable:
        return self._combine(other, "-", None, _subtract_from_constant)

    def __mul__(self, other: object) -> TracedVariable:
        return self._combine(other, "*", MULTIPLY, _scale)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> TracedVariable:
        return self._combine(other, "/", DIVIDE, _divide_by_constant)

    def __rtruediv__(self, other: object) -> TracedVariable:
        return self._combine(other, "/", None, _divide_constant)

    def __pow__(self, other: object, modulo: None = None) -> TracedVariable:
        if modulo is not None:
            raise TypeError("pow() with a modulus is not differentiable; use ** instead")
        return self._combine(other, "**", POWER, _power_constant)

    def __rpow__(self, other: object) -> TracedVariable:
        if _is_real(other) and other <= 0:
            raise ValueError(
                f"{other} ** v needs a positive base, since its derivative is ln(base) base^v"
            )
        return self._combine(other, "**", None, _constant_power)

    def __neg__(self) -> TracedVariable:
        return self._record(NEGATE, self)

    def __pos__(self) -> TracedVariable:
        return self

    def _primal(self, other: object) -> float:
        if isinstance(other, TracedVariable):
            return other.value
        if _is_real(other):
            return float(other)
        raise TypeError(f"cannot compare a traced variable with {type(other).__name__}")

    def __lt__(self, other: object) -> bool:
        return self.value < self._primal(other)

    def __le__(self, other: object) -> bool:
        return self.value <= self._primal(other)

    def __gt__(self, other: object) -> bool:
        return self.value > self._primal(other)

    def __ge__(self, other: object) -> bool:
        return self.value >= self._primal(other)

    def _elementary(self, name: str) -> TracedVariable:
        return self._record(ELEMENTARY_FUNCTIONS[name], self)

    def exp(self) -> TracedVariable:
        """``exp(v)``, derivative ``exp(v)``."""
        return self._elementary("exp")

    def log(self) -> TracedVariable:
        """Natural logarithm, derivative ``1/v``."""
        return self._elementary("log")

    def sin(self) -> TracedVariable:
        """``sin(v)``, derivative ``cos(v)``."""
        return self._elementary("sin")

    def cos(self) -> TracedVariable:
        """``cos(v)``, derivative ``-sin(v)``."""
        return self._elementary("cos")

    def tanh(self) -> TracedVariable:
        """``tanh(v)``, derivative ``1 - tanh(v)^2``."""
        return self._elementary("tanh")

    def sigmoid(self) -> TracedVariable:
        """Logistic sigmoid ``σ(v)``, derivative ``σ(v)(1 - σ(v))``."""
        return self._elementary("sigmoid")

    def sqrt(self) -> TracedVariable:
        """``sqrt(v)``, derivative ``1/(2 sqrt(v))``."""
        return self._elementary("sqrt")

    __abs__ = _unsupported("abs()", "write the branch with a comparison, e.g. v if v > 0 else -v")
    __floordiv__ = __rfloordiv__ = _unsupported("//", _PIECEWISE)
    __mod__ = __rmod__ = __divmod__ = __rdivmod__ = _unsupported("%", _PIECEWISE)
    __round__ = __trunc__ = __floor__ = __ceil__ = _unsupported("rounding", _PIECEWISE)
    __float__ = __int__ = __index__ = __complex__ = _unsupported(
        "conversion to a number",
        "it would drop the variable out of the trace; read .value for its primal value",
    )
    __bool__ = _unsupported(
        "truth testing", "branch on a comparison such as v > 0, which compares primal values"
    )


def _elementary(name: str, x: TracedVariable | float) -> TracedVariable | float:
    if isinstance(x, TracedVariable):
        return x._elementary(name)
    if _is_real(x):
        operation = ELEMENTARY_FUNCTIONS[name]
        return _apply(operation, operation.evaluate, float(x))
    raise TypeError(f"{name} takes a traced variable or a real number, not {type(x).__name__}")


def exp(x: TracedVariable | float) -> TracedVariable | float:
    """``exp(x)``: recorded on a traced variable, evaluated on a number."""
    return _elementary("exp", x)


def log(x: TracedVariable | float) -> TracedVariable | float:
    """Natural logarithm: recorded on a traced variable, evaluated on a number."""
    return _elementary("log", x)


def sin(x: TracedVariable | float) -> TracedVariable | float:
    """``sin(x)``: recorded on a traced variable, evaluated on a number."""
    return _elementary("sin", x)


def cos(x: TracedVariable | float) -> TracedVariable | float:
    """``cos(x)``: recorded on a traced variable, evaluated on a number."""
    return _elementary("cos", x)


def tanh(x: TracedVariable | float) -> TracedVariable | float:
    """``tanh(x)``: recorded on a traced variable, evaluated on a number."""
    return _elementary("tanh", x)


def sigmoid(x: TracedVariable | float) -> TracedVariable | float:
    """Logistic sigmoid: recorded on a traced variable, evaluated on a number."""
    return _elementary("sigmoid", x)


def sqrt(x: TracedVariable | float) -> TracedVariable | float:
    """Square root: recorded on a traced variable, evaluated on a number."""
    return _elementary("sqrt", x)


def book_example(x1: TracedVariable | float, x2: TracedVariable | float) -> TracedVariable | float:
    """(8.49) written so that its trace is (8.50)-(8.56): ``f = v7``."""
    v3 = x1 * x2
    v4 = sin(x2)
    v5 = exp(v3)
    v6 = v3 - v4
    return v5 + v6


def book_example_two_outputs(
    x1: TracedVariable | float, x2: TracedVariable | float
) -> tuple[TracedVariable | float, TracedVariable | float]:
    """Figure 8.5: ``f1 = v7`` of (8.49) and ``f2 = v8 = v5 v6``, which is (8.65)."""
    v3 = x1 * x2
    v4 = sin(x2)
    v5 = exp(v3)
    v6 = v3 - v4
    return v5 + v6, v5 * v6


def record_trace(f: Callable[..., object], *point: float) -> EvaluationTrace:
    """Record the evaluation trace of ``f`` at ``point``, one real number per argument.

    ``f`` returns a traced variable, or a tuple or list of them for several outputs
    (Figure 8.5).  The inputs become ``v1 .. vD``, then each operation ``f`` performs adds
    one variable, in execution order (8.50)-(8.56).
    """
    if not point:
        raise ValueError("record_trace needs the point: one real number per argument of f")
    tape = _Tape()
    inputs = []
    for position, x in enumerate(point, start=1):
        if not _is_real(x):
            raise TypeError(
                f"input x{position} is {type(x).__name__}; record_trace takes one real "
                "number per scalar argument of f"
            )
        inputs.append(TracedVariable(tape, tape.push(None, (), float(x))))
    result = f(*inputs)
    tape.recording = False
    several = isinstance(result, (tuple, list))
    results = list(result) if several else [result]
    if not results:
        raise ValueError("f returned no outputs")
    outputs = []
    for k, output in enumerate(results, start=1):
        name = f"output {k}" if several else "the output"
        if isinstance(output, TracedVariable) and output._tape is tape:
            outputs.append(output.index)
        elif _is_real(output):
            raise ValueError(f"{name} of f is a constant that does not depend on the inputs")
        else:
            raise TypeError(
                f"{name} of f is {type(output).__name__}; f must return the traced "
                "variables it computed (one, or a tuple of them)"
            )
    return EvaluationTrace(tuple(tape.steps), len(point), tuple(outputs))


# -- the trace and its tables --------------------------------------------------------------
@dataclass(frozen=True)
class EvaluationTrace:
    """A recorded trace: primal variables ``v1 .. vn`` (the first ``num_inputs`` are the
    inputs) evaluated at a point, and the indices of the output variables."""

    steps: tuple[TraceStep, ...]
    num_inputs: int
    outputs: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return self.primal_table().to_text()

    @property
    def point(self) -> tuple[float, ...]:
        """The input values ``x`` the trace is evaluated at."""
        return tuple(step.value for step in self.steps[: self.num_inputs])

    @property
    def values(self) -> tuple[float, ...]:
        """Primal values ``v1 .. vn``."""
        return tuple(step.value for step in self.steps)

    def parents(self, i: int) -> tuple[int, ...]:
        """``pa(i)``: the distinct parents of ``v_i``, in argument order."""
        return tuple(dict.fromkeys(self._step(i).parents))

    def children(self, i: int) -> tuple[int, ...]:
        """``ch(i)``: the distinct children of ``v_i``, in increasing order."""
        self._step(i)
        return self._children[i]

    def depths(self) -> tuple[int, ...]:
        """Longest path from an input to each variable (inputs have depth 0)."""
        depth: list[int] = []
        for step in self.steps:
            depth.append(1 + max((depth[p - 1] for p in step.parents), default=-1))
        return tuple(depth)

    def at(self, *point: float) -> EvaluationTrace:
        """The same trace evaluated at another point: the primal equations run as code.

        A branch taken while recording stays taken, whatever the new point.
        """
        if len(point) != self.num_inputs or not all(_is_real(x) for x in point):
            raise ValueError(f"the trace has {self.num_inputs} inputs; pass that many real numbers")
        values = [float(x) for x in point]
        steps = [TraceStep(i, None, (), v) for i, v in enumerate(values, start=1)]
        for step in self.steps[self.num_inputs :]:
            operation = step.operation
            value = _apply(operation, operation.evaluate, *(values[p - 1] for p in step.parents))
            values.append(float(value))
            steps.append(TraceStep(step.index, operation, step.parents, float(value)))
        return EvaluationTrace(tuple(steps), self.num_inputs, self.outputs)

    def primal_table(self) -> TraceTable:
        """The primal equations (8.50)-(8.56) with their values."""
        return TraceTable(self, "primal", (), self.values)

    def tangent_table(self, direction: Sequence[float]) -> TraceTable:
        """Forward mode with ``ẋ = direction``: ``v̇_i = Σ_{j∈pa(i)} v̇_j ∂v_i/∂v_j`` (8.57).

        ``direction = e_j`` gives ``∂f/∂x_j`` ((8.58)-(8.64) for ``j = 1``); any ``r`` gives
        the Jacobian-vector product ``J r`` (8.67) in the same single pass.
        """
        seed = _vector(direction, self.num_inputs, "direction", "input")
        tangents = list(seed)
        for step in self.steps[self.num_inputs :]:
            partials = self._derivatives[step.index]
            tangents.append(
                sum(tangents[p - 1] * d for p, d in zip(step.parents, partials, strict=True))
            )
        return TraceTable(self, "tangent", seed, tuple(tangents))

    def adjoint_table(self, cotangent: Sequence[float] | None = None) -> TraceTable:
        """Reverse mode: ``v̄_i = Σ_{j∈ch(i)} v̄_j ∂v_j/∂v_i`` (8.69), from the outputs back.

        ``cotangent`` weights the outputs (``v̄`` of each output starts there); it defaults to
        ``(1,)`` for one output, as in (8.70).  With several outputs there is one backward pass
        per output: pass ``(1, 0)`` for ``f1``, ``(0, 1)`` for ``f2``, or any ``u`` for ``uᵀ J``.
        """
        if cotangent is None:
            if len(self.outputs) != 1:
                raise ValueError(
                    f"f has {len(self.outputs)} outputs and reverse mode runs one backward "
                    "pass per output: pass cotangent=(1, 0, ...) to differentiate f1"
                )
            cotangent = (1.0,)
        seed = _vector(cotangent, len(self.outputs), "cotangent", "output")
        adjoints = [0.0] * len(self.steps)
        for k, output in enumerate(self.outputs):
            adjoints[output - 1] += seed[k]
        for i in range(len(self.steps), 0, -1):
            for j in self._children[i]:
                child = self.steps[j - 1]
                for p, d in zip(child.parents, self._derivatives[j], strict=True):
                    if p == i:
                        adjoints[i - 1] += adjoints[j - 1] * d
        return TraceTable(self, "adjoint", seed, tuple(adjoints))

    def _step(self, i: int) -> TraceStep:
        if not 1 <= i <= len(self.steps):
            raise ValueError(f"no variable v{i}: the trace has v1 .. v{len(self.steps)}")
        return self.steps[i - 1]

    @cached_property
    def _children(self) -> dict[int, tuple[int, ...]]:
        children: dict[int, list[int]] = {step.index: [] for step in self.steps}
        for step in self.steps:
            for p in dict.fromkeys(step.parents):
                children[p].append(step.index)
        return {i: tuple(c) for i, c in children.items()}

    @cached_property
    def _derivatives(self) -> dict[int, tuple[float, ...]]:
        """``∂v_i/∂(argument)`` for each argument of each non-input ``v_i``, at the point."""
        derivatives = {}
        for step in self.steps[self.num_inputs :]:
            parent_values = (self.steps[p - 1].value for p in step.parents)
            derivatives[step.index] = _apply(
                step.operation, step.operation.derivatives, step.value, *parent_values
            )
        return derivatives


def _vector(values: Sequence[float], size: int, name: str, per: str) -> tuple[float, ...]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of {size} real numbers") from None
    if array.shape != (size,):
        raise ValueError(
            f"{name} has shape {array.shape}, but f has {size} {per}s: pass one number per "
            f"{per}, e.g. {(1.0,) + (0.0,) * (size - 1)}"
        )
    return tuple(float(v) for v in array)


@dataclass(frozen=True)
class _Row:
    name: str
    equation: str
    value: float


@dataclass(frozen=True, repr=False)
class TraceTable:
    """One table of a trace: ``kind`` is ``"primal"``, ``"tangent"`` or ``"adjoint"``.

    ``seed`` is the input direction ``ẋ`` (tangent) or the output cotangent (adjoint);
    ``values[i - 1]`` is ``v_i``, ``v̇_i`` or ``v̄_i``.
    """

    trace: EvaluationTrace
    kind: Literal["primal", "tangent", "adjoint"]
    seed: tuple[float, ...]
    values: tuple[float, ...]

    def value(self, i: int) -> float:
        """The entry for variable ``v_i``."""
        self.trace._step(i)
        return self.values[i - 1]

    @property
    def results(self) -> tuple[float, ...]:
        """Outputs ``f_k`` (primal), ``(J ẋ)_k`` (tangent) or ``(uᵀ J)_j`` (adjoint)."""
        if self.kind == "adjoint":
            return self.values[: self.trace.num_inputs]
        return tuple(self.values[o - 1] for o in self.trace.outputs)

    def rows(self, notation: NotationName = "text") -> tuple[tuple[str, str, float], ...]:
        """``(variable, right-hand side, value)`` for each row, in the order of the pass."""
        return tuple((r.name, r.equation, r.value) for r in self._rows(NOTATIONS[notation]))

    def summary(self, notation: NotationName = "text") -> tuple[tuple[str, str, float], ...]:
        """``(result, variable, value)`` for each result, e.g. ``("∂f/∂x1", "v̄1", 16.78)``."""
        return tuple((r.name, r.equation, r.value) for r in self._summary(NOTATIONS[notation]))

    @property
    def caption(self) -> str:
        point = ", ".join(_number(x) for x in self.trace.point)
        seed = ", ".join(_number(x) for x in self.seed)
        if self.kind == "primal":
            return f"Primal trace at x = ({point}), (8.50)-(8.56)"
        if self.kind == "tangent":
            return f"Tangent trace (forward mode, (8.57)) at x = ({point}) with ẋ = ({seed})"
        return f"Adjoint trace (reverse mode, (8.69)) at x = ({point}) with f̄ = ({seed})"

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<TraceTable {self.kind}: {self.caption}>"

    def to_text(self) -> str:
        """The table as aligned plain text."""
        rows = self._rows(TEXT)
        summary = self._summary(TEXT)
        width_name = max(_width(r.name) for r in rows + summary)
        width_equation = max(_width(r.equation) for r in rows + summary)
        lines = [self.caption]
        for block in (rows, summary):
            lines.append("")
            for r in block:
                name = r.name + " " * (width_name - _width(r.name))
                equation = r.equation + " " * (width_equation - _width(r.equation))
                lines.append(f"  {name} = {equation} = {_shown(r.value)}")
        return "\n".join(lines)

    def to_latex(self) -> str:
        """The table as a LaTeX ``aligned`` block (wrap it in ``$$ .. $$`` or ``Math``)."""
        lines = [
            f"{r.name} &= {r.equation} && = {_shown(r.value)}"
            for r in self._rows(LATEX) + self._summary(LATEX)
        ]
        body = " \\\\\n".join(lines)
        return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"

    def _repr_html_(self) -> str:
        """An HTML table, shown by JupyterLab."""
        cells = "text-align:left;padding:1px 10px"
        out = [
            "<table>",
            f"<caption>{self.caption}</caption>",
            f'<tr><th style="{cells}">variable</th><th style="{cells}">equation</th>'
            f'<th style="{cells}">value</th></tr>',
        ]
        for block, border in (
            (self._rows(HTML), ""),
            (self._summary(HTML), "border-top:1px solid;"),
        ):
            for k, r in enumerate(block):
                style = f"{cells};{border if k == 0 else ''}"
                out.append(
                    f'<tr><td style="{style}">{r.name}</td><td style="{style}">= {r.equation}'
                    f'</td><td style="{style}">{_shown(r.value)}</td></tr>'
                )
        out.append("</table>")
        return "\n".join(out)

    def _rows(self, n: Notation) -> list[_Row]:
        rows = {"primal": self._primal_rows, "tangent": self._tangent_rows}
        return rows.get(self.kind, self._adjoint_rows)(n)

    def _primal_rows(self, n: Notation) -> list[_Row]:
        """(8.50)-(8.56): ``v_i = x_i`` for the inputs, ``v_i = op(parents)`` after them."""
        rows = []
        for step in self.trace.steps:
            if step.operation is None:
                equation = n.indexed("x", step.index)
            else:
                parents = [n.indexed("v", p) for p in step.parents]
                equation = step.operation.expression(n, parents)
            rows.append(_Row(n.indexed("v", step.index), equation, step.value))
        return rows

    def _tangent_rows(self, n: Notation) -> list[_Row]:
        """(8.58)-(8.64): the inputs' tangents are ``ẋ``, then (8.57) for each ``v_i``."""
        rows = []
        for step in self.trace.steps:
            if step.operation is None:
                equation = _number(self.seed[step.index - 1])
            else:
                parents = [n.indexed("v", p) for p in step.parents]
                own = step.operation.expression(n, parents)
                factors = step.operation.partials(n, own, parents)
                equation = _sum(
                    [
                        f.times(n, n.indexed(n.dot("v"), p))
                        for p, f in zip(step.parents, factors, strict=True)
                    ]
                )
            rows.append(_Row(n.indexed(n.dot("v"), step.index), equation, self.value(step.index)))
        return rows

    def _adjoint_rows(self, n: Notation) -> list[_Row]:
        """(8.70)-(8.76): the outputs' adjoints start at the cotangent, then (8.69) backwards."""
        trace = self.trace
        seeds = dict.fromkeys(trace.outputs, 0.0)
        for output, weight in zip(trace.outputs, self.seed, strict=True):
            seeds[output] += weight
        rows = []
        for i in range(len(trace), 0, -1):
            terms = []
            for j in trace.children(i):
                child = trace.steps[j - 1]
                parents = [n.indexed("v", p) for p in child.parents]
                factors = child.operation.partials(n, n.indexed("v", j), parents)
                terms += [
                    f.times(n, n.indexed(n.bar("v"), j))
                    for p, f in zip(child.parents, factors, strict=True)
                    if p == i
                ]
            if i in seeds and (seeds[i] != 0.0 or not terms):
                terms.insert(0, (seeds[i] < 0, _number(abs(seeds[i]))))
            rows.append(_Row(n.indexed(n.bar("v"), i), _sum(terms), self.value(i)))
        return rows

    def _summary(self, n: Notation) -> list[_Row]:
        """The results: ``f = v7``, ``∂f/∂x1 = v̇7`` or ``∂f/∂x1 = v̄1`` and the like."""
        trace = self.trace
        several = len(trace.outputs) > 1
        f = [k + 1 if several else None for k in range(len(trace.outputs))]
        unit = _unit_index(self.seed)
        if self.kind == "primal":
            labels = [n.indexed("f", k) for k in f]
            return [
                _Row(label, n.indexed("v", o), self.value(o))
                for label, o in zip(labels, trace.outputs, strict=True)
            ]
        if self.kind == "tangent":
            labels = [
                n.indexed(n.dot("f"), k)
                if unit is None
                else n.derivative(n.indexed("f", k), n.indexed("x", unit + 1))
                for k in f
            ]
            return [
                _Row(label, n.indexed(n.dot("v"), o), self.value(o))
                for label, o in zip(labels, trace.outputs, strict=True)
            ]
        inputs = range(1, trace.num_inputs + 1)
        labels = [
            n.indexed(n.bar("x"), d)
            if unit is None
            else n.derivative(n.indexed("f", f[unit]), n.indexed("x", d))
            for d in inputs
        ]
        return [
            _Row(label, n.indexed(n.bar("v"), d), self.value(d))
            for label, d in zip(labels, inputs, strict=True)
        ]


def _unit_index(seed: tuple[float, ...]) -> int | None:
    """``j`` when ``seed`` is the unit vector ``e_(j+1)``, else None."""
    if sorted(seed) == [0.0] * (len(seed) - 1) + [1.0]:
        return seed.index(1.0)
    return None


def _sum(terms: list[tuple[bool, str]]) -> str:
    """Join signed terms: ``[(False, a), (True, b)]`` -> ``"a - b"``; no terms -> ``"0"``."""
    if not terms:
        return "0"
    (negative, first), rest = terms[0], terms[1:]
    text = f"-{first}" if negative else first
    for negative, term in rest:
        text += f" {'-' if negative else '+'} {term}"
    return text


def _width(text: str) -> int:
    """Displayed width: combining marks (the dot of v̇, the bar of v̄) take no column."""
    return sum(not unicodedata.combining(c) for c in text)
