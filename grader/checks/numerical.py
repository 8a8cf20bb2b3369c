"""Checks for the assignment on numerical differentiation (Section 8.1.4, Exercise 8.3).

The students' finite-difference functions take a function ``f`` as their first argument.
Cases stay plain numbers: they hold the parameters of a smooth test function, the point
``x`` and the step ``eps``, and the sandboxed side's caller builds the callable ``f`` from them
(``grader.sandboxed.inputs.SmoothFunction``).  Every
finite-difference check also returns ``x`` as it stands after the call, so that a function
that perturbs its input in place and does not restore it is caught and named.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff
from autodiff.algorithms.finite_differences import growth_exponent, step_size_study
from autodiff.numerical import central_difference, forward_difference, numerical_jacobian
from grader.checks import register
from grader.checks.cases import normal, sizes
from grader.checks.forbidden import BY_HAND
from grader.framework import Case, Check, Mistake
from grader.sandboxed.inputs import SmoothFunction

STEPS = (1e-2, 1e-3, 1e-4)
"""The steps eps of the cases: large enough for truncation, not round-off, to separate
(8.24) from (8.25) at the checks' tolerances."""


class FiniteDifferenceCheck(Check):
    """Shared by the checks of ``difference(f, x, eps)`` functions: cases, calling, and the
    mistakes every finite-difference function can make."""

    kind = "scalar"
    outputs = ("gradient", "x after the call")
    inputs = (None, None, None, "x")
    rtol = 1e-7
    atol = 1e-9

    def cases(self, rng):
        cases = []
        for i in range(6):
            n, m = sizes(rng, 1, 6, 2)
            if i == 0:
                n = 1  # a function of one variable
            K = 1 if self.kind == "scalar" else sizes(rng, 1, 4)[0]
            outer = normal(rng, m) if self.kind == "scalar" else normal(rng, K, m)
            B, c, x = normal(rng, m, n), normal(rng, m, scale=0.5), normal(rng, n)
            eps = STEPS[i % len(STEPS)]
            shape = _count(n, "input")
            if self.kind == "vector":
                shape = f"{_count(K, 'output')}, {shape}"
            cases.append(Case(f"{shape}, eps={eps:g}", (outer, B, c, x, eps)))
        return cases

    def function(self, case: Case) -> SmoothFunction:
        """The test function ``f`` of ``case``."""
        return SmoothFunction(self.kind, *case.args[:3])

    @property
    def caller(self) -> str:
        return f"difference_{self.kind}"

    def student_function(self, answer):
        def student(f, x, eps):
            derivative, x_after = answer(Case("", (*f.params, np.array(x, copy=True), eps)))
            x[...] = x_after
            return derivative

        return student

    def all_at_once(self, case: Case, quotient: Callable) -> tuple[np.ndarray, np.ndarray]:
        """Every component from one step along the all-ones direction."""
        f, x, eps = self.function(case), case.args[3], case.args[4]
        column = quotient(f, x, x + eps, x - eps, eps)
        return _stack([column] * x.size), x

    def componentwise(self, case: Case, quotient: Callable) -> tuple[np.ndarray, np.ndarray]:
        """Each component from its own step (on a copy of x), with ``quotient`` for the
        difference formula."""
        f, x, eps = self.function(case), case.args[3], case.args[4]
        columns = []
        for i in range(x.size):
            plus, minus = x.copy(), x.copy()
            plus[i] += eps
            minus[i] -= eps
            columns.append(quotient(f, x, plus, minus, eps))
        return _stack(columns), x


