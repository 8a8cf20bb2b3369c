"""Checks for the assignment on reverse-mode automatic differentiation (Section 8.2.2).

Three graded tasks: the adjoint trace (8.70)-(8.76) of the example (8.49), with the slip of
the printed (8.75) corrected (Exercises 8.16 and 8.17); a small reverse-mode engine written
by the student (a ``Var`` class and ``grad_reverse``), graded on several scalar functions;
and the Hessian-vector product by forward-over-reverse.

The engine and the Hessian-vector product take a *function* as their first argument.  The
functions are named module-level test functions, so that a case stays plain data (the
function's name and the point) and the judge can regenerate everything from the seed.  The
typical mistakes of the engine are modelled by a small engine with switchable flaws,
``_FlawedVar``: what a student's ``Var`` returns when it overwrites adjoints, visits the
nodes in a wrong order, drops the local derivative or flips a sign.
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
from grader.sandboxed.inputs import CHAIN_LENGTH, ENGINE_FUNCTIONS, HVP_FUNCTIONS

# -- the adjoint trace of (8.49): Exercises 8.16 and 8.17 ---------------------------------


def _book_adjoints(
    x1: float,
    x2: float,
    *,
    printed_8_75: bool = False,
    subtraction_sign: float = -1.0,
    exp_factor: bool = True,
    swapped_product: bool = False,
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
    bar2 = (0.0 if printed_8_75 else via_v3) + bar4 * math.cos(v2)
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


# -- the Hessian-vector product by forward-over-reverse --------------------------------------


def _hvp_case(rng: np.random.Generator, name: str, size: int) -> Case:
    x = rng.normal(size=size)
    v = rng.normal(size=size)
    return Case(f"f = {name}, W = {size}", (x, v), {"function": name})


def _hvp_function_name(f: Callable) -> str:
    for name, g in HVP_FUNCTIONS.items():
        if g is f:
            return name
    raise ValueError(f"{f!r} is not one of the test functions of this check")


@register
class ForwardOverReverseHVP(Check):
    """``Hv`` by forward mode applied to the reverse-mode gradient, in O(W) (Section 8.2.2)."""

    name = "hvp_forward_over_reverse"
    title = "Hessian-vector product by forward-over-reverse"
    equation = "(Section 8.2.2)"
    points = 2.0
    outputs = ("Hv",)
    rtol = 1e-8
    atol = 1e-10

    def _cases(self, rng, sizes: tuple[int, ...]) -> list[Case]:
        network, *others = HVP_FUNCTIONS
        cases = [_hvp_case(rng, network, 13)]
        for size in sizes:
            cases += [_hvp_case(rng, name, size) for name in others]
        return cases

    def cases(self, rng):
        return self._cases(rng, (2, int(rng.integers(3, 9))))

    def visible_cases(self, rng):
        return self._cases(rng, (4,))

    def reference(self, case):
        x, v = case.args
        return autodiff.hessian(HVP_FUNCTIONS[case.kwargs["function"]])(x) @ v

    caller = "hessian_vector"

    def student_function(self, answer):
        def hessian_vector_product(f, x, v):
            return answer(Case("", (x, v), {"function": _hvp_function_name(f)}))

        return hessian_vector_product

    def mistakes(self):
        def function(case: Case) -> Callable:
            return HVP_FUNCTIONS[case.kwargs["function"]]

        return [
            Mistake(
                "gradient instead of Hv",
                "This is the gradient ∇f(x): jvp returns the pair (primal output, tangent "
                "output), and Hv is the tangent output, the second element.",
                "Section 8.2.2 (Hessian-vector product)",
                lambda case: autodiff.grad(function(case))(case.args[0]),
            ),
            Mistake(
                "directional derivative of f",
                "This is the number vᵀ∇f, the forward-mode derivative of f itself: "
                "differentiate the gradient ∇f, not f, in the direction v.",
                "Section 8.2.2 (Hessian-vector product)",
                lambda case: autodiff.jvp(function(case), (case.args[0],), (case.args[1],))[1],
            ),
            Mistake(
                "tangent not set to v",
                "This is H times a vector of ones: the forward pass must be seeded with "
                "ẋ = v, as in (8.67).",
                "(8.67) and Section 8.2.2",
                lambda case: (
                    autodiff.hessian(function(case))(case.args[0]) @ np.ones_like(case.args[1])
                ),
            ),
        ]
