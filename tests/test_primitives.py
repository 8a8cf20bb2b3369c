"""Every function of ``autodiff.numpy`` against NumPy (values) and central differences
(derivatives).

For each function ``f`` and random inputs, the reverse-mode product ``c^T J`` from
``autodiff.vjp`` with a random cotangent ``c`` is compared with the central-difference
gradient (8.25) of ``sum(c * f)``, and the forward-mode product ``J t`` from
``autodiff.jvp`` with a random tangent ``t`` with the central difference of ``f`` along
``t`` (compare (8.67)).  Hypothesis draws the shapes, the broadcasting pairs (dropped
leading dimensions, size-1 axes), the axes and ``keepdims``; input values come from a
seeded generator on a domain away from kinks and singularities, so the finite differences
are accurate.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    basic_indices,
    integer_array_indices,
    mutually_broadcastable_shapes,
    valid_tuple_axes,
)

import autodiff
import autodiff.numpy as anp
from autodiff.numerical import central_difference, directional_derivative

# Central differences are O(eps^2) accurate with eps ~ 6e-6, plus round-off of order
# 1e-16 / eps relative to the function value: 1e-6 leaves a wide margin over both.
RTOL = 1e-6

seeds = st.integers(0, 2**32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonempty_shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3).map(
    lambda b: b.input_shapes
)


# -- input domains ---------------------------------------------------------------------------
def real(rng, shape):
    return rng.uniform(-2.0, 2.0, size=shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng, shape):
    """Both signs, |x| >= 0.3: away from the kinks of abs and relu and the pole of 1/x."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape)


def above_minus_one(rng, shape):
    return rng.uniform(-0.5, 2.0, size=shape)


def inside_quarter_period(rng, shape):
    return rng.uniform(-1.2, 1.2, size=shape)


def even_grid(rng, shape):
    """Multiples of 0.3; with ``odd_grid`` no two values are closer than 0.15, so maximum
    and minimum never tie and never switch within a finite-difference step."""
    return 0.3 * rng.integers(-5, 6, size=shape).astype(float)


def odd_grid(rng, shape):
    return even_grid(rng, shape) + 0.15


def distinct(rng, shape):
    """Distinct values at least 0.3 apart (no ties for max and min)."""
    n = int(np.prod(shape, dtype=int))
    return (0.3 * rng.permutation(n) - 0.15 * n + rng.uniform(0, 0.05)).reshape(shape)