def _stack(columns: list) -> np.ndarray:
    """Partial derivatives along the inputs, stacked as the last axis."""
    return np.stack([np.asarray(col, dtype=np.float64) for col in columns], axis=-1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _forward(f, x, plus, minus, eps):
    return (f(plus) - f(x)) / eps


def _backward(f, x, plus, minus, eps):
    return (f(x) - f(minus)) / eps


def _central(f, x, plus, minus, eps):
    return (f(plus) - f(minus)) / (2 * eps)


def _central_without_half(f, x, plus, minus, eps):
    return (f(plus) - f(minus)) / eps


ALL_AT_ONCE = (
    "Every component came from one step that moved all inputs together, x + eps "
    "(1, ..., 1): that is a derivative along a diagonal direction, not a partial "
    "derivative. Perturb one input at a time, keeping the others fixed."
)


@register
class ForwardDifferenceGradient(FiniteDifferenceCheck):
    """The gradient of a scalar function of a vector by forward differences (8.24)."""

    name = "forward_difference_gradient"
    forbids = BY_HAND
    references = ("autodiff.numerical.forward_difference",)
    title = "Gradient by forward differences"
    equation = "(8.24)"
    points = 1.0

    def reference(self, case):
        *_, x, eps = case.args
        return forward_difference(self.function(case), x, eps), x

    def mistakes(self):
        return [
            Mistake(
                "central instead of forward",
                "This is the central difference (8.25), which is more accurate; this task "
                "asks for the one-sided forward difference, (f(x + eps e_i) - f(x)) / eps.",
                "(8.24)",
                lambda case: self.componentwise(case, _central),
            ),
            Mistake(
                "backward difference",
                "This steps backwards, (f(x) - f(x - eps e_i)) / eps: the forward difference "
                "adds eps to the input.",
                "(8.24)",
                lambda case: self.componentwise(case, _backward),
            ),
            Mistake(
                "all components at once",
                ALL_AT_ONCE,
                "(8.24)",
                lambda case: self.all_at_once(case, _forward),
            ),
            Mistake(
                "input not restored",
                "Your function added eps to x[i] in place and never took it off again: later "
                "components were evaluated at a shifted point, and the caller's x changed. "
                "Perturb a copy of x.",
                "(8.24)",
                self._not_restored,
            ),
        ]

    def _not_restored(self, case):
        f, x, eps = self.function(case), case.args[3].copy(), case.args[4]
        f_x = f(x)
        gradient = np.empty(x.size)
        for i in range(x.size):
            x[i] += eps
            gradient[i] = (f(x) - f_x) / eps
        return gradient, x


@register
class CentralDifferenceGradient(FiniteDifferenceCheck):
    """The gradient of a scalar function of a vector by central differences (8.25)."""

    name = "central_difference_gradient"
    forbids = BY_HAND
    references = ("autodiff.numerical.central_difference",)
    title = "Gradient by central differences"
    equation = "(8.25)"
    points = 2.0

    def reference(self, case):
        *_, x, eps = case.args
        return central_difference(self.function(case), x, eps), x

    def mistakes(self):
        return [
            Mistake(
                "forward instead of central",
                "This is the forward difference (8.24), whose error is O(eps): the central "
                "difference steps both ways, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).",
                "(8.25)",
                lambda case: self.componentwise(case, _forward),
            ),
            Mistake(
                "eps not doubled",
                "This is twice the derivative: the two evaluations are 2 eps apart, so the "
                "difference must be divided by 2 eps, not eps.",
                "(8.25)",
                lambda case: self.componentwise(case, _central_without_half),
            ),
            Mistake(
                "all components at once",
                ALL_AT_ONCE,
                "(8.25)",
                lambda case: self.all_at_once(case, _central),
            ),
            Mistake(
                "input not restored",
                "Your function moved x[i] to x[i] + eps and then to x[i] - eps in place and "
                "never put it back: later components were evaluated at a shifted point, and "
                "the caller's x changed. Perturb a copy of x (or restore x[i] after each step).",
                "(8.25)",
                self._not_restored,
            ),
        ]

    def _not_restored(self, case):
        f, x, eps = self.function(case), case.args[3].copy(), case.args[4]
        gradient = np.empty(x.size)
        for i in range(x.size):
            x[i] += eps
            f_plus = f(x)
            x[i] -= 2 * eps
            gradient[i] = (f_plus - f(x)) / (2 * eps)
        return gradient, x


@register
class CentralDifferenceJacobian(FiniteDifferenceCheck):
    """The Jacobian of a vector function by central differences (8.35): entry (k, i) is
    d y_k / d x_i, so rows are outputs and columns inputs, as in (8.26)."""

    name = "central_difference_jacobian"
    forbids = BY_HAND
    references = ("autodiff.numerical.numerical_jacobian",)
    title = "Jacobian by central differences"
    equation = "(8.35)"
    points = 2.0
    kind = "vector"
    outputs = ("Jacobian", "x after the call")

    def reference(self, case):
        *_, x, eps = case.args
        return numerical_jacobian(self.function(case), x, eps), x

    def mistakes(self):
        return [
            Mistake(
                "transposed",
                "This is the transpose of the Jacobian: row k holds the derivatives of output "
                "y_k, column i those with respect to input x_i, so J has shape (outputs, "
                "inputs).",
                "(8.26) and (8.35)",
                lambda case: (self.componentwise(case, _central)[0].T, case.args[3]),
            ),
            Mistake(
                "forward instead of central",
                "These columns come from forward differences (8.24), with error O(eps): "
                "(8.35) steps both ways and divides by 2 eps.",
                "(8.35)",
                lambda case: self.componentwise(case, _forward),
            ),
            Mistake(
                "eps not doubled",
                "This is twice the Jacobian: y(x + eps e_i) and y(x - eps e_i) are 2 eps "
                "apart, so divide their difference by 2 eps.",
                "(8.35)",
                lambda case: self.componentwise(case, _central_without_half),
            ),
            Mistake(
                "all components at once",
                "Every column is the same: each came from one step that moved all inputs "
                "together. Column i needs a step along input x_i alone.",
                "(8.35)",
                lambda case: self.all_at_once(case, _central),
            ),
        ]


@register
class TruncationErrors(Check):
    """The leading truncation errors that the Taylor expansions of Exercise 8.3 predict,
    numerical minus exact derivative, component by component: ``eps/2 * f''`` for (8.24)
    and ``eps**2/6 * f'''`` for (8.25), from the second and third derivatives of ``f``
    along each input."""

    name = "finite_difference_truncation_errors"
    forbids = BY_HAND
    references = ()
    title = "Leading truncation errors of (8.24) and (8.25)"
    equation = "(Exercise 8.3)"
    points = 1.0
    outputs = ("forward-difference error", "central-difference error")
    inputs = ("second", "third")
    rtol = 1e-10
    atol = 1e-14

    def cases(self, rng):
        cases = []
        for i in range(5):
            n = 1 if i == 0 else sizes(rng, 2, 6)[0]
            eps = STEPS[i % len(STEPS)] * float(rng.uniform(0.5, 2.0))
            second, third = normal(rng, n, scale=2.0), normal(rng, n, scale=2.0)
            cases.append(Case(f"{_count(n, 'input')}, eps={eps:.3g}", (second, third, eps)))
        return cases

    def reference(self, case):
        second, third, eps = case.args
        return _leading_errors(second, third, eps, 1 / 2, 1 / 6)

    def mistakes(self):
        return [
            Mistake(
                "missing 1/2! in the forward error",
                "The forward-difference error has the right power of eps but not the right "
                "constant: check the factorial of the Taylor term you kept, and what dividing "
                "by eps leaves of it.",
                "Exercise 8.3 and (8.24)",
                lambda case: _leading_errors(*case.args, 1, 1 / 6),
            ),
            Mistake(
                "2 eps not divided",
                "The central-difference error has the right power of eps but not the right "
                "constant: (8.25) divides the difference of the two values of f by 2 eps, so "
                "the Taylor terms that survive in that difference are divided by 2 eps too.",
                "Exercise 8.3 and (8.25)",
                lambda case: _leading_errors(*case.args, 1 / 2, 1 / 3),
            ),
            Mistake(
                "one cubic term",
                "The central-difference error has the right power of eps but not the right "
                "constant: write both expansions, of f(x + eps) and of f(x - eps), up to their "
                "cubic terms, and check what those two terms do when one expansion is "
                "subtracted from the other.",
                "Exercise 8.3 and (8.25)",
                lambda case: _leading_errors(*case.args, 1 / 2, 1 / 12),
            ),
        ]


def _leading_errors(second, third, eps, forward_factor, central_factor):
    """``(forward_factor * eps * second, central_factor * eps**2 * third)``."""
    return forward_factor * eps * second, central_factor * eps**2 * third


def _log_ratio_slope(eps: np.ndarray, error: np.ndarray) -> float:
    """Slope of the straight line through the first and last point on log-log axes."""
    return float(np.log(error[-1] / error[0]) / np.log(eps[-1] / eps[0]))


@register
class LogLogSlope(Check):
    """The slope of ``log error`` against ``log eps`` over ``eps_min <= eps <= eps_max``, by
    least squares: the power ``p`` of ``error ~ eps^p`` read off Figure 8.2."""

    name = "loglog_slope"
    forbids = BY_HAND
    references = ("autodiff.algorithms.finite_differences.growth_exponent",)
    title = "Slope of a log-log plot"
    equation = "(Figure 8.2)"
    points = 1.0
    outputs = ("slope",)
    inputs = ("eps", "error")
    rtol = 1e-8
    atol = 1e-10

    def cases(self, rng):
        cases = []
        for method, regime in [
            ("forward", "truncation"),
            ("central", "truncation"),
            ("central", "round-off"),
            ("forward", "round-off"),
        ]:
            eps, error = _error_curve(rng, method)
            low, high = _regime_bounds(eps, error, regime)
            if rng.random() < 0.5:  # the grid in decreasing order, as in eps = 10**-k
                eps, error = eps[::-1].copy(), error[::-1].copy()
            name = f"{method} differences, {regime} range [{low:.3g}, {high:.3g}]"
            cases.append(Case(name, (eps, error, low, high)))
        power = float(rng.choice([1.0, 2.0]))
        eps = np.array([1e-3, 1e-2])
        cases.append(
            Case(
                "an exact power law, two points in range",
                (eps, 3.0 * eps**power, 5e-4, 2e-2),
            )
        )
        return cases

    def reference(self, case):
        eps, error, low, high = case.args
        keep = (eps >= low) & (eps <= high)
        return growth_exponent(eps[keep], error[keep])

    def mistakes(self):
        def in_range(case):
            eps, error, low, high = case.args
            keep = (eps >= low) & (eps <= high)
            order = np.argsort(eps[keep])
            return eps[keep][order], error[keep][order]

        return [
            Mistake(
                "whole curve",
                "This line was fitted to every point: only the points with eps_min <= eps <= "
                "eps_max belong to the fit, the others lie in another regime of the curve.",
                "Figure 8.2",
                lambda case: growth_exponent(case.args[0], case.args[1]),
            ),
            Mistake(
                "axes swapped",
                "This fits log eps against log error: the slope is the change of log error "
                "per unit of log eps (error on the vertical axis).",
                "Figure 8.2",
                lambda case: growth_exponent(*in_range(case)[::-1]),
            ),
            Mistake(
                "end points only",
                "This is the slope between the first and last point in the range: fit a "
                "least-squares line through all of them (np.polyfit of degree 1).",
                "Figure 8.2",
                lambda case: _log_ratio_slope(*in_range(case)),
            ),
            Mistake(
                "no logarithms",
                "This line was fitted to eps and the error themselves: take the logarithm "
                "of both, since error ~ C eps^p is the straight line log error = p log eps "
                "+ log C.",
                "Figure 8.2",
                lambda case: float(np.polyfit(*in_range(case), 1)[0]),
            ),
        ]


def _error_curve(rng: np.random.Generator, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Relative errors of a finite-difference gradient of a random test function on a
    random log grid of steps, against the exact gradient by reverse mode."""
    n, m = sizes(rng, 2, 4, 2)
    f = SmoothFunction("scalar", normal(rng, m), normal(rng, m, n), normal(rng, m, scale=0.5))
    x = normal(rng, n)
    eps = np.logspace(-12, -1, int(rng.integers(23, 34)))
    study = step_size_study(f, x, autodiff.grad(f)(x), eps)
    return eps, (study.forward_error if method == "forward" else study.central_error)


def _regime_bounds(eps: np.ndarray, error: np.ndarray, regime: str) -> tuple[float, float]:
    """A range of steps, bounded halfway (on log axes) between grid points, holding the
    truncation regime (steps at least 100 times the best one) or the round-off regime (at
    most a hundredth of it)."""
    best = eps[np.argmin(error)]
    inside = eps >= 100 * best if regime == "truncation" else eps <= best / 100
    first, last = _longest_run(inside & (error > 0))
    spacing = np.sqrt(eps[1] / eps[0])  # half a grid step on log axes
    return float(eps[first] / spacing), float(eps[last] * spacing)


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """First and last index of the longest run of consecutive True entries."""
    best, start = (0, -1), None
    for i, flag in enumerate([*mask, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - 1 - start > best[1] - best[0]:
                best = (start, i - 1)
            start = None
    return best
