"""Checks for the assignment on symbolic and forward-mode differentiation (Sections 8.2, 8.2.1).

Six tasks: the derivative (8.48) of the soft-ReLU network (8.47) (Exercise 8.13); the
logistic map and its derivative, unsimplified (Exercise 8.14); the primal and tangent traces
(8.50)-(8.56) and (8.58)-(8.64) of (8.49) for any input direction (Exercises 8.15, 8.17); a
dual-number class pushed through scalar functions (forward mode, (8.57)); the
Jacobian-vector product in one pass (8.67) and the Jacobian column by column (8.66)
(Exercise 8.18).

The functions that the dual-number tasks differentiate are written with operators and the
methods ``exp sin cos log tanh``, so the same code runs on the student's dual numbers and on
the traced values of ``autodiff.jvp`` and ``autodiff.jacfwd``, which give the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff
import autodiff.numpy as anp
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.framework import AnswerShapeError, Case, Check, Mistake
from grader.sandboxed.inputs import (
    book_8_49,
    book_two_outputs,
    cos_of_sum,
    cyclic_products,
    exp_of_product,
    helix,
    log_of_squares,
    neuron,
    polar_to_cartesian,
    powers,
    product,
    quotient,
    sin_of_difference,
    tanh_layer,
    three_outputs,
    with_constants,
)


def _pair(answer: Any, what: str, names: str) -> list[np.ndarray]:
    """A two-part answer as two float64 arrays, or a TypeError saying what was expected."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise AnswerShapeError(f"{what} must return a pair ({names}), got {type(answer).__name__}")
    try:
        return [np.asarray(part, dtype=np.float64) for part in answer]
    except (TypeError, ValueError):
        kinds = ", ".join(type(part).__name__ for part in answer)
        raise AnswerShapeError(f"{what} must return numbers ({names}), got ({kinds})") from None


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


# ---------------------------------------------------------------------------------------
# Exercise 8.13: the soft-ReLU network (8.44)-(8.47) and its derivative (8.48)
# ---------------------------------------------------------------------------------------


def _soft_relu(a):
    """h(a) = ln(1 + exp(a)) (8.46)."""
    return anp.log(1.0 + anp.exp(a))


def _soft_relu_network(x, w1, b1, w2, b2):
    """y = h(w2 h(w1 x + b1) + b2) (8.47), element by element in ``x``."""
    return _soft_relu(w2 * _soft_relu(w1 * x + b1) + b2)


def _network_parts(case: Case) -> tuple[np.ndarray, ...]:
    """x, w2 and the pre-activations a1 = w1 x + b1, a2 = w2 h(a1) + b2 of a case."""
    x, w1, b1, w2, b2 = case.args
    a1 = w1 * x + b1
    a2 = w2 * np.log1p(np.exp(a1)) + b2
    return x, w2, a1, a2


