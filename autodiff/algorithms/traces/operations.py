"""The elementary operations of an evaluation trace: for each, its value, its partial
derivatives and how its equation and its partial derivatives are written.

``Operation`` is one elementary operation ``v_i = op(parents)``; ``Factor`` one partial
derivative ``∂v_i/∂v_j`` as written in a tangent row (8.57) or an adjoint row (8.69).  The
elementary functions are ``ELEMENTARY_FUNCTIONS``; arithmetic between variables is ``ADD``
... ``NEGATE``, and arithmetic with a constant is made for that constant, which is written
into the equation (``v3 + 2``, ``3/v1``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autodiff.activations import sigmoid
from autodiff.algorithms.traces.notation import Notation, format_constant


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
        text = (
            symbol if magnitude == 1.0 else f"{format_constant(magnitude)}{notation.times}{symbol}"
        )
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
        sigmoid,
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


def add_constant(c: float) -> Operation:
    sign = "-" if c < 0 else "+"
    return Operation(
        "add",
        lambda a: a + c,
        lambda y, a: (1.0,),
        lambda n, s: f"{s[0]} {sign} {format_constant(abs(c))}",
        lambda n, own, s: (Factor(),),
    )


def subtract_from_constant(c: float) -> Operation:
    return Operation(
        "subtract",
        lambda a: c - a,
        lambda y, a: (-1.0,),
        lambda n, s: f"{format_constant(c)} - {s[0]}",
        lambda n, own, s: (Factor(coefficient=-1.0),),
    )


def scale(c: float) -> Operation:
    return Operation(
        "multiply",
        lambda a: c * a,
        lambda y, a: (c,),
        lambda n, s: f"{format_constant(c)}{n.times}{s[0]}",
        lambda n, own, s: (Factor(coefficient=c),),
    )


def divide_by_constant(c: float) -> Operation:
    return Operation(
        "divide",
        lambda a: a / c,
        lambda y, a: (1.0 / c,),
        lambda n, s: n.fraction(s[0], format_constant(c)),
        lambda n, own, s: (Factor(None, format_constant(abs(c)), math.copysign(1.0, c)),),
    )


def divide_constant(c: float) -> Operation:
    return Operation(
        "divide",
        lambda a: c / a,
        lambda y, a: (-c / (a * a),),
        lambda n, s: n.fraction(format_constant(c), s[0]),
        lambda n, own, s: (Factor(None, n.power(s[0], "2"), -c),),
    )


def power_constant(c: float) -> Operation:
    """``a^c``: derivative ``c a^(c-1)``."""

    def partial(n: Notation, own: str, s: Sequence[str]) -> tuple[Factor, ...]:
        if c == 1.0:
            return (Factor(),)
        lowered = s[0] if c == 2.0 else n.power(s[0], format_constant(c - 1.0))
        return (Factor(lowered, coefficient=c),)

    return Operation(
        "power",
        lambda a: a**c,
        lambda y, a: (c * a ** (c - 1.0),),
        lambda n, s: n.power(s[0], format_constant(c)),
        partial,
    )


def constant_power(c: float) -> Operation:
    """``c^a`` for ``c > 0``: derivative ``ln(c) c^a``."""
    return Operation(
        "power",
        lambda a: c**a,
        lambda y, a: (math.log(c) * y,),
        lambda n, s: n.power(format_constant(c), s[0]),
        lambda n, own, s: (Factor(f"{n.function('log', format_constant(c))}{n.times}{own}"),),
    )


def apply(operation: Operation, function: Callable[..., float], *arguments: float) -> float:
    """Call ``function`` (an evaluation or derivative of ``operation``) with a clear error."""
    try:
        result = function(*arguments)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        shown = ", ".join(format_constant(a) for a in arguments)
        raise ValueError(
            f"{operation.name} cannot be evaluated or differentiated at ({shown}): {error}"
        ) from None
    if isinstance(result, complex):
        raise ValueError(f"{operation.name} at ({format_constant(arguments[0])}, ...) is not real")
    return result


def is_real(x: object) -> bool:
    """Whether ``x`` is a real number (a constant of a trace, or a point's coordinate)."""
    return isinstance(x, numbers.Real)
