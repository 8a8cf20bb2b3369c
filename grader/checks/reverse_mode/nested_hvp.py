"""The Hessian-vector product from the student's two engines nested (Section 8.2.2): dual
numbers (8.57) whose values are ``Var``s, or the other way round, give ``H v`` in one
nested pass, O(W), checked against ``autodiff.hessian``, with a cost case that one pass per
input does not meet.  The mistake models nest ``_ModelDual`` over ``_FlawedVar``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.forbidden import BY_HAND
from grader.checks.reverse_mode.model_engine import DOMAINS, _FlawedVar
from grader.framework import AnswerShapeError, Case, Check, Mistake
from grader.sandboxed.inputs import NESTED_HVP_FUNCTIONS, RING_COST_SIZE

# -- the Hessian-vector product from the student's two engines ---------------------------------
# The student nests their dual numbers (forward mode) and their Vars (reverse mode): dual
# numbers whose values are Vars (reverse over forward, as Section 8.2.2 describes it: the
# tangent of the output is the Var v^T grad f, and its backward pass gives H v), or Vars whose
# values are dual numbers (forward over reverse).  The mistake models run a model of the first
# nesting: ``_FlawedVar`` inside ``_ModelDual``.

NESTED_FUNCTIONS = NESTED_HVP_FUNCTIONS

_NESTED_DOMAINS: dict[str, tuple[float, float]] = {
    **{name: DOMAINS[name] for name in NESTED_FUNCTIONS if name in DOMAINS},
    "the error of a 1-2-1 tanh network (W = 7)": (-1.5, 1.5),
    "a ring of coupled inputs": (-1.0, 1.0),
}

HVP_COST_SECONDS = 5.0
"""The time budget of the cost case: one nested pass over the ring of ``RING_COST_SIZE``
inputs creates about 17,500 objects of the master's engines (0.1-0.5 s in Python, even on a
busy core); the Hessian column by column makes ``RING_COST_SIZE`` such passes, minutes."""


def _number(u) -> float:
    """The plain number of a model Var (or the number itself)."""
    return u.value if isinstance(u, _FlawedVar) else u


def _apply(name: str, u):
    """The elementary function ``name`` of a number, or the method of a model Var."""
    return getattr(u, name)() if isinstance(u, _FlawedVar) else getattr(math, name)(u)


class _ModelDual:
    """A dual number whose value and tangent may be model Vars: forward mode over the model
    engine.  ``frozen``: the local derivatives of exp, log, sin, cos and tanh computed from
    the plain numbers (``.value``), so that the outer engine sees them as constants."""

    __slots__ = ("frozen", "tangent", "value")

    def __init__(self, value, tangent=0.0, frozen: bool = False) -> None:
        self.value, self.tangent, self.frozen = value, tangent, frozen

    def _lift(self, other) -> _ModelDual:
        return other if isinstance(other, _ModelDual) else _ModelDual(other, 0.0, self.frozen)

    def _make(self, value, tangent) -> _ModelDual:
        return _ModelDual(value, tangent, self.frozen)

    def _local(self, derivative: Callable):
        """A local derivative, ``derivative`` of this value (of its plain number when
        frozen)."""
        return derivative(_number(self.value) if self.frozen else self.value)

    def __add__(self, other):
        other = self._lift(other)
        return self._make(self.value + other.value, self.tangent + other.tangent)

    def __radd__(self, other):
        return self._lift(other) + self

    def __sub__(self, other):
        other = self._lift(other)
        return self._make(self.value - other.value, self.tangent - other.tangent)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        return self._make(
            self.value * other.value, self.tangent * other.value + self.value * other.tangent
        )

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        tangent = (self.tangent * other.value - self.value * other.tangent) / other.value**2
        return self._make(self.value / other.value, tangent)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __neg__(self):
        return self._make(-self.value, -self.tangent)

    def __pow__(self, c: float):
        return self._make(self.value**c, c * self.value ** (c - 1.0) * self.tangent)

    def exp(self):
        return self._make(
            _apply("exp", self.value), self._local(lambda u: _apply("exp", u)) * self.tangent
        )

    def log(self):
        return self._make(_apply("log", self.value), self.tangent / self._local(lambda u: u))

    def sin(self):
        return self._make(
            _apply("sin", self.value), self._local(lambda u: _apply("cos", u)) * self.tangent
        )

    def cos(self):
        return self._make(
            _apply("cos", self.value),
            -self._local(lambda u: _apply("sin", u)) * self.tangent,
        )

    def tanh(self):
        slope = self._local(lambda u: 1.0 - _apply("tanh", u) ** 2)
        return self._make(_apply("tanh", self.value), slope * self.tangent)


def _nested_hvp(f: Callable, x, v, frozen: bool = False) -> np.ndarray:
    """H v by the model engines nested reverse over forward: dual numbers (x_i, v_i) whose
    values are Vars; the output's tangent v^T grad f is a Var, and its backward pass gives
    the adjoints grad (v^T grad f) = H v of the input Vars."""
    xs = [_FlawedVar(xi) for xi in x]
    out = f(*[_ModelDual(xi, float(vi), frozen) for xi, vi in zip(xs, v)])
    tangent = out.tangent if isinstance(out, _ModelDual) else 0.0
    if isinstance(tangent, _FlawedVar):
        tangent.backward()
    return np.array([xi.grad for xi in xs])


def _of_vector(f: Callable) -> Callable:
    """``f(*x)`` as a function of one vector ``x`` (autodiff's traced scalars have the
    methods the test functions call)."""
    return lambda x: f(*[x[i] for i in range(x.shape[0])])


def _hvp_by_autodiff(f: Callable, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H v with autodiff: the dense Hessian times v on the small cases; for the cost case
    (hundreds of inputs) forward mode through the reverse-mode gradient, the same vector
    (tests/grader/test_reverse_mode_checks.py compares the two)."""
    g = _of_vector(f)
    if x.size <= 16:
        return np.asarray(autodiff.hessian(g)(x)) @ v
    return np.asarray(autodiff.jvp(autodiff.grad(g), (x,), (v,))[1])