@register
class SoftReluDyDw1(Check):
    """dy/dw1 of the two soft-ReLU units (8.47), i.e. (8.48), at each input x."""

    name = "soft_relu_dy_dw1"
    title = "Derivative of the soft-ReLU network with respect to w1"
    equation = "(8.48)"
    points = 2.0
    outputs = ("dy/dw1",)

    def cases(self, rng):
        cases = []
        for i in range(6):
            (n,) = sizes(rng, 1, 6)
            x = rng.uniform(-2.0, 2.0, size=n)
            if i == 1:
                x[0] = 0.0  # dy/dw1 vanishes at x = 0
            w1, b1, w2, b2 = (float(w) for w in normal(rng, 4, scale=1.5))
            if i == 2:
                w2 = -abs(w2)  # a negative output weight
            args = (x, w1, b1, w2, b2)
            cases.append(Case(f"{n} inputs x, w1={w1:.3g}, b1={b1:.3g}, w2={w2:.3g}", args))
        return cases

    def reference(self, case):
        x, w1, b1, w2, b2 = case.args

        def total(w):
            return anp.sum(_soft_relu_network(x, w, b1, w2, b2))

        # one copy of w1 per input, so that the gradient holds each dy_n/dw1
        return autodiff.grad(total)(np.full(np.shape(x), w1))

    def mistakes(self):
        def without_x(case):
            x, w2, a1, a2 = _network_parts(case)
            return _sigmoid(a2) * w2 * _sigmoid(a1)

        def without_w2(case):
            x, w2, a1, a2 = _network_parts(case)
            return _sigmoid(a2) * _sigmoid(a1) * x

        def inner_derivative_dropped(case):
            x, w2, a1, a2 = _network_parts(case)
            return (1.0 / (1.0 + np.exp(a2))) * w2 * (1.0 / (1.0 + np.exp(a1))) * x

        return [
            Mistake(
                "soft ReLU derivative without inner factor",
                "The derivative of h(a) = ln(1 + e^a) is e^a / (1 + e^a), the logistic "
                "sigmoid; 1 / (1 + e^a) leaves out the derivative e^a of the logarithm's "
                "argument.",
                "(8.46) and (8.48)",
                inner_derivative_dropped,
            ),
            Mistake(
                "factor x missing",
                "The factor x is missing: the derivative of w1 x + b1 with respect to w1 is x.",
                "(8.44) and (8.48)",
                without_x,
            ),
            Mistake(
                "factor w2 missing",
                "The factor w2 is missing: the output unit receives w2 z + b2, so the "
                "chain rule through z brings in w2.",
                "(8.45) and (8.48)",
                without_w2,
            ),
        ]


# ---------------------------------------------------------------------------------------
# Exercise 8.14: the logistic map L_{k+1} = 4 L_k (1 - L_k), L_1 = x
# ---------------------------------------------------------------------------------------


def _logistic_map(x, n: int):
    """L_n of the logistic map started at L_1 = x (n - 1 steps)."""
    value = x
    for _ in range(n - 1):
        value = 4.0 * value * (1.0 - value)
    return value


def _logistic_with_slip(x: np.ndarray, n: int, slip: str) -> tuple[np.ndarray, np.ndarray]:
    """(L_n, dL_n/dx) as a student with ``slip`` computes them."""
    value, slope = x, np.ones_like(x)
    for _ in range(n if slip == "n steps" else n - 1):
        if slip == "updated first":
            value = 4.0 * value * (1.0 - value)
            slope = 4.0 * slope * (1.0 - value) - 4.0 * value * slope
        elif slip == "one product term":
            value, slope = 4.0 * value * (1.0 - value), 4.0 * slope * (1.0 - value)
        elif slip == "no chain":
            value, slope = 4.0 * value * (1.0 - value), 4.0 * (1.0 - value) - 4.0 * value
        else:
            value, slope = (
                4.0 * value * (1.0 - value),
                4.0 * slope * (1.0 - value) - 4.0 * value * slope,
            )
    return value, slope