# -- checks ----------------------------------------------------------------------------------
def assert_close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = 1.0 + (float(np.max(np.abs(expected))) if expected.size else 0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def _pack(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)


def _unpack(z: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        out.append(z[start : start + size].reshape(shape))
        start += size
    return out


def check_vjp(f: Callable, args: tuple, rng, reference: Callable | None = None) -> None:
    """``autodiff.vjp`` of ``f`` at ``args`` with a random cotangent against central
    differences of ``sum(cotangent * f)``; the value against ``reference`` (NumPy)."""
    out, vjp_fn = autodiff.vjp(f, *args)
    expected_out = (reference or f)(*args)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    assert np.shape(out) == np.shape(expected_out)
    cotangent = rng.normal(size=np.shape(out))
    grads = vjp_fn(cotangent)
    assert isinstance(grads, tuple) and len(grads) == len(args)
    for i, (g, a) in enumerate(zip(grads, args)):

        def weighted(xi, i=i):
            full = list(args)
            full[i] = xi
            return np.sum(cotangent * f(*full))

        assert np.shape(g) == np.shape(a), f"gradient {i}: {np.shape(g)} != {np.shape(a)}"
        assert np.asarray(g).dtype == np.float64
        assert_close(g, central_difference(weighted, a))


def check_jvp(f: Callable, args: tuple, rng, reference: Callable | None = None) -> None:
    """``autodiff.jvp`` of ``f`` at ``args`` along random tangents against the central
    difference of ``f`` along them."""
    tangents = tuple(rng.normal(size=np.shape(a)) for a in args)
    out, tangent_out = autodiff.jvp(f, args, tangents)
    np.testing.assert_allclose(out, (reference or f)(*args), rtol=1e-12, atol=1e-12)
    arg_shapes = [np.shape(a) for a in args]
    expected = directional_derivative(
        lambda z: f(*_unpack(z, arg_shapes)), _pack(args), _pack(tangents)
    )
    assert_close(tangent_out, expected)


def check_both(f: Callable, args: tuple, rng, reference: Callable | None = None) -> None:
    check_vjp(f, args, rng, reference)
    check_jvp(f, args, rng, reference)


# -- elementwise functions of one argument ----------------------------------------------------
UNARY = {
    "negative": (anp.negative, np.negative, real),
    "neg operator": (operator.neg, np.negative, real),
    "exp": (anp.exp, np.exp, real),
    "log": (anp.log, np.log, positive),
    "log1p": (anp.log1p, np.log1p, above_minus_one),
    "expm1": (anp.expm1, np.expm1, real),
    "sqrt": (anp.sqrt, np.sqrt, positive),
    "square": (anp.square, np.square, real),
    "abs": (anp.abs, np.abs, away_from_zero),
    "absolute": (anp.absolute, np.abs, away_from_zero),
    "abs operator": (abs, np.abs, away_from_zero),
    "sin": (anp.sin, np.sin, real),
    "cos": (anp.cos, np.cos, real),
    "tan": (anp.tan, np.tan, inside_quarter_period),
    "tanh": (anp.tanh, np.tanh, real),
    "sigmoid": (anp.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), real),
    "softplus": (anp.softplus, lambda x: np.log1p(np.exp(x)), real),
    "relu": (anp.relu, lambda x: np.maximum(x, 0.0), away_from_zero),
    "x ** 3": (lambda x: x**3, lambda x: x**3, real),
    "x ** 2.5": (lambda x: x**2.5, lambda x: x**2.5, positive),
    "x ** -1": (lambda x: x**-1, lambda x: 1.0 / x, away_from_zero),
    "2 ** x": (lambda x: 2.0**x, lambda x: np.exp(x * np.log(2.0)), real),
    "power(x, 0)": (lambda x: anp.power(x, 0.0), np.ones_like, real),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, seed=seeds)
def test_unary_vjp_and_jvp(name, shape, seed):
    f, reference, domain = UNARY[name]
    rng = np.random.default_rng(seed)
    check_both(f, (domain(rng, shape),), rng, reference)


@pytest.mark.parametrize("name", UNARY)
def test_unary_second_derivative(name):
    """d/dx of the reverse-mode gradient by forward mode (rules are differentiable)
    against central differences of that gradient."""
    f, _, domain = UNARY[name]
    rng = np.random.default_rng(7)
    x, v = domain(rng, (2, 3)), rng.normal(size=(2, 3))
    gradient = autodiff.grad(lambda x: anp.sum(f(x)))
    _, second = autodiff.jvp(gradient, (x,), (v,))
    assert_close(second, directional_derivative(gradient, x, v))


# -- elementwise functions of two arguments, with broadcasting --------------------------------
BINARY = {
    "add": (anp.add, np.add, real, real),
    "subtract": (anp.subtract, np.subtract, real, real),
    "multiply": (anp.multiply, np.multiply, real, real),
    "divide": (anp.divide, np.divide, real, away_from_zero),
    "true_divide": (anp.true_divide, np.true_divide, real, away_from_zero),
    "power": (anp.power, np.power, positive, real),
    "maximum": (anp.maximum, np.maximum, even_grid, odd_grid),
    "minimum": (anp.minimum, np.minimum, even_grid, odd_grid),
    "+": (operator.add, np.add, real, real),
    "-": (operator.sub, np.subtract, real, real),
    "*": (operator.mul, np.multiply, real, real),
    "/": (operator.truediv, np.true_divide, real, away_from_zero),
    "**": (operator.pow, np.power, positive, real),
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcast_pairs, seed=seeds)
@example(pair=((3,), (2, 3)), seed=0)  # leading dimension added
@example(pair=((2, 1, 4), (3, 1)), seed=1)  # both sides stretched
@example(pair=((), (2, 2)), seed=2)  # scalar against an array
@example(pair=((1, 3), (4, 1)), seed=3)  # size-1 axes on both sides
def test_binary_vjp_and_jvp(name, pair, seed):
    f, reference, domain_x, domain_y = BINARY[name]
    rng = np.random.default_rng(seed)
    args = (domain_x(rng, pair[0]), domain_y(rng, pair[1]))
    check_both(f, args, rng, reference)


@pytest.mark.parametrize("name", BINARY)
def test_binary_second_derivative(name):
    """Hessian-vector products of sum(w * f(x, y)) with broadcasting, by forward over
    reverse, against central differences of the reverse-mode gradient."""
    f, _, domain_x, domain_y = BINARY[name]
    rng = np.random.default_rng(11)
    x, y = domain_x(rng, (2, 1, 3)), domain_y(rng, (4, 1))
    w = rng.normal(size=(2, 4, 3))
    shapes_xy = [x.shape, y.shape]

    def gradient(z):
        return _pack(
            autodiff.grad(lambda x, y: anp.sum(w * f(x, y)), (0, 1))(*_unpack(z, shapes_xy))
        )

    z, v = _pack((x, y)), rng.normal(size=x.size + y.size)
    _, second = autodiff.jvp(gradient, (z,), (v,))
    assert_close(second, directional_derivative(gradient, z, v))


def test_power_of_negative_base_with_constant_integer_exponent():
    rng = np.random.default_rng(5)
    x = -positive(rng, (3,))
    check_both(lambda x: x**3 + x**2.0, (x,), rng, lambda x: x**3 + x**2)


@given(
    shapes3=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3).map(
        lambda b: b.input_shapes
    ),
    seed=seeds,
)
@example(shapes3=((2, 1), (3,), ()), seed=0)
@example(shapes3=((), (2, 3), (1, 3)), seed=1)
def test_where_vjp_and_jvp(shapes3, seed):
    c_shape, x_shape, y_shape = shapes3
    rng = np.random.default_rng(seed)
    condition = rng.random(c_shape) > 0.5
    args = (real(rng, x_shape), real(rng, y_shape))
    check_both(
        lambda x, y: anp.where(condition, x, y), args, rng, lambda x, y: np.where(condition, x, y)
    )


