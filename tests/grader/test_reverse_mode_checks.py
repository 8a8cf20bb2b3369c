"""The checks of the reverse-mode assignment against independent routes: hand-derived adjoints
of (8.49), autodiff's gradients, and small engines written here the way students write them
(a correct one, one whose depth-first sort marks nodes too early, a recursive one), nested
both ways for the Hessian-vector product, and the Hessian column by column, which the cost
case stops (counted in calls of f, never timed here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from autodiff import Scalar
from grader.checks import get_check, reverse_mode
from grader.framework import Case
from grader.judge import answers, judge
from grader.sandboxed import channel
from grader.sandboxed.calls import TIME_LIMIT
from grader.sandboxed.inputs import NESTED_HVP_FUNCTIONS, RING_COST_SIZE
from grader.seeds import hidden_cases, seed, visible_cases

ADJOINTS = get_check("adjoint_trace_8_49")
ENGINE = get_check("reverse_mode_engine")
HVP = get_check("hvp_nested_engines")


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


def test_the_cos_path_dropped_is_named_at_1_2():
    """v̄2 without v̄4 cos(v2), the term that flows back through v4 = sin(v2) (8.53)."""
    e2 = math.exp(2.0)
    expected = [2 + 2 * e2, 1 + e2, e2 + 1, -1.0, 1.0, 1.0, 1.0]

    def without_cos(x1, x2):
        return (
            np.array(expected)
            if (x1, x2) == (1.0, 2.0)
            else ADJOINTS.reference(Case("", (x1, x2)))
            - np.array([0.0, -math.cos(x2), 0, 0, 0, 0, 0])
        )

    cases = ADJOINTS.visible_cases(np.random.default_rng(seed("visible", ADJOINTS.name)))
    verdict = judge(ADJOINTS, cases, answers(ADJOINTS, without_cos, cases))
    failed = [r for r in verdict.results if not r.passed]
    assert failed and all("v4 = sin(v2)" in r.diagnosis for r in failed)


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


# -- the Hessian-vector product from the student's two engines -----------------------------


class Dual:
    """Dual numbers as the reverse-mode assignment asks for them: value and tangent kept as
    given (numbers or Vars), elementary functions through ``apply``."""

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    @staticmethod
    def lift(x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    def __add__(self, other):
        other = Dual.lift(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __sub__(self, other):
        other = Dual.lift(other)
        return Dual(self.value - other.value, self.tangent - other.tangent)

    def __rsub__(self, other):
        return Dual.lift(other) - self

    def __mul__(self, other):
        other = Dual.lift(other)
        return Dual(
            self.value * other.value, self.tangent * other.value + self.value * other.tangent
        )

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = Dual.lift(other)
        tangent = (self.tangent * other.value - self.value * other.tangent) / other.value**2
        return Dual(self.value / other.value, tangent)

    def __rtruediv__(self, other):
        return Dual.lift(other) / self

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __pow__(self, p):
        return Dual(self.value**p, p * self.value ** (p - 1) * self.tangent)

    def exp(self):
        y = apply("exp", self.value)
        return Dual(y, y * self.tangent)

    def log(self):
        return Dual(apply("log", self.value), self.tangent / self.value)

    def sin(self):
        return Dual(apply("sin", self.value), apply("cos", self.value) * self.tangent)

    def cos(self):
        return Dual(apply("cos", self.value), -apply("sin", self.value) * self.tangent)

    def tanh(self):
        y = apply("tanh", self.value)
        return Dual(y, (1.0 - y * y) * self.tangent)


def apply(name, u):
    """``name`` of a number by ``math``, of an engine's object by its method."""
    return getattr(u, name)() if hasattr(u, name) else getattr(math, name)(u)