@register
class LogisticMapDerivative(Check):
    """L_n of the logistic map and dL_n/dx by the product and chain rules (Exercise 8.14)."""

    name = "logistic_map_derivative"
    title = "The logistic map and its derivative"
    equation = "(Exercise 8.14)"
    points = 2.0
    outputs = ("L_n", "dL_n/dx")

    def cases(self, rng):
        cases = []
        for n in (1, 2, 3, 4, 5, 7):
            (size,) = sizes(rng, 2, 6)
            x = rng.uniform(0.02, 0.98, size=size)
            cases.append(Case(f"n={n}, {size} starting points x in (0, 1)", (x, n)))
        return cases

    def reference(self, case):
        x, n = case.args
        slope = autodiff.grad(lambda z: anp.sum(_logistic_map(z, n)))(x)
        return _logistic_map(x, n), slope

    def normalize(self, answer, case):
        x, _ = case.args
        answer = _pair(answer, "logistic_map", "L_n, dL_n/dx")
        # L_1 = x has the constant derivative 1, which a student may return as a number
        try:
            return [np.broadcast_to(part, np.shape(x)).copy() for part in answer]
        except ValueError:
            return answer

    def mistakes(self):
        def model(slip):
            return lambda case: _logistic_with_slip(*case.args, slip)

        return [
            Mistake(
                "one step too many",
                "This is L_{n+1}: the map starts at L_1 = x, so L_n takes n - 1 steps.",
                "Exercise 8.14",
                model("n steps"),
            ),
            Mistake(
                "derivative from the updated value",
                "The derivative uses L_{k+1} where L_k belongs: compute the new derivative "
                "from the old value before overwriting it.",
                "the product rule (8.43)",
                model("updated first"),
            ),
            Mistake(
                "product rule missing a term",
                "The derivative of 4 L_k (1 - L_k) has two terms, 4 L_k' (1 - L_k) and "
                "-4 L_k L_k'; one of them is missing.",
                "the product rule (8.43)",
                model("one product term"),
            ),
            Mistake(
                "chain rule not carried",
                "This is the derivative of L_{k+1} with respect to L_k only: the chain rule "
                "multiplies it by dL_k/dx at every step.",
                "Exercise 8.14 and (8.57)",
                model("no chain"),
            ),
        ]


# ---------------------------------------------------------------------------------------
# Exercises 8.15 and 8.17: the primal and tangent traces of (8.49)
# ---------------------------------------------------------------------------------------


def _book_trace_variables(x1, x2):
    """v1 .. v7 of (8.50)-(8.56) as one array."""
    v3 = x1 * x2
    v4 = anp.sin(x2)
    v5 = anp.exp(v3)
    v6 = v3 - v4
    return anp.stack([x1, x2, v3, v4, v5, v6, v5 + v6])


def _tangent_trace_with_slip(case: Case, slip: str) -> tuple[np.ndarray, np.ndarray]:
    """(v, v-dot) of (8.50)-(8.56) and (8.58)-(8.64) as a student with ``slip`` computes them."""
    x1, x2, d1, d2 = case.args
    v = [x1, x2, x1 * x2, math.sin(x2), math.exp(x1 * x2)]
    v += [v[2] - v[3], v[4] + v[2] - v[3]]
    d3 = d1 * x2 if slip == "product" else x1 * d2 + d1 * x2
    inner = 1.0 if slip == "chain" else d2
    d4 = inner * math.cos(x2)
    if slip == "cos sign":
        d4 = -d4  # the slope of sin taken as -cos
    elif slip == "sin for cos":
        d4 = -inner * math.sin(x2)  # sin differentiated as if it were cos
    d5 = (1.0 if slip == "chain" else d3) * v[4]
    d6 = d3 + d4 if slip == "sign" else d3 - d4
    return np.array(v), np.array([d1, d2, d3, d4, d5, d6, d5 + d6])