def test_where_unbroadcasts_scalar_branch():
    """The gradient of a scalar branch is summed over every position where it is chosen."""
    x = np.array(0.7)
    condition = np.array([True, False, True, True])
    g = autodiff.grad(lambda x: anp.sum(anp.where(condition, x, np.zeros(4))))(x)
    assert np.shape(g) == () and g == 3.0


# -- reductions -----------------------------------------------------------------------------
@st.composite
def reduction_cases(draw):
    shape = draw(nonempty_shapes)
    ndim = len(shape)
    axis = draw(st.none() | st.integers(-ndim, ndim - 1) | valid_tuple_axes(ndim, min_size=1))
    return shape, axis, draw(st.booleans())


def _reduced_count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


def _np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    "sum": (anp.sum, np.sum, real),
    "mean": (anp.mean, np.mean, real),
    "max": (anp.max, np.max, distinct),
    "min": (anp.min, np.min, distinct),
    "logsumexp": (anp.logsumexp, _np_logsumexp, real),
    "var": (anp.var, np.var, real),
    "std": (anp.std, np.std, real),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduction_cases(), seed=seeds)
@example(case=((2, 3, 4), (0, -1), True), seed=0)
@example(case=((2, 3, 4), -2, False), seed=1)
@example(case=((3,), None, True), seed=2)
def test_reduction_vjp_and_jvp(name, case, seed):
    shape, axis, keepdims = case
    f, reference, domain = REDUCTIONS[name]
    if name == "std":  # sqrt of a zero variance is not differentiable
        assume(_reduced_count(shape, axis) > 1)
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: f(x, axis=axis, keepdims=keepdims),
        (domain(rng, shape),),
        rng,
        lambda x: reference(x, axis=axis, keepdims=keepdims),
    )


