"""The checks of the numerical-differentiation assignment (Section 8.1.4): their references
agree with reverse and forward mode to the order Exercise 8.3 predicts, correct solutions
written in other ways score full marks, and the Figure 8.2 cases hold the regimes they
name."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import autodiff.numpy as anp
from grader.checks import get_check
from grader.checks.numerical import SmoothFunction, _longest_run
from grader.framework import Case
from grader.judge import answers, judge
from grader.seeds import seed

GRADIENT_CHECKS = ["forward_difference_gradient", "central_difference_gradient"]


def hidden(name):
    check = get_check(name)
    return check, check.cases(np.random.default_rng(seed("hidden", name)))


def score(name, function):
    check, cases = hidden(name)
    return judge(check, cases, answers(check, function, cases)).points


def along_axis_derivatives(f, x, i):
    """The second and third derivatives of t -> f(x + t e_i) at t = 0, by nested reverse mode."""
    e = np.zeros(x.size)
    e[i] = 1.0

    def line(t):
        return f(x + t * e)

    d1 = autodiff.grad(line)
    d2 = autodiff.grad(d1)
    return d2(0.0), autodiff.grad(d2)(0.0)


@pytest.mark.parametrize("name", GRADIENT_CHECKS)
def test_gradient_references_err_as_the_taylor_expansion_predicts(name):
    """reference - exact = eps/2 f'' + O(eps^2) for (8.24), eps^2/6 f''' + O(eps^4) for (8.25)."""
    check, cases = hidden(name)
    predict = get_check("finite_difference_truncation_errors").reference
    for case in cases:
        f, x, eps = check.function(case), case.args[3], case.args[4]
        error = check.reference(case)[0] - autodiff.grad(f)(x)
        second, third = np.array([along_axis_derivatives(f, x, i) for i in range(x.size)]).T
        forward, central = predict(Case("", (second, third, eps)))
        if name == "forward_difference_gradient":
            assert np.allclose(error, forward, rtol=0, atol=eps**2 * 10)
        else:
            assert np.allclose(error, central, rtol=0, atol=eps**4 * 10 + 1e-10)


def test_jacobian_reference_matches_forward_mode_to_second_order():
    check, cases = hidden("central_difference_jacobian")
    for case in cases:
        f, x, eps = check.function(case), case.args[3], case.args[4]
        J, x_after = check.reference(case)
        exact = autodiff.jacfwd(f)(x)
        assert J.shape == exact.shape == (case.args[0].shape[0], x.size)
        assert np.max(np.abs(J - exact)) < 10 * eps**2
        assert np.array_equal(x_after, x)


def restoring_in_place(f, x, eps):
    """Correct central differences that perturb x itself and put every entry back."""
    gradient = np.zeros(x.size)
    for i in range(x.size):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        gradient[i] = (f_plus - f_minus) / (2 * eps)
    return gradient


def average_of_one_sided(f, x, eps):
    """Correct central differences written as the mean of a forward and a backward one."""
    f_x, rows = f(x), []
    for e in np.eye(x.size):
        rows.append(((f(x + eps * e) - f_x) / eps + (f_x - f(x - eps * e)) / eps) / 2)
    return rows


def jacobian_by_rows(f, x, eps):
    """A correct Jacobian built from the transposed stack of columns."""
    columns = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(x.size)]
    return np.array(columns).T


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("central_difference_gradient", restoring_in_place),
        ("central_difference_gradient", average_of_one_sided),
        ("central_difference_jacobian", jacobian_by_rows),
    ],
)
def test_correct_solutions_written_differently_score_full_marks(name, function):
    assert score(name, function) == get_check(name).points


def test_forward_difference_with_a_central_step_loses_the_point():
    def central_as_forward(f, x, eps):
        return restoring_in_place(f, x, eps)

    assert score("forward_difference_gradient", central_as_forward) == 0


def test_the_test_function_names_the_shape_it_needs():
    f = SmoothFunction("scalar", np.ones(2), np.ones((2, 3)), np.zeros(2))
    assert f(np.zeros(3)) == pytest.approx(2 * np.tanh(0.0))
    with pytest.raises(ValueError, match=r"shape \(3,\), got shape \(4,\)"):
        f(np.zeros(4))
    with pytest.raises(ValueError, match="got list"):
        f([0.0, 0.0, 0.0])


@pytest.mark.parametrize("salt", ["", "another class", "a third class"])
def test_loglog_cases_hold_the_regimes_they_name(monkeypatch, salt):
    monkeypatch.setenv("GRADER_SALT", salt)
    check, cases = hidden("loglog_slope")
    expected = {"forward differences, truncation": 1.0, "central differences, truncation": 2.0}
    for case in cases[:4]:
        eps, error, low, high = case.args
        inside = (eps >= low) & (eps <= high)
        assert np.count_nonzero(inside) >= 3 and np.all(error[inside] > 0), case.name
        assert not np.any(np.isin([low, high], eps)), "bounds lie between grid points"
        slope = check.reference(case)
        regime = case.name.split(" range")[0]
        assert slope == pytest.approx(expected.get(regime, -1.0), abs=0.15), case.name
    power_law = check.reference(cases[4])  # 3 eps^p with p = 1 or 2
    assert power_law == pytest.approx(round(power_law)) and round(power_law) in (1, 2)


def test_truncation_error_reference_by_hand():
    check = get_check("finite_difference_truncation_errors")
    forward, central = check.reference(Case("", (np.array([2.0]), np.array([6.0]), 0.1)))
    assert forward == pytest.approx([0.1]) and central == pytest.approx([0.01])


def test_truncation_error_diagnoses_leave_exercise_8_3_to_the_student():
    """Exercise 8.3 is graded by hand: a diagnosis names the step that went wrong (the
    factorial, the denominator, the cubic terms) and states neither leading error term nor
    what the cubic terms add up to."""
    check = get_check("finite_difference_truncation_errors")
    for mistake in check.mistakes():
        text = mistake.explanation
        assert "right power of eps" in text, mistake.name
        for result in ("f''/2", "f'''/6", "f'''/3", "/2!", "add up to", "opposite signs"):
            assert result not in text, (mistake.name, result)


def test_longest_run():
    assert _longest_run(np.array([False, True, True, False, True])) == (1, 2)
    assert _longest_run(np.array([True, False, True, True, True])) == (2, 4)


def test_test_functions_are_differentiable_by_the_transforms():
    f = SmoothFunction("vector", np.ones((2, 3)), np.eye(3), np.zeros(3))
    x = np.array([0.1, -0.2, 0.3])
    assert np.allclose(autodiff.jacrev(f)(x), np.ones((2, 3)) * (1 - np.tanh(x) ** 2))
    assert np.allclose(f(x), anp.matmul(np.ones((2, 3)), np.tanh(x)))