@register
class TangentTrace849(Check):
    """Primal values v1..v7 (8.50)-(8.56) and tangents (8.58)-(8.64) for any direction."""

    name = "tangent_trace_8_49"
    title = "Primal and tangent trace of (8.49)"
    equation = "(8.50)-(8.64)"
    points = 2.0
    outputs = ("v", "v_dot")

    def cases(self, rng):
        cases = []
        for i in range(6):
            x1, x2 = (float(v) for v in rng.uniform(-1.5, 1.5, size=2))
            d1, d2 = (float(d) for d in normal(rng, 2))
            if i == 0:
                d1, d2 = 1.0, 0.0  # the direction of (8.58)-(8.59): df/dx1
            elif i == 1:
                d1, d2 = 0.0, 1.0  # df/dx2
            name = f"x = ({x1:.3g}, {x2:.3g}), x_dot = ({d1:.3g}, {d2:.3g})"
            cases.append(Case(name, (x1, x2, d1, d2)))
        return cases

    def visible_cases(self, rng):
        book = Case("the point (1, 2) of Exercise 8.17, x_dot = (1, 0)", (1.0, 2.0, 1.0, 0.0))
        return [book, *self.cases(rng)[1:3]]

    def reference(self, case):
        x1, x2, d1, d2 = case.args
        return autodiff.jvp(_book_trace_variables, (x1, x2), (d1, d2))

    def normalize(self, answer, case):
        return _pair(answer, "tangent_trace", "v, v_dot")

    def mistakes(self):
        def model(slip):
            return lambda case: _tangent_trace_with_slip(case, slip)

        return [
            Mistake(
                "product rule missing a term",
                "v3_dot needs both terms of the product rule, v1 v2_dot + v1_dot v2; with "
                "x_dot = e1 the missing term happens to vanish, in other directions not.",
                "(8.60)",
                model("product"),
            ),
            Mistake(
                "chain rule without the inner tangent",
                "v4_dot and v5_dot multiply the derivative of sin and exp by the tangent of "
                "their argument: v4_dot = v2_dot cos(v2), v5_dot = v3_dot exp(v3).",
                "(8.61) and (8.62)",
                model("chain"),
            ),
            Mistake(
                "sign of the cos term",
                "v4_dot has the wrong sign: v4 = sin(v2), whose derivative is +cos(v2), so "
                "v4_dot = v2_dot cos(v2); the minus sign belongs to the derivative of cos, and "
                "in this trace the minus of v6 = v3 - v4 enters only in v6_dot.",
                "(8.61) and (8.63)",
                model("cos sign"),
            ),
            Mistake(
                "sin differentiated as cos",
                "v4_dot uses -sin(v2), the derivative of cos: v4 = sin(v2), so v4_dot = v2_dot "
                "cos(v2).",
                "(8.61)",
                model("sin for cos"),
            ),
            Mistake(
                "sign of v4_dot",
                "v6 = v3 - v4, so v6_dot = v3_dot - v4_dot.",
                "(8.63)",
                model("sign"),
            ),
        ]


# ---------------------------------------------------------------------------------------
# Dual numbers: forward mode pushed through functions of scalars
# ---------------------------------------------------------------------------------------
# The functions the student's dual numbers are pushed through.  Written with operators and
# methods only, so that the same code runs on dual numbers and on autodiff's traced values;
# the keys of the tables are the functions' names, which map a call back to its case.


SCALAR_FUNCTIONS: dict[str, tuple[Callable, str, int, bool]] = {
    "book_8_49": (book_8_49, "(8.49): x1 x2 + exp(x1 x2) - sin(x2)", 2, False),
    "product": (product, "x y", 2, False),
    "quotient": (quotient, "x / y", 2, True),
    "with_constants": (with_constants, "3x + 2 - x/4 + (2.5 - x) 0.5 + 1.5/x", 1, True),
    "powers": (powers, "x^3 - (x^2 + y^2)^0.5 - y", 2, False),
    "exp_of_product": (exp_of_product, "exp(x y)", 2, False),
    "sin_of_difference": (sin_of_difference, "sin(x - y)", 2, False),
    "cos_of_sum": (cos_of_sum, "cos(x + y)", 2, False),
    "log_of_squares": (log_of_squares, "log(x^2 + y^2)", 2, False),
    "neuron": (neuron, "tanh(w1 x1 + w2 x2 + b)", 5, False),
}
"""The functions of the dual-number check, each with the rules it exercises: products,
quotients, constants, powers and each elementary function alone, then (8.49) and a neuron
combining them.  Values: (function, how it reads, number of inputs, inputs kept positive)."""

