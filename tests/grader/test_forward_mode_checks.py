"""The checks of the symbolic and forward-mode assignment beyond the generic tests: their
references against independent routes, their tables, and real dual-number classes (the
master notebook's solution, and that solution with one typical slip) graded through
``call``, as a student's class is."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import sympy as sp

import autodiff
from autodiff.algorithms import swell
from grader.checks import forward_mode, get_check
from grader.checks.forward_mode import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS
from grader.framework import Case
from grader.judge import answers, judge
from grader.seeds import seed

MASTER = (
    Path(__file__).resolve().parents[2]
    / "course/source/06_symbolic_and_forward_mode/06_symbolic_and_forward_mode.ipynb"
)
DUAL_CELLS = (
    "dual_class_solution",
    "jvp_dual_solution",
    "jacobian_vector_product_solution",
    "jacobian_by_columns_solution",
)


def master_solutions() -> dict:
    """The master's Dual class and the functions built on it, executed."""
    cells = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source
        for cell in nbformat.read(str(MASTER), as_version=4).cells
    }
    namespace = {"math": math, "np": np}
    for grade_id in DUAL_CELLS:
        exec(cells[grade_id], namespace)  # the course's own solution code
    return namespace


def run(check, function):
    cases = check.cases(np.random.default_rng(seed("hidden", check.name)))
    return judge(check, cases, answers(check, function, cases))


def test_soft_relu_reference_is_the_printed_derivative():
    check = forward_mode.SoftReluDyDw1()
    printed = sp.lambdify(swell.NETWORK_SYMBOLS, swell.book_dy_dw1(*swell.NETWORK_SYMBOLS))
    for case in check.cases(np.random.default_rng(0)):
        x, w1, b1, w2, b2 = case.args
        want = printed(x, w1, b1, w2, b2)
        np.testing.assert_allclose(check.reference(case), want, rtol=1e-10, atol=1e-14)


def test_logistic_reference_matches_central_differences():
    check = forward_mode.LogisticMapDerivative()
    for case in check.cases(np.random.default_rng(1)):
        x, n = case.args
        value, slope = check.reference(case)
        eps = 1e-6
        numerical = (
            forward_mode._logistic_map(x + eps, n) - forward_mode._logistic_map(x - eps, n)
        ) / (2 * eps)
        np.testing.assert_allclose(slope, numerical, rtol=1e-6, atol=1e-6)
        assert value.shape == x.shape


def test_tangent_trace_reference_at_the_books_point():
    """Hand-derived facts of Exercise 8.17: v5_dot = 2 e^2, df/dx1 = v7_dot = 2 + 2 e^2."""
    v, v_dot = forward_mode.TangentTrace849().reference(Case("", (1.0, 2.0, 1.0, 0.0)))
    assert v[4] == pytest.approx(math.e**2, rel=1e-14)
    assert v_dot[4] == pytest.approx(2 * math.e**2, rel=1e-14)
    assert v_dot[6] == pytest.approx(2 + 2 * math.e**2, rel=1e-14)


@pytest.mark.parametrize("name", sorted(VECTOR_FUNCTIONS))
def test_vector_function_table_gives_the_true_sizes(name):
    _, _, inputs, outputs = VECTOR_FUNCTIONS[name]
    jacobian = forward_mode._vector_jacobian(Case("", (name, np.linspace(0.4, 0.9, inputs))))
    assert jacobian.shape == (outputs, inputs)


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
def test_scalar_references_match_central_differences(name):
    f, _, inputs, _ = SCALAR_FUNCTIONS[name]
    x = np.linspace(0.5, 1.5, inputs)
    v = np.linspace(-1.0, 1.0, inputs) + 0.3
    eps = 1e-6
    along = (
        f(*(autodiff.Scalar(a) for a in x + eps * v)).data,
        f(*(autodiff.Scalar(a) for a in x - eps * v)).data,
    )
    check = forward_mode.DualNumberJvp()
    _, tangent = check.reference(Case("", (name, x, v)))
    assert float(tangent) == pytest.approx((along[0] - along[1]) / (2 * eps), rel=1e-6)


@pytest.mark.parametrize(
    ("check_name", "function_name"),
    [
        ("dual_number_jvp", "jvp_dual"),
        ("forward_jacobian_vector_product", "jacobian_vector_product"),
        ("forward_jacobian_columns", "jacobian_by_columns"),
    ],
)
def test_master_solution_scores_full_marks(check_name, function_name):
    check = get_check(check_name)
    verdict = run(check, master_solutions()[function_name])
    assert verdict.points == check.points, [r.problem for r in verdict.results]


def slip_product(dual):
    def mul(self, other):
        other = dual.lift(other)
        return dual(self.value * other.value, self.tangent * other.value)

    return {"__mul__": mul, "__rmul__": mul}