class DualValuedVar:
    """A reverse-mode engine whose values may be dual numbers (forward over reverse);
    ``FROZEN``: the local derivatives of the elementary functions taken from the plain
    numbers of the values, the mistake the check models."""

    FROZEN = False

    def __init__(self, value, parents=()):
        self.value, self.grad, self.parents = value, 0.0, tuple(parents)

    @staticmethod
    def lift(x):
        return x if isinstance(x, DualValuedVar) else DualValuedVar(x)

    def __add__(self, other):
        other = DualValuedVar.lift(other)
        return DualValuedVar(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __radd__(self, other):
        return DualValuedVar.lift(other) + self

    def __sub__(self, other):
        other = DualValuedVar.lift(other)
        return DualValuedVar(self.value - other.value, ((self, 1.0), (other, -1.0)))

    def __rsub__(self, other):
        return DualValuedVar.lift(other) - self

    def __mul__(self, other):
        other = DualValuedVar.lift(other)
        return DualValuedVar(self.value * other.value, ((self, other.value), (other, self.value)))

    def __rmul__(self, other):
        return DualValuedVar.lift(other) * self

    def __truediv__(self, other):
        other = DualValuedVar.lift(other)
        q = self.value / other.value
        return DualValuedVar(q, ((self, 1.0 / other.value), (other, -q / other.value)))

    def __rtruediv__(self, other):
        return DualValuedVar.lift(other) / self

    def __neg__(self):
        return DualValuedVar(-self.value, ((self, -1.0),))

    def __pow__(self, c):
        return DualValuedVar(self.value**c, ((self, c * self.value ** (c - 1)),))

    def _at(self):
        """Where the local derivatives are evaluated."""
        if DualValuedVar.FROZEN and isinstance(self.value, Dual):
            return self.value.value
        return self.value

    def _unary(self, name, slope):
        return DualValuedVar(apply(name, self.value), ((self, slope),))

    def exp(self):
        return self._unary("exp", apply("exp", self._at()))

    def log(self):
        return self._unary("log", 1.0 / self._at())

    def sin(self):
        return self._unary("sin", apply("cos", self._at()))

    def cos(self):
        return self._unary("cos", -apply("sin", self._at()))

    def tanh(self):
        y = apply("tanh", self._at())
        return self._unary("tanh", 1.0 - y * y)

    def backward(self):
        self.grad = 1.0
        for node in reversed(mark_when_expanded(self)):
            for parent, local in node.parents:
                parent.grad = parent.grad + node.grad * local


def reverse_over_forward(f, x, v):
    """Dual numbers whose values are Vars: the tangent of f is the Var v^T grad f."""
    inputs = [Var(xi) for xi in x]
    out = Dual.lift(f(*[Dual(xi, vi) for xi, vi in zip(inputs, v)]))
    Var.lift(out.tangent).backward(mark_when_expanded)
    return np.array([xi.grad for xi in inputs])


def forward_over_reverse(f, x, v):
    """Vars whose values are dual numbers: the adjoints' tangents are H v."""
    inputs = [DualValuedVar(Dual(xi, vi)) for xi, vi in zip(x, v)]
    f(*inputs).backward()
    return np.array([Dual.lift(xi.grad).tangent for xi in inputs])


def column_by_column(f, x, v):
    """The whole Hessian, one nested pass per input, then its product with v."""
    columns = [reverse_over_forward(f, x, e) for e in np.eye(len(x))]
    return np.column_stack(columns) @ np.asarray(v)


def hidden_hvp_cases():
    return hidden_cases(HVP, "a course secret", "07_reverse_mode", "a student")


@pytest.mark.parametrize("nesting", [reverse_over_forward, forward_over_reverse])
def test_either_nesting_scores_full_marks(nesting):
    """Reverse over forward (the text's) and forward over reverse give the same Hv."""
    assert run(HVP, nesting).points == HVP.points


def test_hvp_reference_matches_central_differences_of_the_gradient():
    for case in HVP.cases(np.random.default_rng(2))[:-1]:
        name, x, v = case.args
        f = NESTED_HVP_FUNCTIONS[name]
        grad = autodiff.grad(lambda x: f(*[x[i] for i in range(x.shape[0])]))
        eps = 1e-5
        central = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(HVP.reference(case), central, rtol=1e-6, atol=1e-7)


def test_the_two_routes_of_the_reference_agree():
    """The reference is the dense Hessian times v on the small cases and forward mode through
    the reverse-mode gradient on the cost case: the same vector, on a ring of 30 inputs."""
    ring = NESTED_HVP_FUNCTIONS["a ring of coupled inputs"]
    rng = np.random.default_rng(3)
    x, v = rng.normal(size=30), rng.normal(size=30)
    dense = np.asarray(autodiff.hessian(reverse_mode._of_vector(ring))(x)) @ v
    np.testing.assert_allclose(reverse_mode._hvp_by_autodiff(ring, x, v), dense, atol=1e-12)


def test_frozen_local_derivatives_give_the_model_in_either_nesting():
    """The mistake "curvature of the elementary functions lost" is modelled reverse over
    forward; forward over reverse with the same slip gives the same vector, so the
    diagnosis fits either nesting."""
    (model,) = [m for m in HVP.mistakes() if m.name == "curvature of the elementary functions lost"]
    DualValuedVar.FROZEN = True
    try:
        for case in HVP.visible_cases(np.random.default_rng(4))[:-1]:
            name, x, v = case.args
            frozen = forward_over_reverse(NESTED_HVP_FUNCTIONS[name], x, v)
            np.testing.assert_allclose(frozen, model.model(case), rtol=1e-12, atol=1e-12)
            assert not np.allclose(frozen, HVP.reference(case))
    finally:
        DualValuedVar.FROZEN = False


def test_the_cost_case_is_last_budgeted_and_shown_in_the_self_check():
    cases = hidden_hvp_cases()
    assert [c for c in cases if c.seconds] == [cases[-1]]
    cost = cases[-1]
    assert cost.name.startswith("cost: ") and HVP.cost_reason
    assert 0 < cost.seconds <= TIME_LIMIT / 4
    assert np.asarray(cost.args[1]).size == RING_COST_SIZE
    assert visible_cases(HVP)[-1].seconds == cost.seconds


def test_every_mistake_model_answers_the_cost_case():
    cost = hidden_hvp_cases()[-1]
    for mistake in HVP.mistakes():
        (record,) = answers(HVP, HVP.student_function(mistake.model), [cost])
        assert "answer" in record, (mistake.name, record.get("error"))


def test_one_call_of_f_per_product_and_one_per_column_for_the_whole_hessian():
    """Counted on the small cases: the nested pass calls f once, the Hessian column by
    column once per input (an operation count, not a clock)."""
    calls = [0]

    def counted(nesting):
        def hessian_vector_product(f, x, v):
            def g(*args):
                calls[0] += 1
                return f(*args)

            return nesting(g, x, v)

        return hessian_vector_product

    for case in hidden_hvp_cases()[:-1]:
        name, x, v = case.args
        for nesting, expected in [(reverse_over_forward, 1), (column_by_column, len(x))]:
            calls[0] = 0
            answers(HVP, counted(nesting), [case])
            assert calls[0] == expected, (case.name, nesting.__name__)


def test_column_by_column_passes_the_small_cases_and_runs_out_of_time_on_the_cost_case():
    cases = hidden_hvp_cases()
    records = answers(HVP, column_by_column, cases)
    verdict = judge(HVP, cases, records)
    *small, cost = verdict.results
    assert all(r.passed for r in small), [r.problem for r in small if not r.passed]
    assert not cost.passed and records[-1]["error"]["kind"] == channel.TIMEOUT
    assert "too slow" in cost.problem and "one nested pass" in cost.problem


def test_answers_that_are_not_one_number_per_input_say_what_to_return():
    def returns_vars(f, x, v):
        inputs = [Var(xi) for xi in x]
        out = Dual.lift(f(*[Dual(xi, vi) for xi, vi in zip(inputs, v)]))
        Var.lift(out.tangent).backward(mark_when_expanded)
        return inputs

    def returns_the_tangent(f, x, v):
        return Dual.lift(f(*[Dual(xi, vi) for xi, vi in zip(x, v)])).tangent

    for function, words in [(returns_vars, "one number per input"), (returns_the_tangent, "vᵀ∇f")]:
        cases = [c for c in visible_cases(HVP)[:-1] if np.size(c.args[1]) > 1]
        verdict = judge(HVP, cases, answers(HVP, function, cases))
        assert verdict.points == 0
        assert all(words in r.problem for r in verdict.results), [
            r.problem for r in verdict.results
        ]