VECTOR_FUNCTIONS: dict[str, tuple[Callable, str, int, int]] = {
    "book_two_outputs": (book_two_outputs, "(8.49) and (8.65), Figure 8.5", 2, 2),
    "polar_to_cartesian": (polar_to_cartesian, "(r cos t, r sin t)", 2, 2),
    "tanh_layer": (tanh_layer, "two tanh units of three inputs", 3, 2),
    "helix": (helix, "(cos t, sin t, t/2)", 1, 3),
    "three_outputs": (three_outputs, "three outputs of two inputs", 2, 3),
    "cyclic_products": (cyclic_products, "(x1 x2, x2 x3, x3 x1)", 3, 3),
}
"""The functions of the Jacobian checks, with fewer, as many and more outputs than inputs.
Values: (function, how it reads, number of inputs D, number of outputs K)."""


def _point(rng: np.random.Generator, count: int, positive: bool) -> np.ndarray:
    """Inputs of size between 0.3 and 2, of random sign unless ``positive``."""
    magnitude = rng.uniform(0.3, 2.0, size=count)
    return magnitude if positive else magnitude * rng.choice([-1.0, 1.0], size=count)


def _stacked(f: Callable) -> Callable:
    """``f`` with its tuple of outputs stacked into one array (for autodiff's transforms)."""
    return lambda *xs: anp.stack(list(f(*xs)))


def _vector_jacobian(case: Case) -> np.ndarray:
    """The K x D Jacobian (8.66) of a vector-function case by autodiff.jacfwd."""
    name, x = case.args[:2]
    f = VECTOR_FUNCTIONS[name][0]
    return autodiff.jacfwd(lambda z: _stacked(f)(*(z[i] for i in range(z.shape[0]))))(x)


class _SlipDual:
    """A dual number (value, tangent) with one typical slip in its rules, as a mistaken
    student writes it: ``"product"`` keeps one term of the product rule, ``"chain"`` drops
    the inner tangent of exp/sin/cos/log/tanh/power (``"chain:exp"`` of ``exp`` alone, and
    so on), ``"constant"`` gives numbers the tangent 1, ``"quotient"`` adds where the
    quotient rule subtracts."""

    def __init__(self, value: float, tangent: float, slip: str) -> None:
        self.value, self.tangent, self.slip = value, tangent, slip

    def _new(self, value: float, tangent: float) -> _SlipDual:
        return _SlipDual(value, tangent, self.slip)

    def _lift(self, other: Any) -> _SlipDual:
        if isinstance(other, _SlipDual):
            return other
        return self._new(float(other), 1.0 if self.slip == "constant" else 0.0)

    def __add__(self, other):
        other = self._lift(other)
        return self._new(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other)
        return self._new(self.value - other.value, self.tangent - other.tangent)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __neg__(self):
        return self._new(-self.value, -self.tangent)

    def __mul__(self, other):
        other = self._lift(other)
        tangent = self.tangent * other.value
        if self.slip != "product":
            tangent += self.value * other.tangent
        return self._new(self.value * other.value, tangent)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other)
        sign = 1.0 if self.slip == "quotient" else -1.0
        tangent = (self.tangent * other.value + sign * self.value * other.tangent) / other.value**2
        return self._new(self.value / other.value, tangent)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def _chain(self, function: str, value: float, derivative: float) -> _SlipDual:
        dropped = self.slip in ("chain", f"chain:{function}")
        return self._new(value, derivative * (1.0 if dropped else self.tangent))

    def __pow__(self, exponent: float):
        derivative = exponent * self.value ** (exponent - 1.0)
        return self._chain("pow", self.value**exponent, derivative)

    def exp(self):
        return self._chain("exp", math.exp(self.value), math.exp(self.value))

    def sin(self):
        return self._chain("sin", math.sin(self.value), math.cos(self.value))

    def cos(self):
        return self._chain("cos", math.cos(self.value), -math.sin(self.value))

    def log(self):
        return self._chain("log", math.log(self.value), 1.0 / self.value)

    def tanh(self):
        return self._chain("tanh", math.tanh(self.value), 1.0 - math.tanh(self.value) ** 2)


