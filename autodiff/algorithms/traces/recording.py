"""Recording a function of scalars as an evaluation trace (8.50)-(8.56).

``record_trace(f, *point)`` calls ``f`` on ``TracedVariable`` inputs: every elementary
operation ``f`` performs on them appends one primal variable to the trace, in the order
Python executes them.  The elementary functions below (``exp``, ``sin`` ...) record on a
traced variable and evaluate on a number, so one ``f`` serves both; ``book_example`` is
(8.49) written one statement per primal equation.
"""

from __future__ import annotations

from collections.abc import Callable

from autodiff.algorithms.traces.notation import TEXT, format_constant
from autodiff.algorithms.traces.operations import (
    ADD,
    DIVIDE,
    ELEMENTARY_FUNCTIONS,
    MULTIPLY,
    NEGATE,
    POWER,
    SUBTRACT,
    Operation,
    add_constant,
    apply,
    constant_power,
    divide_by_constant,
    divide_constant,
    is_real,
    power_constant,
    scale,
    subtract_from_constant,
)
from autodiff.algorithms.traces.tables import EvaluationTrace, TraceStep
from autodiff.core import ScalarLike


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
        return f"TracedVariable(v{self.index} = {definition}, value={format_constant(step.value)})"

    def _record(self, operation: Operation, *arguments: TracedVariable) -> TracedVariable:
        for argument in arguments:
            if argument._tape is not self._tape:
                raise ValueError(
                    "an operation combines variables of two different recordings; build the "
                    "whole function inside one record_trace call"
                )
        values = [self._tape.steps[a.index - 1].value for a in arguments]
        value = apply(operation, operation.evaluate, *values)
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
        if is_real(other):
            return self._record(constant(float(other)), self)
        raise TypeError(
            f"unsupported operand for {symbol}: a traced variable and {type(other).__name__}; "
            "an evaluation trace holds scalars, combined with traced variables or real numbers"
        )

    def __add__(self, other: object) -> TracedVariable:
        return self._combine(other, "+", ADD, add_constant)

    __radd__ = __add__

    def __sub__(self, other: object) -> TracedVariable:
        return self._combine(other, "-", SUBTRACT, lambda c: add_constant(-c))

    def __rsub__(self, other: object) -> TracedVariable:
        return self._combine(other, "-", None, subtract_from_constant)

    def __mul__(self, other: object) -> TracedVariable:
        return self._combine(other, "*", MULTIPLY, scale)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> TracedVariable:
        return self._combine(other, "/", DIVIDE, divide_by_constant)

    def __rtruediv__(self, other: object) -> TracedVariable:
        return self._combine(other, "/", None, divide_constant)

    def __pow__(self, other: object, modulo: None = None) -> TracedVariable:
        if modulo is not None:
            raise TypeError("pow() with a modulus is not differentiable; use ** instead")
        return self._combine(other, "**", POWER, power_constant)

    def __rpow__(self, other: object) -> TracedVariable:
        if is_real(other) and other <= 0:
            raise ValueError(
                f"{other} ** v needs a positive base, since its derivative is ln(base) base^v"
            )
        return self._combine(other, "**", None, constant_power)

    def __neg__(self) -> TracedVariable:
        return self._record(NEGATE, self)

    def __pos__(self) -> TracedVariable:
        return self

    def _primal(self, other: object) -> float:
        if isinstance(other, TracedVariable):
            return other.value
        if is_real(other):
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
    if is_real(x):
        operation = ELEMENTARY_FUNCTIONS[name]
        return apply(operation, operation.evaluate, float(x))
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
        if not is_real(x):
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
        elif is_real(output):
            raise ValueError(f"{name} of f is a constant that does not depend on the inputs")
        else:
            raise TypeError(
                f"{name} of f is {type(output).__name__}; f must return the traced "
                "variables it computed (one, or a tuple of them)"
            )
    return EvaluationTrace(tuple(tape.steps), len(point), tuple(outputs))