@pytest.mark.parametrize("method", ["sum", "mean", "max", "min"])
def test_reduction_methods_on_traced_values(method):
    rng = np.random.default_rng(3)
    x = distinct(rng, (3, 4))
    check_both(
        lambda x: getattr(x, method)(axis=0), (x,), rng, lambda x: getattr(np, method)(x, axis=0)
    )
    check_both(lambda x: getattr(x, method)(), (x,), rng, getattr(np, method))


@pytest.mark.parametrize("reduce", [anp.max, anp.min])
def test_tied_extrema_share_the_gradient_equally(reduce):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = x if reduce is anp.max else -x
    g = autodiff.grad(lambda x: anp.sum(reduce(x, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=nonempty_shapes, data=st.data(), seed=seeds)
def test_softmax_vjp_and_jvp(name, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    f = getattr(anp, name)

    def reference(x):
        log_p = x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
        return log_p if name == "log_softmax" else np.exp(log_p)

    rng = np.random.default_rng(seed)
    check_both(lambda x: f(x, axis=axis), (real(rng, shape),), rng, reference)


# -- stability ------------------------------------------------------------------------------
BIG = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])


def test_sigmoid_is_stable_for_large_inputs():
    s = anp.sigmoid(BIG)
    np.testing.assert_allclose(
        s,
        [0.0, np.exp(-30.0) / (1 + np.exp(-30.0)), 0.5, 1.0 / (1.0 + np.exp(-30.0)), 1.0],
        rtol=1e-15,
        atol=0,
    )
    g = autodiff.grad(lambda x: anp.sum(anp.sigmoid(x)))(BIG)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, s * (1.0 - s), rtol=1e-12, atol=0)
    _, t = autodiff.jvp(anp.sigmoid, (BIG,), (np.ones(5),))
    np.testing.assert_allclose(t, s * (1.0 - s), rtol=1e-12, atol=0)


def test_softplus_is_stable_for_large_inputs():
    y = anp.softplus(BIG)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(
        y,
        [0.0, np.log1p(np.exp(-30.0)), np.log(2.0), 30.0 + np.log1p(np.exp(-30.0)), 1000.0],
        rtol=1e-15,
    )
    g = autodiff.grad(lambda x: anp.sum(anp.softplus(x)))(BIG)
    np.testing.assert_allclose(g, anp.sigmoid(BIG), rtol=1e-12)
    h = autodiff.grad(lambda x: anp.sum(autodiff.grad(lambda x: anp.sum(anp.softplus(x)))(x)))(BIG)
    assert np.all(np.isfinite(h))