def _slip_outputs(slip: str, f: Callable, x: np.ndarray, seed: np.ndarray) -> list:
    """The outputs of ``f`` on slipped dual numbers seeded with ``seed``."""
    outputs = f(*(_SlipDual(float(a), float(d), slip) for a, d in zip(x, seed)))
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


_DUAL_SLIPS = [
    (
        "product",
        "product rule missing a term",
        "The tangent of a product u v is u_dot v + u v_dot; one of the two terms is missing.",
        "(8.43) and (8.60)",
    ),
    (
        "chain",
        "chain rule without the inner derivative",
        "exp, sin, cos, log, tanh and powers must multiply their derivative by the tangent "
        "of their argument: the tangent of exp(u) is exp(u) u_dot.",
        "(8.57), (8.61) and (8.62)",
    ),
    *(
        (
            f"chain:{function}",
            f"chain rule without the inner derivative in {reads}",
            f"The tangent of {reads} misses the tangent of its argument: it is "
            f"{derivative} times u_dot (the other elementary functions have it right).",
            equation,
        )
        for function, reads, derivative, equation in (
            ("exp", "exp(u)", "exp(u)", "(8.57) and (8.62)"),
            ("sin", "sin(u)", "cos(u)", "(8.57) and (8.61)"),
            ("cos", "cos(u)", "-sin(u)", "(8.57)"),
            ("log", "log(u)", "1/u", "(8.57)"),
            ("tanh", "tanh(u)", "1 - tanh(u)^2", "(8.57)"),
            ("pow", "u ** p", "p u^(p-1)", "(8.57)"),
        )
    ),
    (
        "constant",
        "constant with a nonzero tangent",
        "A number does not depend on the inputs, so as a dual number its tangent is 0, not 1.",
        "(8.57)",
    ),
    (
        "quotient",
        "sign in the quotient rule",
        "The tangent of u / v is (u_dot v - u v_dot) / v^2: the second term is subtracted.",
        "the quotient rule and (8.57)",
    ),
]


@register
class DualNumberJvp(Check):
    """jvp_dual(f, x, v): f and its directional derivative along v, by dual numbers."""

    name = "dual_number_jvp"
    title = "Forward mode with dual numbers"
    equation = "(8.57)"
    points = 4.0
    outputs = ("value", "tangent")

    def cases(self, rng):
        cases = []
        for name, (_, reads, count, positive) in SCALAR_FUNCTIONS.items():
            x = _point(rng, count, positive)
            v = normal(rng, count)
            cases.append(Case(f"f = {reads}, {count} input(s)", (name, x, v)))
        return cases

    def visible_cases(self, rng):
        return self.cases(rng)  # every function, at other points and directions

    def reference(self, case):
        name, x, v = case.args
        value, tangent = autodiff.jvp(SCALAR_FUNCTIONS[name][0], tuple(x), tuple(v))
        return [np.asarray(value), np.asarray(tangent)]

    caller = "dual"
    answer_form = "jvp_dual must return numbers (value, tangent): the two parts of a Dual"

    def normalize(self, answer, case):
        return _pair(answer, "jvp_dual", "value, tangent")

    def student_function(self, answer):
        return lambda f, x, v: answer(Case("", (f.__name__, np.asarray(x), np.asarray(v))))

    def mistakes(self):
        def model(slip):
            def outputs(case):
                name, x, v = case.args
                (out,) = _slip_outputs(slip, SCALAR_FUNCTIONS[name][0], x, v)
                return [np.asarray(out.value), np.asarray(out.tangent)]

            return outputs

        return [
            Mistake(name, explanation, equation, model(slip))
            for slip, name, explanation, equation in _DUAL_SLIPS
        ]


