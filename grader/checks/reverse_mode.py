"""Checks for the assignment on reverse-mode automatic differentiation (Section 8.2.2).

Three graded tasks: the adjoint trace (8.70)-(8.76) of the example (8.49), with the slip of
the printed (8.75) corrected (Exercises 8.16 and 8.17); a small reverse-mode engine written
by the student (a ``Var`` class and ``grad_reverse``), graded on several scalar functions;
and the Hessian-vector product from the student's two engines nested, dual numbers and
``Var``s (one way round or the other), checked against ``autodiff.hessian``, with a case
that measures the cost: one nested pass, O(W), fits its budget, one pass per input does not.

The engine and the Hessian-vector product take a *function* as their first argument.  The
functions are named test functions of the kernel's side (``grader.sandboxed.inputs``), so
that a case stays plain data (the function's name and the point) and the judge can
regenerate everything from the seed.  The typical mistakes of the engine are modelled by a
small engine with switchable flaws, ``_FlawedVar``: what a student's ``Var`` returns when it
overwrites adjoints, visits the nodes in a wrong order, drops the local derivative or flips
a sign; those of the nesting by dual numbers over it, ``_ModelDual``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import autodiff
from autodiff.algorithms import traces
from grader.checks import register
from grader.framework import AnswerShapeError, Case, Check, Mistake
from grader.sandboxed.inputs import (
    CHAIN_LENGTH,
    ENGINE_FUNCTIONS,
    NESTED_HVP_FUNCTIONS,
    RING_COST_SIZE,
)

# -- the adjoint trace of (8.49): Exercises 8.16 and 8.17 ---------------------------------


def _book_adjoints(
    x1: float,
    x2: float,
    *,
    printed_8_75: bool = False,
    subtraction_sign: float = -1.0,
    exp_factor: bool = True,
    swapped_product: bool = False,
    cos_path: bool = True,
) -> np.ndarray:
    """``[v̄1, .., v̄7]`` of (8.70)-(8.76) at ``(x1, x2)``, optionally with one mistake."""
    v1, v2 = x1, x2
    v3 = v1 * v2
    v5 = math.exp(v3)
    bar7 = 1.0
    bar6 = bar7
    bar5 = bar7
    bar4 = subtraction_sign * bar6
    bar3 = bar5 * (v5 if exp_factor else 1.0) + bar6
    via_v3 = bar3 * (v2 if swapped_product else v1)
    via_v4 = bar4 * math.cos(v2) if cos_path else 0.0
    bar2 = (0.0 if printed_8_75 else via_v3) + via_v4
    bar1 = bar3 * (v1 if swapped_product else v2)
    return np.array([bar1, bar2, bar3, bar4, bar5, bar6, bar7])


def _points(rng: np.random.Generator, count: int) -> list[Case]:
    cases = []
    for _ in range(count):
        x1, x2 = (float(x) for x in np.round(rng.uniform(-1.5, 1.5, size=2), 3))
        cases.append(Case(f"x1 = {x1:g}, x2 = {x2:g}", (x1, x2)))
    return cases


@register
class AdjointTrace849(Check):
    """The adjoints ``v̄1 .. v̄7`` of the evaluation trace (8.50)-(8.56) of (8.49), by the
    backward pass (8.70)-(8.76), with (8.75) corrected to ``v̄3 v1 + v̄4 cos(v2)``."""

    name = "adjoint_trace_8_49"
    title = "Adjoint trace of (8.49)"
    equation = "(8.69)-(8.76)"
    points = 2.0
    outputs = ("adjoints [v̄1, .., v̄7]",)
    rtol = 1e-8
    atol = 1e-10

    def cases(self, rng):
        cases = _points(rng, 5)
        cases.insert(1, Case("x1 = 0, x2 = -0.7 (x1 = 0 kills the path v2 -> v3)", (0.0, -0.7)))
        return cases

    def visible_cases(self, rng):
        return [Case("x1 = 1, x2 = 2 (Exercise 8.17)", (1.0, 2.0)), *_points(rng, 2)]

    def reference(self, case):
        trace = traces.record_trace(traces.book_example, *case.args)
        return np.array(trace.adjoint_table().values)

    def mistakes(self):
        def model(**flaw) -> Callable[[Case], np.ndarray]:
            return lambda case: _book_adjoints(*case.args, **flaw)

        return [
            Mistake(
                "printed (8.75)",
                "v̄2 misses the contribution that flows back through v3: the children of v2 "
                "are v3 and v4, so v̄2 = v̄3 v1 + v̄4 cos(v2) (the printed (8.75) has v̄2 v1 "
                "where v̄3 v1 belongs).",
                "(8.69) and (8.75)",
                model(printed_8_75=True),
            ),
            Mistake(
                "cos path dropped",
                "v̄2 misses the contribution that flows back through v4 = sin(v2): v2 has two "
                "children, v3 and v4, and (8.69) adds one term per child, here "
                "v̄4 ∂v4/∂v2 = v̄4 cos(v2).",
                "(8.53), (8.69) and (8.75)",
                model(cos_path=False),
            ),
            Mistake(
                "subtraction sign",
                "v̄4 has the wrong sign: v6 = v3 - v4, so ∂v6/∂v4 = -1 and v̄4 = -v̄6.",
                "(8.55) and (8.73)",
                model(subtraction_sign=1.0),
            ),
            Mistake(
                "exp without its derivative",
                "v̄3 passes v̄5 back without the local derivative ∂v5/∂v3 = exp(v3) = v5.",
                "(8.54) and (8.74)",
                model(exp_factor=False),
            ),
            Mistake(
                "product rule swapped",
                "The product v3 = v1 v2 sends v̄3 times the OTHER factor back to each input: "
                "∂v3/∂v1 = v2 and ∂v3/∂v2 = v1.",
                "(8.52), (8.75) and (8.76)",
                model(swapped_product=True),
            ),
        ]


# -- test functions of the reverse-mode engine ----------------------------------------------
# Written with operators and the methods exp/log/sin/cos/tanh only, so that the same code runs
# on the student's Var, on the flawed model engine and on autodiff's traced values.

TEST_FUNCTIONS = ENGINE_FUNCTIONS


# where each test function may be evaluated: (low, high) per input
DOMAINS: dict[str, tuple[float, float]] = {
    "(8.49)": (-1.5, 1.5),
    "a variable used five times": (-2.0, 2.0),
    "quotients, powers, log, tanh": (-1.5, 1.5),
    "differences, negation, tanh, cos, exp, square root": (-2.0, 2.0),
    "constants on the left, an unused input": (-2.0, 2.0),
    f"a chain of {3 * CHAIN_LENGTH} operations": (0.2, 2.5),
}


def _function_case(rng: np.random.Generator, name: str) -> Case:
    f = TEST_FUNCTIONS[name]
    low, high = DOMAINS[name]
    n = f.__code__.co_argcount
    xs = tuple(float(x) for x in np.round(rng.uniform(low, high, size=n), 3))
    shown = ", ".join(f"{x:g}" for x in xs)
    return Case(f"f = {name} at ({shown})", xs, {"function": name})


def _function_name(f: Callable) -> str:
    for name, g in TEST_FUNCTIONS.items():
        if g is f:
            return name
    raise ValueError(f"{f!r} is not one of the test functions of this check")


# -- a model engine with the typical flaws ---------------------------------------------------


@dataclass(frozen=True)
class _Flaws:
    """How a flawed engine differs from a correct one."""

    accumulate: bool = True  # False: parent.grad = ... instead of +=
    order: str = "reverse topological"  # or "topological" (not reversed), "breadth-first"
    local: bool = True  # False: passes the child's adjoint back without ∂child/∂parent
    flip_minus: bool = False  # True: +1 for b in a - b
    flip_divide: bool = False  # True: +a/b^2 for b in a / b


class _FlawedVar:
    """What a student's ``Var`` computes when it has the flaws in ``flaws``."""

    __slots__ = ("flaws", "grad", "parents", "value")

    def __init__(self, value: float, parents: tuple = (), flaws: _Flaws = _Flaws()) -> None:
        self.value = float(value)
        self.grad = 0.0
        self.parents = parents
        self.flaws = flaws

    def _lift(self, other) -> _FlawedVar:
        return other if isinstance(other, _FlawedVar) else _FlawedVar(other, (), self.flaws)

    def _make(self, value: float, *pairs) -> _FlawedVar:
        return _FlawedVar(value, pairs, self.flaws)

    def __add__(self, other):
        other = self._lift(other)
        return self._make(self.value + other.value, (self, 1.0), (other, 1.0))

    def __radd__(self, other):
        return self._lift(other) + self

    def __neg__(self):
        return self._make(-self.value, (self, -1.0))

    def __sub__(self, other):
        other = self._lift(other)
        sign = 1.0 if self.flaws.flip_minus else -1.0
        return self._make(self.value - other.value, (self, 1.0), (other, sign))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        return self._make(self.value * other.value, (self, other.value), (other, self.value))

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        q = self.value / other.value
        sign = 1.0 if self.flaws.flip_divide else -1.0
        return self._make(q, (self, 1.0 / other.value), (other, sign * q / other.value))

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, c: float):
        return self._make(self.value**c, (self, c * self.value ** (c - 1.0)))

    def exp(self):
        y = math.exp(self.value)
        return self._make(y, (self, y))

    def log(self):
        return self._make(math.log(self.value), (self, 1.0 / self.value))

    def sin(self):
        return self._make(math.sin(self.value), (self, math.cos(self.value)))

    def cos(self):
        return self._make(math.cos(self.value), (self, -math.sin(self.value)))

    def tanh(self):
        y = math.tanh(self.value)
        return self._make(y, (self, 1.0 - y * y))

    def backward(self) -> None:
        self.grad = 1.0
        for node in _visit_order(self, self.flaws.order):
            for parent, local in node.parents:
                contribution = node.grad * (local if self.flaws.local else 1.0)
                if self.flaws.accumulate:
                    parent.grad += contribution
                else:
                    parent.grad = contribution


