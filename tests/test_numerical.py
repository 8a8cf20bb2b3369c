"""Finite-difference derivatives (8.24), (8.25), (8.35) against hand-derived derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff.numerical import (
    central_difference,
    directional_derivative,
    forward_difference,
    numerical_jacobian,
)

# Scalar functions of an array with their gradients worked out by hand.
CASES = {
    "cubic polynomial": (
        lambda x: np.sum(x**3 - 2.0 * x**2 + 0.5 * x),
        lambda x: 3.0 * x**2 - 4.0 * x + 0.5,
    ),
    "exp of a sum": (
        lambda x: np.exp(np.sum(x) / 4.0),
        lambda x: np.exp(np.sum(x) / 4.0) / 4.0 * np.ones_like(x),
    ),
    "x^2 sin x": (
        lambda x: np.sum(x**2 * np.sin(x)),
        lambda x: 2.0 * x * np.sin(x) + x**2 * np.cos(x),
    ),
    "product of coordinates": (
        lambda x: np.prod(x),
        lambda x: np.array([np.prod(np.delete(x.ravel(), i)) for i in range(x.size)]).reshape(
            x.shape
        ),
    ),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_gradients_match_analytic_derivatives(name, shape):
    rng = np.random.default_rng(1)
    f, grad_f = CASES[name]
    x = rng.uniform(-1.5, 1.5, shape)
    exact = grad_f(x)
    central = central_difference(f, x)
    forward = forward_difference(f, x)
    assert central.shape == forward.shape == x.shape
    assert central.dtype == forward.dtype == np.float64
    scale = max(1.0, float(np.max(np.abs(exact))))
    np.testing.assert_allclose(central, exact, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(forward, exact, rtol=0, atol=1e-6 * scale)


def _fitted_order(method, eps_grid):
    """Log-log slope of the gradient error of exp(x) sin(x) against eps."""
    x = np.array([0.7, -0.4])

    def f(x):
        return np.sum(np.exp(x) * np.sin(x))

    exact = np.exp(x) * (np.sin(x) + np.cos(x))
    errors = [np.max(np.abs(method(f, x, eps) - exact)) for eps in eps_grid]
    return np.polyfit(np.log(eps_grid), np.log(errors), 1)[0]


def test_central_error_falls_like_eps_squared():
    slope = _fitted_order(central_difference, np.logspace(-3.5, -1.5, 9))
    assert abs(slope - 2.0) < 0.1


def test_forward_error_falls_like_eps():
    slope = _fitted_order(forward_difference, np.logspace(-5, -2, 9))
    assert abs(slope - 1.0) < 0.1


def test_directional_derivative_orders_and_values():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 3))
    x, v = rng.normal(size=3), rng.normal(size=3)

    def f(x):
        return np.tanh(A @ x)

    exact = (1.0 - np.tanh(A @ x) ** 2) * (A @ v)  # J v with J = diag(1 - tanh^2) A
    central = directional_derivative(f, x, v)
    forward = directional_derivative(f, x, v, method="forward")
    assert central.shape == (4,)
    np.testing.assert_allclose(central, exact, rtol=0, atol=1e-9)
    np.testing.assert_allclose(forward, exact, rtol=0, atol=1e-6)
    errors = {
        method: [
            np.max(np.abs(directional_derivative(f, x, v, eps, method) - exact))
            for eps in (1e-2, 1e-3)
        ]
        for method in ("central", "forward")
    }
    # a tenfold smaller step divides the error by about 100 (central) and 10 (forward)
    assert 60 < errors["central"][0] / errors["central"][1] < 160
    assert 6 < errors["forward"][0] / errors["forward"][1] < 16


def test_directional_derivative_of_scalar_function_is_gradient_dot_v():
    rng = np.random.default_rng(3)
    f, grad_f = CASES["x^2 sin x"]
    x, v = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    value = directional_derivative(f, x, v)
    assert value.shape == ()
    assert value == pytest.approx(np.sum(grad_f(x) * v), abs=1e-9)
    assert directional_derivative(f, x, np.zeros_like(x)) == 0.0


def test_numerical_jacobian_shape_and_values():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(4, 6))
    x = rng.normal(size=(2, 3))

    def f(x):
        return np.sin(A @ x.ravel()).reshape(2, 2)

    jacobian = numerical_jacobian(f, x)
    assert jacobian.shape == (2, 2, 2, 3)
    exact = (np.cos(A @ x.ravel())[:, None] * A).reshape(2, 2, 2, 3)
    np.testing.assert_allclose(jacobian, exact, rtol=0, atol=1e-9)
    # a scalar output gives the gradient; a scalar input a derivative of each output
    f_scalar, grad_f = CASES["cubic polynomial"]
    np.testing.assert_allclose(numerical_jacobian(f_scalar, x), grad_f(x), atol=1e-8)
    column = numerical_jacobian(lambda t: np.array([t, t**2, np.exp(t)]), 0.5)
    np.testing.assert_allclose(column, [1.0, 1.0, np.exp(0.5)], atol=1e-9)


def test_default_step_scales_with_large_inputs():
    x = np.array([1.0e6, -3.0e5])
    exact = 3.0 * x**2
    central = central_difference(lambda x: np.sum(x**3), x)
    np.testing.assert_allclose(central, exact, rtol=1e-9)


def test_inputs_are_not_modified_and_integers_become_float64():
    def mutating(x):
        value = np.sum(x**2)
        x += 100.0  # an ill-behaved f must not affect later evaluations or the caller
        return value

    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    np.testing.assert_allclose(central_difference(mutating, x), 2.0 * before, atol=1e-8)
    np.testing.assert_allclose(forward_difference(mutating, x), 2.0 * before, atol=1e-6)
    np.testing.assert_allclose(numerical_jacobian(mutating, x), 2.0 * before, atol=1e-8)
    v = np.array([1.0, -1.0, 0.5])
    value = directional_derivative(mutating, x, v)
    assert value == pytest.approx(np.sum(2.0 * before * v), abs=1e-8)
    np.testing.assert_array_equal(x, before)
    integer_x = np.array([1, 2, 3])
    grad = central_difference(lambda x: np.sum(x**2), integer_x)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0], atol=1e-8)


def test_non_scalar_output_is_rejected_naming_the_shape():
    with pytest.raises(ValueError, match=r"scalar.*\(3,\).*numerical_jacobian"):
        central_difference(lambda x: x**2, np.ones(3))
    with pytest.raises(ValueError, match=r"\(2, 1\)"):
        forward_difference(lambda x: np.ones((2, 1)) * np.sum(x), np.ones(3))


@pytest.mark.parametrize("eps", [0.0, -1e-3, np.inf, np.nan])
def test_bad_eps_is_rejected(eps):
    for method in (central_difference, forward_difference, numerical_jacobian):
        with pytest.raises(ValueError, match="eps"):
            method(np.sum, np.ones(2), eps)
    with pytest.raises(ValueError, match="eps"):
        directional_derivative(np.sin, np.ones(2), np.ones(2), eps)


def test_other_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match=r"spacing at x\[1\]"):
        central_difference(np.sum, np.array([1.0, 1.0e3]), eps=1e-14)
    with pytest.raises(TypeError, match="eps"):
        central_difference(np.sum, np.ones(2), eps=[1e-3])
    with pytest.raises(ValueError, match=r"shape of x, \(2,\), got \(3,\)"):
        directional_derivative(np.sin, np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="method"):
        directional_derivative(np.sin, np.ones(2), np.ones(2), method="backward")
    with pytest.raises(ValueError, match="same shape"):
        numerical_jacobian(lambda x: np.ones(2) if x[0] > 0 else np.ones(3), np.zeros(1))
    with pytest.raises(TypeError, match="x must be a real number"):
        central_difference(np.sum, "abc")
    with pytest.raises(ValueError, match="finite"):
        central_difference(np.sum, np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="real number or array"):
        central_difference(lambda x: "not a number", np.ones(2))


# -- tuples, lists and dicts of arrays, as grad takes them -----------------------------------------
def tree_loss(p):
    return np.sum(np.tanh(p["W"] @ p["b"][0]) ** 2) + np.sum(p["b"][1] ** 3)


def tree_gradient(p):
    t = np.tanh(p["W"] @ p["b"][0])
    d = 2.0 * t * (1.0 - t * t)
    return {"W": np.outer(d, p["b"][0]), "b": [p["W"].T @ d, 3.0 * p["b"][1] ** 2]}


def tree_point():
    rng = np.random.default_rng(6)
    return {"W": rng.normal(size=(2, 3)), "b": [rng.normal(size=3), rng.normal(size=2)]}


def assert_tree_close(actual, expected, atol):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected)
        for key in expected:
            assert_tree_close(actual[key], expected[key], atol)
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_tree_close(a, e, atol)
    else:
        assert np.shape(actual) == np.shape(expected)
        np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


def test_gradients_of_a_dict_of_arrays():
    p = tree_point()
    before = {"W": p["W"].copy(), "b": [b.copy() for b in p["b"]]}
    assert_tree_close(central_difference(tree_loss, p), tree_gradient(p), 1e-9)
    assert_tree_close(forward_difference(tree_loss, p), tree_gradient(p), 1e-6)
    assert_tree_close(p, before, 0.0)  # the inputs are not modified


def test_jacobian_and_directional_derivative_of_structures_are_laid_out_as_jacrev():
    import autodiff
    import autodiff.numpy as anp

    def f(m, p):
        return {"y": m.tanh(p["W"] @ p["b"][0]), "z": (m.sum(p["b"][1] ** 2),)}

    p = tree_point()
    numeric = numerical_jacobian(lambda p: f(np, p), p)
    assert_tree_close(numeric, autodiff.jacrev(lambda p: f(anp, p))(p), 1e-8)
    v = {"W": np.ones((2, 3)), "b": [np.zeros(3), np.arange(2.0)]}
    along = directional_derivative(lambda p: f(np, p), p, v)
    assert_tree_close(along, autodiff.jvp(lambda p: f(anp, p), (p,), (v,))[1], 1e-8)
    with pytest.raises(ValueError, match="structure"):
        directional_derivative(lambda p: f(np, p), p, {"W": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"v\['b'\]\[1\].*shape of x\['b'\]\[1\], \(2,\)"):
        directional_derivative(lambda p: f(np, p), p, {"W": v["W"], "b": [v["b"][0], np.ones(3)]})


def test_errors_name_the_array_of_a_structure():
    p = tree_point()
    p["b"][1] = np.array([1.0, 1.0e3])
    with pytest.raises(ValueError, match=r"spacing at x\['b'\]\[1\]\[1\]"):
        central_difference(tree_loss, p, eps=1e-14)
    p["b"][1] = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match=r"x\['b'\]\[1\] must be finite"):
        central_difference(tree_loss, p)