def test_logsumexp_and_log_softmax_are_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -999.0]])
    lse = anp.logsumexp(x, axis=1)
    np.testing.assert_allclose(
        lse, [1000.0 + np.log(2.0), -999.0 + np.log1p(2 * np.exp(-1.0))], rtol=1e-15
    )
    g = autodiff.grad(lambda x: anp.sum(anp.logsumexp(x, axis=1)))(x)
    assert np.all(np.isfinite(g))
    # exp(x - logsumexp) inherits the rounding of logsumexp ~ 1000: ~1e-13 relative
    np.testing.assert_allclose(g.sum(axis=1), [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(g[0], [0.5, 0.5, 0.0], rtol=1e-12, atol=1e-300)
    log_p = anp.log_softmax(x, axis=1)
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(log_p[0, :2], [-np.log(2.0)] * 2, rtol=1e-12)
    g = autodiff.grad(lambda x: anp.sum(anp.log_softmax(x, axis=1)[:, 0]))(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g.sum(axis=1), [0.0, 0.0], atol=1e-12)
    _, t = autodiff.jvp(lambda x: anp.softmax(x, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, np.zeros_like(x), atol=1e-12)  # softmax ignores shifts


# -- shape functions --------------------------------------------------------------------------
@given(shape=shapes, seed=seeds, flat=st.booleans())
def test_reshape(shape, seed, flat):
    target = (-1,) if flat else tuple(reversed(shape))
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.reshape(x, target), (real(rng, shape),), rng, lambda x: np.reshape(x, target)
    )
    check_both(
        lambda x: x.reshape(target), (real(rng, shape),), rng, lambda x: np.reshape(x, target)
    )


@st.composite
def permutations_with_negative_axes(draw):
    shape = draw(nonempty_shapes)
    perm = draw(st.permutations(range(len(shape))))
    negate = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    return shape, tuple(a - len(shape) if n else a for a, n in zip(perm, negate))


@given(case=permutations_with_negative_axes(), seed=seeds)
@example(case=((2, 3, 4), (0, 2, 1)), seed=0)
@example(case=((2, 3, 4), (0, -1, 1)), seed=0)
def test_transpose_with_axes(case, seed):
    shape, axes = case
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.transpose(x, axes), (real(rng, shape),), rng, lambda x: np.transpose(x, axes)
    )


@given(shape=shapes, seed=seeds)
def test_transpose_reverses_axes_by_default(shape, seed):
    rng = np.random.default_rng(seed)
    x = real(rng, shape)
    check_both(anp.transpose, (x,), rng, np.transpose)
    check_both(lambda x: x.T, (x,), rng, np.transpose)


@st.composite
def broadcast_targets(draw):
    """An input shape and a shape it broadcasts to (leading axes added, size-1 axes
    stretched)."""
    target = draw(array_shapes(min_dims=0, max_dims=4, max_side=3))
    lead = draw(st.integers(0, len(target)))
    ones = draw(st.lists(st.booleans(), min_size=len(target) - lead, max_size=len(target) - lead))
    return tuple(1 if o else n for o, n in zip(ones, target[lead:])), target


@given(case=broadcast_targets(), seed=seeds)
@example(case=((3,), (2, 4, 3)), seed=0)
@example(case=((4, 1), (2, 4, 3)), seed=0)
def test_broadcast_to(case, seed):
    shape, target = case
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.broadcast_to(x, target),
        (real(rng, shape),),
        rng,
        lambda x: np.broadcast_to(x, target),
    )


@given(data=st.data(), shape=nonempty_shapes, seed=seeds)
def test_getitem_basic_indices(data, shape, seed):
    index = data.draw(basic_indices(shape, allow_newaxis=True), label="index")
    rng = np.random.default_rng(seed)
    check_both(lambda x: x[index], (real(rng, shape),), rng, lambda x: x[index])


@given(data=st.data(), shape=nonempty_shapes, seed=seeds)
def test_getitem_integer_arrays(data, shape, seed):
    index = data.draw(integer_array_indices(shape), label="index")
    rng = np.random.default_rng(seed)
    check_both(lambda x: x[index], (real(rng, shape),), rng, lambda x: x[index])