def _topological(output: _FlawedVar) -> list[_FlawedVar]:
    """Parents before children: iterative depth-first post-order, a node marked when it is
    expanded (marking it when pushed would let a child finish before its parent)."""
    order: list[_FlawedVar] = []
    expanded: set[int] = set()
    stack = [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in expanded:
            expanded.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents if id(p) not in expanded)
    return order


def _breadth_first(output: _FlawedVar) -> list[_FlawedVar]:
    """Each node once, as soon as it is first reached from the output."""
    order, seen, queue = [], {id(output)}, deque([output])
    while queue:
        node = queue.popleft()
        order.append(node)
        for parent, _ in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return order


def _visit_order(output: _FlawedVar, order: str) -> list[_FlawedVar]:
    if order == "breadth-first":
        return _breadth_first(output)
    topological = _topological(output)
    return topological if order == "topological" else topological[::-1]


def _flawed_gradient(**flaws) -> Callable[[Case], tuple[float, ...]]:
    """The mistake model: gradient returned by an engine with ``flaws``."""

    def model(case: Case) -> tuple[float, ...]:
        xs = [_FlawedVar(x, (), _Flaws(**flaws)) for x in case.args]
        TEST_FUNCTIONS[case.kwargs["function"]](*xs).backward()
        return tuple(x.grad for x in xs)

    return model