def slip_exp(dual):
    def exp(self):
        return dual(math.exp(self.value), math.exp(self.value))

    return {"exp": exp}


def slip_constant(dual):
    def lift(other):
        return other if isinstance(other, dual) else dual(other, 1.0)

    return {"lift": staticmethod(lift)}


def slip_quotient(dual):
    def truediv(self, other):
        other = dual.lift(other)
        tangent = (self.tangent * other.value + self.value * other.tangent) / other.value**2
        return dual(self.value / other.value, tangent)

    return {"__truediv__": truediv}


def slip_everywhere(dual):
    """The inner tangent dropped in every elementary function and in powers."""

    def chain(function, derivative):
        return lambda self, *p: dual(function(self.value, *p), derivative(self.value, *p))

    return {
        "exp": chain(math.exp, math.exp),
        "sin": chain(math.sin, math.cos),
        "cos": chain(math.cos, lambda v: -math.sin(v)),
        "log": chain(math.log, lambda v: 1.0 / v),
        "tanh": chain(math.tanh, lambda v: 1.0 - math.tanh(v) ** 2),
        "__pow__": chain(lambda v, p: v**p, lambda v, p: p * v ** (p - 1)),
    }


SLIPS = {
    "product rule missing a term": slip_product,
    "chain rule without the inner derivative": slip_everywhere,
    "chain rule without the inner derivative in exp(u)": slip_exp,
    "constant with a nonzero tangent": slip_constant,
    "sign in the quotient rule": slip_quotient,
}


@pytest.mark.parametrize("mistake", sorted(SLIPS))
def test_a_real_class_with_a_slip_is_diagnosed(mistake):
    """Methods of the master's Dual replaced by a typical wrong version: fewer points, and
    the mistake named in the feedback, the slip in exp alone as such (and not as a slip in
    every elementary function, which the passing cases of sin, cos ... rule out)."""
    solutions = master_solutions()
    dual = solutions["Dual"]
    for method, replacement in SLIPS[mistake](dual).items():
        setattr(dual, method, replacement)
    check = get_check("dual_number_jvp")
    verdict = run(check, solutions["jvp_dual"])
    assert verdict.points < check.points
    explanation = next(m.explanation for m in check.mistakes() if m.name == mistake)
    failed = [r for r in verdict.results if not r.passed]
    assert failed and all(r.diagnosis.startswith(explanation) for r in failed)


def test_an_answer_that_is_not_numbers_gets_a_clear_error():
    check = get_check("dual_number_jvp")
    dual = master_solutions()["Dual"]
    verdict = run(check, lambda f, x, v: (dual(1.0, 2.0), dual(3.0, 4.0)))
    assert verdict.points == 0
    assert "not numbers" in verdict.results[0].problem
    assert "got Dual" in verdict.results[0].problem


def tangent_trace_with(v4_dot_of):
    """The master's tangent trace with v4_dot = v4_dot_of(v2, v2_dot), written as a student
    does (one line per equation)."""

    def tangent_trace(x1, x2, x1_dot, x2_dot):
        v1, v2 = x1, x2
        v3 = v1 * v2
        v4 = np.sin(v2)
        v5 = np.exp(v3)
        v6 = v3 - v4
        v7 = v5 + v6
        v1_dot, v2_dot = x1_dot, x2_dot
        v3_dot = v1 * v2_dot + v1_dot * v2
        v4_dot = v4_dot_of(v2, v2_dot)
        v5_dot = v3_dot * v5
        v6_dot = v3_dot - v4_dot
        v7_dot = v5_dot + v6_dot
        v = np.array([v1, v2, v3, v4, v5, v6, v7])
        return v, np.array([v1_dot, v2_dot, v3_dot, v4_dot, v5_dot, v6_dot, v7_dot])

    return tangent_trace


@pytest.mark.parametrize(
    ("v4_dot_of", "cause"),
    [
        (lambda v2, d2: -d2 * np.cos(v2), "sign of the cos term"),
        (lambda v2, d2: -d2 * np.sin(v2), "sin differentiated as cos"),
    ],
    ids=["minus cos", "minus sin"],
)
@pytest.mark.parametrize("purpose", ["hidden", "visible"])
def test_the_cos_term_of_the_tangent_trace_is_named(v4_dot_of, cause, purpose):
    check = get_check("tangent_trace_8_49")
    rng = np.random.default_rng(seed(purpose, check.name))
    cases = check.cases(rng) if purpose == "hidden" else check.visible_cases(rng)
    verdict = judge(check, cases, answers(check, tangent_trace_with(v4_dot_of), cases))
    failed = [r for r in verdict.results if not r.passed]
    assert failed and verdict.points < check.points
    assert all(r.cause == cause and "(8.61)" in r.diagnosis for r in failed)