INDICES = {
    "repeated rows": [0, 0, 2, 0],
    "repeated array, negative": np.array([-1, 1, -1]),
    "repeated pairs": (np.array([0, 1, 0, 0]), np.array([2, 3, 2, 2])),
    "slice then repeats": (slice(None, None, -1), np.array([3, 3])),
    "row mask": np.array([True, False, True]),
    "new axis and ellipsis": (None, Ellipsis, 1),
    "negative step": (slice(None, None, -2), slice(1, None)),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem_named_indices(name):
    index = INDICES[name]
    rng = np.random.default_rng(4)
    check_both(lambda x: x[index], (real(rng, (3, 4)),), rng, lambda x: x[index])


def test_getitem_repeats_add_up():
    g = autodiff.grad(lambda x: anp.sum(x[np.array([0, 0, 2, 0])]))(np.zeros(3))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


@given(shape=nonempty_shapes, seed=seeds)
def test_getitem_boolean_mask(shape, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) > 0.4
    check_both(lambda x: x[mask], (real(rng, shape),), rng, lambda x: x[mask])


@st.composite
def concatenate_cases(draw):
    shape = draw(nonempty_shapes)
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for n in sizes:
        part = list(shape)
        part[axis] = n
        parts.append(tuple(part))
    return parts, axis


@given(case=concatenate_cases(), seed=seeds)
def test_concatenate(case, seed):
    part_shapes, axis = case
    rng = np.random.default_rng(seed)
    args = tuple(real(rng, s) for s in part_shapes)
    check_both(
        lambda *xs: anp.concatenate(xs, axis=axis),
        args,
        rng,
        lambda *xs: np.concatenate(xs, axis=axis),
    )


@given(shape=shapes, data=st.data(), count=st.integers(1, 3), seed=seeds)
def test_stack(shape, data, count, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    rng = np.random.default_rng(seed)
    args = tuple(real(rng, shape) for _ in range(count))
    check_both(lambda *xs: anp.stack(xs, axis=axis), args, rng, lambda *xs: np.stack(xs, axis=axis))


def test_stack_and_concatenate_mix_traced_and_constant_arrays():
    rng = np.random.default_rng(8)
    c = real(rng, (2, 3))
    check_both(
        lambda x: anp.stack([c, x, x * x], axis=1),
        (real(rng, (2, 3)),),
        rng,
        lambda x: np.stack([c, x, x * x], axis=1),
    )
    check_both(
        lambda x: anp.concatenate([x, c], axis=-1),
        (real(rng, (2, 3)),),
        rng,
        lambda x: np.concatenate([x, c], axis=-1),
    )


@given(shape=shapes, data=st.data(), seed=seeds)
def test_expand_dims(shape, data, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.expand_dims(x, axis),
        (real(rng, shape),),
        rng,
        lambda x: np.expand_dims(x, axis),
    )


@given(
    shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=2), data=st.data(), seed=seeds
)
def test_squeeze(shape, data, seed):
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = data.draw(st.none() | st.sampled_from(ones) if ones else st.none(), label="axis")
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.squeeze(x, axis), (real(rng, shape),), rng, lambda x: np.squeeze(x, axis)
    )


@given(shape=nonempty_shapes, data=st.data(), seed=seeds)
def test_swapaxes(shape, data, seed):
    axes = st.integers(-len(shape), len(shape) - 1)
    a1, a2 = data.draw(axes, label="axis1"), data.draw(axes, label="axis2")
    rng = np.random.default_rng(seed)
    check_both(
        lambda x: anp.swapaxes(x, a1, a2),
        (real(rng, shape),),
        rng,
        lambda x: np.swapaxes(x, a1, a2),
    )


@given(shape=shapes, seed=seeds)
def test_ravel(shape, seed):
    rng = np.random.default_rng(seed)
    check_both(anp.ravel, (real(rng, shape),), rng, np.ravel)
    check_both(lambda x: x.ravel(), (real(rng, shape),), rng, np.ravel)


@given(shape=array_shapes(min_dims=2, max_dims=2, max_side=4), seed=seeds)
def test_trace(shape, seed):
    rng = np.random.default_rng(seed)
    check_both(anp.trace, (real(rng, shape),), rng, np.trace)


# -- linear algebra -------------------------------------------------------------------------
matmul_shapes = mutually_broadcastable_shapes(
    signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=3
).map(lambda b: b.input_shapes)


