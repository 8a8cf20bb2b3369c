"""The student's reverse-mode engine: ``grad_reverse(f, *xs)``, the gradient of a scalar
function of scalars by one backward pass (8.68)-(8.69) through the graph their ``Var``
records, graded on the named test functions (a case holds the function's name and the
point); each mistake model is ``_FlawedVar`` with one flaw.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff
from grader.checks import register
from grader.checks.forbidden import BY_HAND
from grader.checks.reverse_mode.model_engine import DOMAINS, TEST_FUNCTIONS, _FlawedVar, _Flaws
from grader.framework import AnswerShapeError, Case, Check, Mistake


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
    forbids = BY_HAND
    references = ("autodiff.algorithms.traces", "autodiff.scalar")
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