@register
class ReverseModeEngine(Check):
    """``grad_reverse(f, *xs)``: the gradient of a scalar function of scalars by one backward
    pass (8.68)-(8.69) through the graph the student's ``Var`` records."""

    name = "reverse_mode_engine"
    title = "A reverse-mode engine"
    equation = "(8.68)-(8.69)"
    points = 4.0
    outputs = ("gradient",)
    rtol = 1e-8
    atol = 1e-10

    def cases(self, rng):
        return [_function_case(rng, name) for name in TEST_FUNCTIONS]

    def visible_cases(self, rng):
        """Every test function, at other points: each rule of the engine (a sum, a
        difference, a product, a quotient on either side, powers, every method), a
        variable used many times and a chain deeper than Python's recursion limit."""
        return [_function_case(rng, name) for name in TEST_FUNCTIONS]

    def reference(self, case):
        f = TEST_FUNCTIONS[case.kwargs["function"]]
        gradient = autodiff.grad(f, argnums=tuple(range(len(case.args))))(*case.args)
        return np.array(gradient, dtype=np.float64)

    caller = "engine"
    answer_form = (
        "grad_reverse must return one number per input (a tuple of floats: the .grad of each "
        "input Var)"
    )

    def normalize(self, answer, case):
        try:
            return np.array(answer, dtype=np.float64)
        except (TypeError, ValueError):
            raise AnswerShapeError(
                "grad_reverse must return one number per input (a tuple of floats: the .grad "
                "of each input Var)"
            ) from None

    def student_function(self, answer):
        def grad_reverse(f, *xs):
            return answer(Case("", tuple(xs), {"function": _function_name(f)}))

        return grad_reverse

    def mistakes(self):
        return [
            Mistake(
                "adjoint overwritten",
                "A variable used more than once keeps only the last contribution to its "
                "adjoint: v̄_i is a SUM over its children, so add (grad += ...), never assign.",
                "(8.69)",
                _flawed_gradient(accumulate=False),
            ),
            Mistake(
                "topological order not reversed",
                "The backward pass visits the nodes inputs-first: reverse the topological "
                "order, so that every child has its full adjoint before it passes it on.",
                "(8.69) and (8.70)-(8.76)",
                _flawed_gradient(order="topological"),
            ),
            Mistake(
                "order not topological",
                "A node passed its adjoint on before all its children had added their "
                "contributions, so the backward order is not a reverse topological order. "
                "Breadth-first order from the output does this, and so does a depth-first "
                "sort that marks a node as seen when it is pushed instead of when it is "
                "expanded.",
                "(8.69)",
                _flawed_gradient(order="breadth-first"),
            ),
            Mistake(
                "local derivative missing",
                "Each parent receives the child's adjoint without the local derivative: "
                "v̄_i gets v̄_j times ∂v_j/∂v_i.",
                "(8.69)",
                _flawed_gradient(local=False),
            ),
            Mistake(
                "sign of the second operand of a - b",
                "The second operand of a - b gets the wrong sign: ∂(a - b)/∂b = -1.",
                "(8.55) and (8.73)",
                _flawed_gradient(flip_minus=True),
            ),
            Mistake(
                "sign of the divisor",
                "The divisor of a / b gets the wrong sign: ∂(a / b)/∂b = -a/b², from the "
                "quotient rule.",
                "(8.69) with the quotient rule",
                _flawed_gradient(flip_divide=True),
            ),
            Mistake(
                "sign of both second operands",
                "The second operands of a - b and of a / b both get the wrong sign: "
                "∂(a - b)/∂b = -1 and ∂(a / b)/∂b = -a/b².",
                "(8.55), (8.73) and the quotient rule",
                _flawed_gradient(flip_minus=True, flip_divide=True),
            ),
        ]


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

    name = "hvp_forward_over_reverse"
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