@given(pair=matmul_shapes, seed=seeds)
@example(pair=((3,), (3,)), seed=0)  # inner product
@example(pair=((3,), (3, 2)), seed=0)  # vector @ matrix
@example(pair=((2, 3), (3,)), seed=0)  # matrix @ vector
@example(pair=((2, 3), (3, 4)), seed=0)
@example(pair=((2, 1, 2, 3), (4, 3, 2)), seed=0)  # batched, broadcast both ways
@example(pair=((3,), (2, 3, 4)), seed=0)  # vector @ batch
@example(pair=((2, 4, 3), (3,)), seed=0)  # batch @ vector
def test_matmul(pair, seed):
    rng = np.random.default_rng(seed)
    args = (real(rng, pair[0]), real(rng, pair[1]))
    check_both(anp.matmul, args, rng, np.matmul)
    check_both(operator.matmul, args, rng, np.matmul)


def test_matmul_with_constant_on_either_side():
    rng = np.random.default_rng(9)
    a, b = real(rng, (2, 3)), real(rng, (3, 4))
    check_both(lambda a: a @ b, (a,), rng, lambda a: a @ b)
    check_both(lambda b: a @ b, (b,), rng, lambda b: a @ b)


DOT_SHAPES = [
    ((), (3,)),
    ((2, 3), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
]


@pytest.mark.parametrize("pair", DOT_SHAPES)
def test_dot(pair):
    rng = np.random.default_rng(10)
    args = (real(rng, pair[0]), real(rng, pair[1]))
    check_both(anp.dot, args, rng, np.dot)
    check_both(lambda a, b: a.dot(b), args, rng, np.dot)


@pytest.mark.parametrize("pair", [((3,), (4,)), ((1,), (2,)), ((2, 2), (3,))])
def test_outer(pair):
    rng = np.random.default_rng(12)
    check_both(anp.outer, (real(rng, pair[0]), real(rng, pair[1])), rng, np.outer)


@pytest.mark.parametrize("pair", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 3), (2, 3))])
def test_inner(pair):
    """``inner`` sums products over the last axis and, like ``np.inner``, takes the outer
    product over the remaining axes: result shape ``a.shape[:-1] + b.shape[:-1]``."""
    rng = np.random.default_rng(13)
    check_both(anp.inner, (real(rng, pair[0]), real(rng, pair[1])), rng, np.inner)


# -- NumPy functions on traced values route to autodiff.numpy ----------------------------------
NUMPY_ROUTES = {
    "np.exp": (lambda x: np.exp(x), lambda x: anp.exp(x)),
    "np.sum axis": (lambda x: np.sum(x, axis=0), lambda x: anp.sum(x, axis=0)),
    "np.tanh": (lambda x: np.tanh(x), lambda x: anp.tanh(x)),
    "np.dot": (lambda x: np.dot(x, x.T), lambda x: anp.dot(x, anp.transpose(x))),
    "np.maximum": (lambda x: np.maximum(x, 0.5), lambda x: anp.maximum(x, 0.5)),
    "np.where": (lambda x: np.where(x > 0.3, x, -x), lambda x: anp.where(x > 0.3, x, -x)),
    "array + traced": (lambda x: np.ones((2, 3)) + x, lambda x: anp.add(np.ones((2, 3)), x)),
    "array * traced": (lambda x: np.full(3, 2.0) * x, lambda x: anp.multiply(2.0, x)),
}


@pytest.mark.parametrize("name", NUMPY_ROUTES)
def test_numpy_functions_route_to_differentiable_versions(name):
    via_numpy, via_anp = NUMPY_ROUTES[name]
    rng = np.random.default_rng(14)
    x = away_from_zero(rng, (2, 3))
    out, vjp_fn = autodiff.vjp(via_numpy, x)
    ct = rng.normal(size=np.shape(out))
    expected_out, expected_vjp = autodiff.vjp(via_anp, x)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_allclose(vjp_fn(ct)[0], expected_vjp(ct)[0], rtol=1e-14)
    check_vjp(via_numpy, (x,), rng)