def _nested_case(rng: np.random.Generator, name: str, size: int | None = None) -> Case:
    f = NESTED_FUNCTIONS[name]
    n = size if size is not None else f.__code__.co_argcount
    low, high = _NESTED_DOMAINS[name]
    x = np.round(rng.uniform(low, high, size=n), 3)
    v = np.round(rng.normal(size=n), 3)
    if size is None:
        shown = ", ".join(f"{a:g}" for a in x)
        label = f"f = {name} at ({shown})"
    else:
        label = f"f = {name}, {n} inputs"
    return Case(label, (name, x, v))


def _nested_function_name(f: Callable) -> str:
    for name, g in NESTED_FUNCTIONS.items():
        if g is f:
            return name
    raise ValueError(f"{f!r} is not one of the test functions of this check")


@register
class NestedEnginesHVP(Check):
    """``hessian_vector_product(f, x, v)``: ``H v`` for a scalar function of several scalars,
    from the student's own engines nested (dual numbers through the ``Var`` gradient, or the
    other way round), in O(W) (Section 8.2.2), checked against ``autodiff.hessian``."""

    name = "hvp_nested_engines"
    forbids = BY_HAND
    references = ("autodiff.hvp",)
    title = "Hessian-vector product from your two engines"
    equation = "Section 8.2.2 (Hessian-vector product)"
    points = 2.0
    outputs = ("Hv",)
    rtol = 1e-8
    atol = 1e-10
    caller = "nested_hessian_vector"
    answer_form = (
        "hessian_vector_product must return one number per input (a tuple or an array of "
        "floats: the entries of Hv, not Vars or dual numbers)"
    )
    cost_reason = (
        "as costly as a few passes through f (one nested pass: O(W) operations), not one "
        "pass per input (the Hessian column by column: O(W^2))"
    )

    def _small(self, rng) -> list[Case]:
        cases = [
            _nested_case(rng, name)
            for name in NESTED_FUNCTIONS
            if name != "a ring of coupled inputs"
        ]
        cases.append(_nested_case(rng, "a ring of coupled inputs", int(rng.integers(3, 7))))
        return cases

    def _cost_case(self, rng) -> Case:
        case = _nested_case(rng, "a ring of coupled inputs", RING_COST_SIZE)
        label = (
            f"cost: {case.name}: one nested pass fits the {HVP_COST_SECONDS:g} s budget, "
            f"one pass per input does not"
        )
        return Case(label, case.args, seconds=HVP_COST_SECONDS)

    def cases(self, rng):
        return [*self._small(rng), self._cost_case(rng)]

    def visible_cases(self, rng):
        """Every test function at other points, and the cost case: a method that makes one
        pass per input shows in the self-check, stopped at the case's budget."""
        return [*self._small(rng), self._cost_case(rng)]

    def reference(self, case):
        name, x, v = case.args
        return _hvp_by_autodiff(NESTED_FUNCTIONS[name], np.asarray(x), np.asarray(v))

    def normalize(self, answer, case):
        size = np.asarray(case.args[1]).size
        try:
            array = np.array(answer, dtype=np.float64)
        except (TypeError, ValueError):
            raise AnswerShapeError(self.answer_form) from None
        if array.ndim == 0 and size == 1:
            array = array.reshape(1)
        if array.shape != (size,):
            got = "one number" if array.ndim == 0 else f"shape {array.shape}"
            raise AnswerShapeError(
                f"hessian_vector_product must return one number per input, {size} here (the "
                f"entries of Hv), got {got}; a single number is the tangent vᵀ∇f of the "
                f"output, not Hv"
            )
        return array

    def student_function(self, answer):
        def hessian_vector_product(f, x, v):
            name = _nested_function_name(f)
            return answer(Case("", (name, np.asarray(x), np.asarray(v))))

        return hessian_vector_product

    def mistakes(self):
        def function(case: Case) -> Callable:
            return NESTED_FUNCTIONS[case.args[0]]

        def hvp_with(direction: Callable) -> Callable[[Case], np.ndarray]:
            def model(case: Case) -> np.ndarray:
                name, x, v = case.args
                x = np.asarray(x)
                return _hvp_by_autodiff(function(case), x, direction(np.asarray(v)))

            return model

        return [
            Mistake(
                "gradient instead of Hv",
                "This is the gradient ∇f(x): the backward pass ran on the output's value "
                "(or the values of the adjoints were read). H v is the derivative along v of "
                "the gradient: the tangent part, v̇ of each adjoint, or the adjoints of the "
                "output's tangent vᵀ∇f.",
                "Section 8.2.2 (Hessian-vector product)",
                lambda case: np.asarray(
                    autodiff.grad(_of_vector(function(case)))(np.asarray(case.args[1]))
                ),
            ),
            Mistake(
                "tangent not set to v",
                "This is H times a vector of ones: the dual numbers of the inputs must carry "
                "the tangents ẋ = v, as in (8.67).",
                "(8.67) and Section 8.2.2",
                hvp_with(np.ones_like),
            ),
            Mistake(
                "v returned",
                "This is v itself, the tangents of the inputs: H v is read from the adjoints "
                "(the gradient's tangents), not from the inputs' tangents.",
                "Section 8.2.2 (Hessian-vector product)",
                lambda case: np.asarray(case.args[2], dtype=np.float64),
            ),
            Mistake(
                "curvature of the elementary functions lost",
                "The second derivatives of exp, log, sin, cos and tanh are missing: their "
                "local derivatives (exp(u), 1/u, cos(u), -sin(u), 1 - tanh(u)²) were computed "
                "from plain numbers (.value), so the outer engine takes them for constants. "
                "Compute them with the operations and methods of the inner engine, so that "
                "they are differentiated too.",
                "(8.57), (8.69) and Section 8.2.2",
                lambda case: _nested_hvp(function(case), case.args[1], case.args[2], True),
            ),
        ]