def _vector_cases(rng: np.random.Generator, with_direction: bool) -> list[Case]:
    """One case per vector function: its name, a point x and, if asked, a direction r."""
    cases = []
    for name, (_, reads, inputs, outputs) in VECTOR_FUNCTIONS.items():
        label = f"f = {reads}, K={outputs} outputs, D={inputs} input(s)"
        x = _point(rng, inputs, positive=False)
        args = (name, x, normal(rng, inputs)) if with_direction else (name, x)
        cases.append(Case(label, args))
    return cases


@register
class ForwardJacobianVectorProduct(Check):
    """J r (8.67) of a function with several outputs, by one forward pass with x_dot = r."""

    name = "forward_jacobian_vector_product"
    title = "Jacobian-vector product in one forward pass"
    equation = "(8.67)"
    points = 2.0
    outputs = ("J r",)

    def cases(self, rng):
        return _vector_cases(rng, with_direction=True)

    def visible_cases(self, rng):
        """Every function with more than one input: with a single input, the first column
        and the sum of the columns are the same vector, and two mistakes would look alike."""
        return [c for c in self.cases(rng) if VECTOR_FUNCTIONS[c.args[0]][2] > 1]

    def reference(self, case):
        name, x, r = case.args
        return autodiff.jvp(_stacked(VECTOR_FUNCTIONS[name][0]), tuple(x), tuple(r))[1]

    caller = "jacobian_vector"

    def student_function(self, answer):
        return lambda f, x, r: answer(Case("", (f.__name__, np.asarray(x), np.asarray(r))))

    def mistakes(self):
        return [
            Mistake(
                "first column",
                "This is the first column J e1 of the Jacobian: seed the pass with x_dot = r, "
                "not with a unit vector.",
                "(8.67) and Exercise 8.18",
                lambda case: _vector_jacobian(case)[:, 0],
            ),
            Mistake(
                "unweighted sum of columns",
                "This is J (1, ..., 1): every input got the tangent 1 where it should get r_j.",
                "(8.67) and Exercise 8.18",
                lambda case: _vector_jacobian(case).sum(axis=1),
            ),
            Mistake(
                "weights on the outputs",
                "This weights the outputs by r (r^T J, what a reverse pass gives); forward mode "
                "puts r on the inputs and returns J r.",
                "(8.67)",
                lambda case: case.args[2] @ _vector_jacobian(case),
            ),
        ]


@register
class ForwardJacobianColumns(Check):
    """The K x D Jacobian (8.66) by D forward passes, column j seeded with x_dot = e_j."""

    name = "forward_jacobian_columns"
    title = "The Jacobian column by column in forward mode"
    equation = "(8.66)"
    points = 2.0
    outputs = ("J",)

    def cases(self, rng):
        return _vector_cases(rng, with_direction=False)

    def visible_cases(self, rng):
        return self.cases(rng)

    def reference(self, case):
        return _vector_jacobian(case)

    caller = "jacobian_columns"

    def student_function(self, answer):
        return lambda f, x: answer(Case("", (f.__name__, np.asarray(x))))

    def mistakes(self):
        def repeated(column):
            return lambda case: np.repeat(column(_vector_jacobian(case)), len(case.args[1]), 1)

        return [
            Mistake(
                "passes stored as rows",
                "Each forward pass gives one column of J, the derivatives of all K outputs "
                "with respect to one input; here they are stored as rows (J transposed).",
                "(8.66)",
                lambda case: _vector_jacobian(case).T,
            ),
            Mistake(
                "same seed in every pass",
                "Every column is the first one: pass j must be seeded with x_dot = e_j, a "
                "different unit vector each time.",
                "(8.66)",
                repeated(lambda J: J[:, :1]),
            ),
            Mistake(
                "all-ones seed",
                "Every column is J (1, ..., 1): the seed of pass j is e_j, with 1 in place j "
                "and 0 elsewhere.",
                "(8.66)",
                repeated(lambda J: J.sum(axis=1, keepdims=True)),
            ),
        ]
