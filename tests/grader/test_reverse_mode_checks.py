"""The checks of the reverse-mode assignment against independent routes: hand-derived adjoints
of (8.49), autodiff's gradients, and small engines written here the way students write them
(a correct one, one whose depth-first sort marks nodes too early, a recursive one)."""

from __future__ import annotations

import math

import numpy as np

import autodiff
import autodiff.numpy as anp
from autodiff import Scalar
from grader.checks import get_check
from grader.checks.reverse_mode import HVP_FUNCTIONS
from grader.judge import answers, judge
from grader.seeds import seed

ADJOINTS = get_check("adjoint_trace_8_49")
ENGINE = get_check("reverse_mode_engine")
HVP = get_check("hvp_forward_over_reverse")


def run(check, function):
    cases = check.cases(np.random.default_rng(seed("hidden", check.name)))
    return judge(check, cases, answers(check, function, cases))


# -- the adjoint trace of (8.49) -----------------------------------------------------------


def test_adjoints_at_1_2_are_the_hand_derived_values():
    """Exercise 8.17: v̄1 = 2 + 2e², and (8.75) corrected gives v̄2 = 1 + e² - cos 2."""
    e2 = math.exp(2.0)
    expected = [2 + 2 * e2, 1 + e2 - math.cos(2.0), e2 + 1, -1.0, 1.0, 1.0, 1.0]
    got = ADJOINTS.reference(ADJOINTS.visible_cases(np.random.default_rng(0))[0])
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_input_adjoints_are_the_gradient_of_8_49():
    def f(x1, x2):
        return x1 * x2 + anp.exp(x1 * x2) - anp.sin(x2)

    for case in ADJOINTS.cases(np.random.default_rng(1)):
        bars = ADJOINTS.reference(case)
        gradient = autodiff.grad(f, argnums=(0, 1))(*case.args)
        np.testing.assert_allclose(bars[:2], gradient, rtol=1e-10, atol=1e-12)


# -- the engine, graded on engines written as students write them ---------------------------


class Var:
    """A minimal student engine; ``SORT`` chooses how ``backward`` orders the nodes."""

    def __init__(self, value, parents=()):
        self.value, self.grad, self.parents = float(value), 0.0, tuple(parents)

    @staticmethod
    def lift(x):
        return x if isinstance(x, Var) else Var(x)

    def __add__(self, other):
        other = Var.lift(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __sub__(self, other):
        other = Var.lift(other)
        return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))

    def __mul__(self, other):
        other = Var.lift(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    def __truediv__(self, other):
        other = Var.lift(other)
        q = self.value / other.value
        return Var(q, ((self, 1.0 / other.value), (other, -q / other.value)))

    def __radd__(self, other):
        return Var.lift(other) + self

    def __rsub__(self, other):
        return Var.lift(other) - self

    def __rmul__(self, other):
        return Var.lift(other) * self

    def __rtruediv__(self, other):
        return Var.lift(other) / self

    def __neg__(self):
        return Var(-self.value, ((self, -1.0),))

    def __pow__(self, c):
        return Var(self.value**c, ((self, c * self.value ** (c - 1)),))

    def _unary(self, value, slope):
        return Var(value, ((self, slope),))

    def exp(self):
        return self._unary(math.exp(self.value), math.exp(self.value))

    def log(self):
        return self._unary(math.log(self.value), 1 / self.value)

    def sin(self):
        return self._unary(math.sin(self.value), math.cos(self.value))

    def cos(self):
        return self._unary(math.cos(self.value), -math.sin(self.value))

    def tanh(self):
        y = math.tanh(self.value)
        return self._unary(y, 1 - y * y)

    def backward(self, sort):
        self.grad = 1.0
        for node in reversed(sort(self)):
            for parent, local in node.parents:
                parent.grad += node.grad * local


def mark_when_expanded(output):
    order, expanded, stack = [], set(), [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in expanded:
            expanded.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents if id(p) not in expanded)
    return order


def mark_when_pushed(output):
    order, seen, stack = [], {id(output)}, [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        stack.append((node, True))
        for parent, _ in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, False))
    return order


def recursive(output):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent, _ in node.parents:
                visit(parent)
            order.append(node)

    visit(output)
    return order


def grad_reverse_with(sort):
    def grad_reverse(f, *xs):
        inputs = [Var(x) for x in xs]
        f(*inputs).backward(sort)
        return tuple(x.grad for x in inputs)

    return grad_reverse


def test_a_correct_engine_scores_full_marks():
    assert run(ENGINE, grad_reverse_with(mark_when_expanded)).points == ENGINE.points


def test_autodiff_scalar_as_an_engine_scores_full_marks():
    def grad_reverse(f, *xs):
        inputs = [Scalar(x) for x in xs]
        f(*inputs).backward()
        return tuple(x.grad for x in inputs)

    assert run(ENGINE, grad_reverse).points == ENGINE.points


def test_a_sort_that_marks_nodes_when_pushed_is_named():
    verdict = run(ENGINE, grad_reverse_with(mark_when_pushed))
    failed = [r for r in verdict.results if not r.passed]
    assert failed and verdict.points < ENGINE.points
    assert all("not a reverse topological order" in r.diagnosis for r in failed)


def test_a_recursive_sort_fails_only_on_the_long_chain():
    verdict = run(ENGINE, grad_reverse_with(recursive))
    failed = [r for r in verdict.results if not r.passed]
    assert [r.case for r in failed] == [r.case for r in verdict.results if "chain" in r.case]
    assert "RecursionError" in failed[0].problem


def test_returning_the_vars_instead_of_numbers_says_what_to_return():
    def returns_vars(f, *xs):
        inputs = [Var(x) for x in xs]
        f(*inputs).backward(mark_when_expanded)
        return tuple(inputs)

    verdict = run(ENGINE, returns_vars)
    assert verdict.points == 0
    assert "one number per input" in verdict.results[0].problem


# -- the Hessian-vector product ----------------------------------------------------------------


def test_reverse_over_forward_scores_full_marks():
    """The nesting the text describes gives the same Hv (the Hessian is symmetric)."""

    def reverse_over_forward(f, x, v):
        return autodiff.grad(lambda x: autodiff.jvp(f, (x,), (v,))[1])(x)

    assert run(HVP, reverse_over_forward).points == HVP.points


def test_hvp_reference_matches_central_differences_of_the_gradient():
    for case in HVP.cases(np.random.default_rng(2)):
        x, v = case.args
        grad = autodiff.grad(HVP_FUNCTIONS[case.kwargs["function"]])
        eps = 1e-5
        central = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(HVP.reference(case), central, rtol=1e-6, atol=1e-7)
